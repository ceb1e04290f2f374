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
//! from elsewhere (another worker, a spawned task, an HTTP route) wake the
//! driver as before.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::core::ConnectionCore;
use super::write::with_gather_buffer;

thread_local! {
    /// A batch is running on this thread.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Connections whose queue became non-empty during that batch.
    static PENDING: RefCell<Vec<Arc<ConnectionCore>>> = const { RefCell::new(Vec::new()) };
    static THREAD: u8 = const { 0 };
}

/// Identifies the current thread (unique among running threads).
pub(crate) fn thread_token() -> usize {
    THREAD.with(|marker| std::ptr::from_ref(marker) as usize)
}

/// Whether a push to `core` now may leave the write to the end of the
/// running batch: a batch is running on `core`'s own thread.
pub(crate) fn may_defer(core: &ConnectionCore) -> bool {
    ACTIVE.get() && core.home() == thread_token()
}

/// `core`'s queue became non-empty during the running batch: write it when
/// the batch ends (see [`may_defer`]).
pub(crate) fn defer(core: &Arc<ConnectionCore>) {
    PENDING.with_borrow_mut(|pending| pending.push(core.clone()));
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
        if PENDING.with_borrow(Vec::is_empty) {
            return;
        }
        let mut pending = PENDING.take();
        with_gather_buffer(|buffer| {
            for core in pending.drain(..) {
                if core.writer_busy() {
                    core.outbox.wake();
                } else {
                    core.outbox.write_direct(buffer);
                }
            }
        });
        // Keep the list's allocation for the next batch.
        PENDING.with_borrow_mut(|slot| {
            if slot.is_empty() {
                *slot = pending;
            }
        });
    }
}
