//! The traffic counters of a broker backend (Redis, NATS): what
//! `RedisStats`, `NatsStats` and [`BackendStats`] report, and the
//! rate-limited warnings of drops and junk.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::pubsub::BackendStats;
use crate::util::sync::lock;

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) connected: AtomicBool,
    pub(crate) published: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) junk: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    /// Outages that ended, and when the current one began.
    outages: Mutex<(Duration, Option<Instant>)>,
}

impl Counters {
    /// Whether the broker is reachable now.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// The connection to the broker was lost (`false`) or is back (`true`).
    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Release);
        let mut outages = lock(&self.outages);
        match (connected, outages.1) {
            (true, Some(since)) => *outages = (outages.0 + since.elapsed(), None),
            (false, None) => outages.1 = Some(Instant::now()),
            _ => {}
        }
    }

    /// Starts the outage clock if the broker is not connected (an instance
    /// that starts without it), without touching the connected flag, which
    /// a connection made meanwhile may have set.
    pub(crate) fn outage_began_unless_connected(&self) {
        let mut outages = lock(&self.outages);
        if !self.is_connected() && outages.1.is_none() {
            outages.1 = Some(Instant::now());
        }
    }

    /// Time without the broker, the current outage included.
    pub(crate) fn outage(&self) -> Duration {
        let outages = lock(&self.outages);
        outages.0 + outages.1.map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// Counts a dropped publish (and now and then says why).
    pub(crate) fn dropped(&self, broker: &str, why: &str) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed);
        if dropped.is_multiple_of(1000) {
            tracing::warn!(dropped = dropped + 1, why, "dropping publishes for {broker}");
        }
    }

    /// Counts (and now and then logs) a message on one of ori's channels or
    /// subjects that is not an ori packet.
    pub(crate) fn junk(&self, channel: &str) {
        let junk = self.junk.fetch_add(1, Ordering::Relaxed);
        if junk.is_multiple_of(1000) {
            tracing::warn!(channel, junk = junk + 1, "dropping a message that is not an ori packet");
        }
    }

    /// The figures every backend reports.
    pub(crate) fn stats(&self) -> BackendStats {
        BackendStats {
            connected: self.is_connected(),
            published: self.published.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            outage: self.outage(),
        }
    }
}
