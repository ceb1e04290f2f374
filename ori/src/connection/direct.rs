//! Direct writes: frames pushed during a [`WriteBatch`] (a driver's poll, a
//! publish, a delivery) are written to their connections' sockets when the
//! batch ends, without waking each connection's task.
//!
//! A publish to a thousand subscribers would otherwise wake a thousand tasks,
//! each polled once to drain its queue and write. Instead, a push made during
//! a driver's poll on the subscriber's own worker thread defers the
//! subscriber to this thread's pending list; when the poll ends, one loop
//! writes each pending queue with one `send`. That is the same batching (every
//! frame a poll queued goes out in one write) at about a third fewer
//! instructions per delivery (BENCHMARKS.md). The subscriber's driver is
//! woken only when it must act: it has frames of its own being written, the
//! socket is full, the queue is large, or a close or ping is pending. Pushes
//! outside a batch, and pushes to connections without direct writes (TLS,
//! hosted), wake the driver. Pushes during a batch to connections of another
//! ori worker are handed to that worker once, when the batch ends
//! (`connection::handoff`), and written there the same way.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::core::ConnectionCore;
use super::handoff::{self, Handoff};
use super::write::with_gather_buffer;

thread_local! {
    /// A batch is running on this thread.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Connections whose queue became non-empty during that batch.
    static PENDING: RefCell<Vec<Arc<ConnectionCore>>> = const { RefCell::new(Vec::new()) };
    static THREAD: u8 = const { 0 };
}

/// Identifies the current thread (unique among running threads).
fn thread_token() -> usize {
    THREAD.with(|marker| std::ptr::from_ref(marker) as usize)
}

/// The thread a connection runs on: where its direct writes happen.
///
/// `thread` first (`repr(C)`): every push reads it, the hand-off only a
/// push from another worker (see `ConnectionCore`'s layout).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Home {
    thread: usize,
    /// The thread's hand-off point, if it is an ori worker.
    handoff: Option<Arc<Handoff>>,
}

impl Home {
    /// The current thread.
    pub(crate) fn here() -> Home {
        Home { thread: thread_token(), handoff: handoff::here() }
    }
}

/// Who writes a frame pushed into an empty queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writer {
    /// The connection's driver, woken now.
    Driver,
    /// This thread, when its running batch ends.
    Here,
    /// The connection's worker, which this thread's running batch hands it to when it ends.
    Worker,
}

/// Who writes a frame pushed now into `core`'s empty queue, when direct
/// writes to `core` are allowed.
pub(crate) fn writer(core: &ConnectionCore) -> Writer {
    let home = core.home();
    if !ACTIVE.get() {
        Writer::Driver
    } else if home.thread == thread_token() {
        Writer::Here
    } else if home.handoff.is_some() {
        Writer::Worker
    } else {
        Writer::Driver
    }
}

/// `core`'s queue became non-empty during the running batch: write it when
/// the batch ends, here or on its worker, as [`writer`] said.
pub(crate) fn defer(core: &Arc<ConnectionCore>, writer: Writer) {
    match (writer, &core.home().handoff) {
        (Writer::Here, _) => PENDING.with_borrow_mut(|pending| pending.push(core.clone())),
        (Writer::Worker, Some(to)) if handoff::stage(core, to) => {}
        _ => core.outbox.wake(),
    }
}

/// Writes the queue of each of `cores` (all of this thread), emptying the
/// list: directly, or by waking a driver that has frames of its own being
/// written.
pub(crate) fn write_queued(cores: &mut Vec<Arc<ConnectionCore>>) {
    with_gather_buffer(|buffer| {
        for core in cores.drain(..) {
            if core.writer_busy() {
                core.outbox.wake();
            } else {
                core.outbox.write_direct(buffer);
            }
        }
    });
}

/// While it lives, pushes to connections of this thread are left to its
/// end; dropping it writes them (see the module docs).
#[derive(Debug)]
pub(crate) struct WriteBatch {
    outermost: bool,
}

impl WriteBatch {
    pub(crate) fn begin() -> WriteBatch {
        WriteBatch { outermost: !ACTIVE.replace(true) }
    }
}

/// Runs `deliver` in a [`WriteBatch`].
pub(crate) fn batch<R>(deliver: impl FnOnce() -> R) -> R {
    let _batch = WriteBatch::begin();
    deliver()
}

impl Drop for WriteBatch {
    fn drop(&mut self) {
        if !self.outermost {
            return;
        }
        ACTIVE.set(false);
        // Other workers first: they write their share while this thread writes its own.
        handoff::hand_off_staged();
        if PENDING.with_borrow(Vec::is_empty) {
            return;
        }
        let mut pending = PENDING.take();
        write_queued(&mut pending);
        // Keep the list's allocation for the next batch.
        PENDING.with_borrow_mut(|slot| {
            if slot.is_empty() {
                *slot = pending;
            }
        });
    }
}
