//! What a broker backend (Redis, NATS) has to send, waiting for its
//! publishing task: one bounded queue with the outage policy both follow.
//! Connected, at most `max_pending` wait; disconnected, the oldest
//! `outage_buffer` are kept and sent once the broker is back, and the rest
//! are dropped and counted.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use crate::pubsub::counters::Counters;
use crate::util::sync::lock;

/// How much may wait for the broker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Kept while the broker is unreachable.
    pub(crate) outage_buffer: usize,
    /// Waiting at most, connected or not.
    pub(crate) max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { outage_buffer: 1024, max_pending: 100_000 }
    }
}

/// The queue, and whether a batch taken from it is being sent.
pub(crate) struct Outgoing<T> {
    queue: Mutex<VecDeque<T>>,
    ready: Notify,
    sending: AtomicBool,
}

impl<T> Default for Outgoing<T> {
    fn default() -> Self {
        Outgoing { queue: Mutex::new(VecDeque::new()), ready: Notify::new(), sending: AtomicBool::new(false) }
    }
}

impl<T> Outgoing<T> {
    /// Queues `item` for the publisher, unless the queue is at its limit
    /// (the outage buffer while `counters` say the broker is unreachable):
    /// then it is dropped and counted. Never waits.
    pub(crate) fn push(&self, item: T, limits: Limits, counters: &Counters, broker: &str) {
        let mut queue = lock(&self.queue);
        let limit = if counters.is_connected() { limits.max_pending } else { limits.outage_buffer };
        if queue.len() >= limit {
            drop(queue);
            counters.dropped(broker, "the outage buffer or the pending limit is full");
            return;
        }
        queue.push_back(item);
        drop(queue);
        self.ready.notify_one();
    }

    /// The oldest `max` items, in order, marked as being sent until
    /// [`sent`](Self::sent).
    pub(crate) fn take(&self, max: usize) -> Vec<T> {
        let mut queue = lock(&self.queue);
        let take = queue.len().min(max);
        self.sending.store(take > 0, Ordering::Release);
        queue.drain(..take).collect()
    }

    /// The batch [`take`](Self::take) gave is sent (or dropped).
    pub(crate) fn sent(&self) {
        self.sending.store(false, Ordering::Release);
    }

    /// Resolves once something is queued (or [`wake`](Self::wake) was called).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Wakes the publisher (the broker is back).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(crate) fn wake(&self) {
        self.ready.notify_one();
    }

    /// While the broker is unreachable: keeps only the oldest
    /// `outage_buffer` (more may have queued while it was connected).
    pub(crate) fn trim_to_outage_buffer(&self, limits: Limits, counters: &Counters, broker: &str) {
        let mut queue = lock(&self.queue);
        if queue.len() > limits.outage_buffer {
            let dropped = queue.len() - limits.outage_buffer;
            queue.truncate(limits.outage_buffer);
            drop(queue);
            counters.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(dropped, "{broker} unreachable: dropped publishes past the outage buffer");
        }
    }

    /// Whether nothing is queued or being sent.
    pub(crate) fn is_idle(&self) -> bool {
        !self.sending.load(Ordering::Acquire) && lock(&self.queue).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_outage_buffer_while_disconnected() {
        let (outgoing, counters) = (Outgoing::default(), Counters::default());
        let limits = Limits { outage_buffer: 2, max_pending: 3 };
        for n in 0..4 {
            outgoing.push(n, limits, &counters, "test");
        }
        assert_eq!(counters.stats().dropped, 2, "disconnected: two kept");
        counters.set_connected(true);
        for n in 4..6 {
            outgoing.push(n, limits, &counters, "test");
        }
        assert_eq!(counters.stats().dropped, 3, "connected: three wait at most");
        counters.set_connected(false);
        outgoing.trim_to_outage_buffer(limits, &counters, "test");
        assert_eq!(counters.stats().dropped, 4);
        assert_eq!(outgoing.take(10), [0, 1], "the oldest are kept, in order");
        assert!(!outgoing.is_idle(), "a batch is being sent");
        outgoing.sent();
        assert!(outgoing.is_idle());
    }
}
