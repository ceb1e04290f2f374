//! Hand-offs between worker threads: the connections of other workers that a
//! batch (`connection::direct`) queued frames on are handed to each of those
//! workers once, when the batch ends, and written there by one task, instead
//! of waking each connection's driver.
//!
//! A fan-out to S subscribers spread evenly over W workers would otherwise
//! make (W-1)/W x S cross-thread wake-ups, each a task poll on the
//! subscriber's worker. With hand-offs it makes at most W-1 (one per other
//! worker), and each worker writes its share of the subscribers in one loop,
//! as the publisher's own worker writes its share. Connections without direct
//! writes (TLS, hosted) and threads that are not ori workers keep the wake.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::core::ConnectionCore;
use super::direct::write_queued;
use crate::util::sync::lock;

/// One worker thread's hand-off point: what other threads handed it, and the
/// notification that wakes its writer task.
#[derive(Debug)]
pub(crate) struct Handoff {
    /// Its index among the running workers (reused once it stops), for the
    /// batches' staging.
    slot: usize,
    handed: Mutex<Vec<Arc<ConnectionCore>>>,
    notify: Notify,
}

/// The slots of running workers.
static SLOTS: Mutex<Vec<bool>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's hand-off point, while it is a worker.
    static HOME: RefCell<Option<Arc<Handoff>>> = const { RefCell::new(None) };
    /// What the running batch of this thread hands to other workers.
    static STAGED: RefCell<Staged> = const { RefCell::new(Staged { by_slot: Vec::new(), touched: Vec::new() }) };
}

/// Per worker slot, the connections staged for it; and which slots have some.
struct Staged {
    by_slot: Vec<Option<Stage>>,
    touched: Vec<usize>,
}

struct Stage {
    to: Arc<Handoff>,
    cores: Vec<Arc<ConnectionCore>>,
}

/// Makes the current thread a worker that takes hand-offs while the returned
/// guard lives: spawns its writer task on the current runtime (a
/// current-thread one: the writes must run on the thread of the connections
/// they write).
pub(crate) fn install() -> Installed {
    let slot = {
        let mut slots = lock(&SLOTS);
        let slot = slots.iter().position(|taken| !taken).unwrap_or(slots.len());
        if slot == slots.len() {
            slots.push(true);
        } else {
            slots[slot] = true;
        }
        slot
    };
    let handoff = Arc::new(Handoff { slot, handed: Mutex::default(), notify: Notify::new() });
    HOME.set(Some(handoff.clone()));
    tokio::spawn(write_handed(handoff));
    Installed { slot }
}

/// While it lives, the thread takes hand-offs (see [`install`]).
#[derive(Debug)]
pub(crate) struct Installed {
    slot: usize,
}

impl Drop for Installed {
    fn drop(&mut self) {
        HOME.set(None);
        lock(&SLOTS)[self.slot] = false;
    }
}

/// The current thread's hand-off point, if it is a worker.
pub(crate) fn here() -> Option<Arc<Handoff>> {
    HOME.with_borrow(Clone::clone)
}

/// The worker's writer task: writes what other threads handed it.
async fn write_handed(handoff: Arc<Handoff>) {
    let mut cores = Vec::new();
    loop {
        handoff.notify.notified().await;
        std::mem::swap(&mut cores, &mut *lock(&handoff.handed));
        write_queued(&mut cores);
    }
}

/// Stages `core` (of another worker, `to`) for the end of this thread's
/// running batch. `false` if it cannot be: `to` stopped and its slot was
/// reused during this batch (the caller wakes the connection's driver
/// instead).
pub(crate) fn stage(core: &Arc<ConnectionCore>, to: &Arc<Handoff>) -> bool {
    STAGED.with_borrow_mut(|staged| {
        if staged.by_slot.len() <= to.slot {
            staged.by_slot.resize_with(to.slot + 1, || None);
        }
        let stage =
            staged.by_slot[to.slot].get_or_insert_with(|| Stage { to: to.clone(), cores: Vec::new() });
        if stage.cores.is_empty() {
            // The slot's first connection in this batch (its list is kept
            // between batches; the worker that had the slot may have stopped).
            if !Arc::ptr_eq(&stage.to, to) {
                stage.to = to.clone();
            }
            staged.touched.push(to.slot);
        } else if !Arc::ptr_eq(&stage.to, to) {
            return false;
        }
        stage.cores.push(core.clone());
        true
    })
}

/// Hands what this thread's batch staged to each worker, with one wake-up
/// per worker. The lists keep their allocations for the next batch.
pub(crate) fn hand_off_staged() {
    STAGED.with_borrow_mut(|staged| {
        let Staged { by_slot, touched } = staged;
        for slot in touched.drain(..) {
            if let Some(stage) = &mut by_slot[slot] {
                lock(&stage.to.handed).append(&mut stage.cores);
                stage.to.notify.notify_one();
            }
        }
    });
}
