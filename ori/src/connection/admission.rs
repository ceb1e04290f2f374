//! [`Admissions`]: which connections an instance still accepts, and how many
//! are running, so that a graceful shutdown can refuse new ones and wait for
//! the rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::connection::per_ip::IpSlot;
use crate::util::tracker::{Tracked, Tracker};

/// Connections from accepted upgrade to the end of their task, and whether
/// the instance is shutting down.
#[derive(Debug, Default)]
pub(crate) struct Admissions {
    live: Arc<Tracker>,
    /// A shutdown started: readiness fails (connections are still admitted
    /// until `shutting_down`).
    draining: AtomicBool,
    shutting_down: AtomicBool,
}

/// A connection slot; released when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    _instance: Tracked,
    _endpoint: Tracked,
    /// The connection's slot of its remote address, when it is limited.
    _ip: Option<IpSlot>,
}

impl Admissions {
    /// Counts a connection from upgrade to the end of its task, here and in
    /// `endpoint` (the connections of one endpoint); `None` when `max`
    /// connections of the endpoint are live or the instance is shutting down.
    pub(crate) fn try_admit(
        &self,
        endpoint: &Arc<Tracker>,
        max: Option<usize>,
        ip: Option<IpSlot>,
    ) -> Option<Admission> {
        if self.is_shutting_down() {
            return None;
        }
        let admission = Admission { _instance: self.live.enter(), _endpoint: endpoint.enter(), _ip: ip };
        match max {
            Some(max) if endpoint.count() > max => None,
            _ => Some(admission),
        }
    }

    /// From now on, no connection is admitted.
    /// A shutdown starts: readiness fails from now on.
    pub(crate) fn begin_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Resolves when no connection task is left.
    pub(crate) async fn all_closed(&self) {
        self.live.idle().await;
    }
}
