//! [`Hub`]: the server-wide registry of live connections and the pub/sub provider.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;

use crate::SocketId;
use crate::connection::ConnectionCore;
use crate::pubsub::PubSubProvider;
use crate::sync::{read, write};
use crate::tracker::{Tracked, Tracker};

const SHARDS: usize = 16;

type ConnectionShard = RwLock<HashMap<SocketId, Arc<ConnectionCore>, RandomState>>;

/// Limits that every connection applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_subscriptions: usize,
    pub(crate) outbound_queue_bytes: usize,
}

/// Live connections and pub/sub, shared by every handle of a server.
pub(crate) struct Hub {
    pub(crate) provider: Arc<dyn PubSubProvider>,
    pub(crate) limits: Limits,
    connections: Box<[ConnectionShard]>,
    hasher: RandomState,
    /// Connections from accepted upgrade to the end of their task.
    live: Arc<Tracker>,
    shutting_down: AtomicBool,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("live", &self.live.count())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub(crate) fn new(provider: Arc<dyn PubSubProvider>, limits: Limits) -> Hub {
        Hub {
            provider,
            limits,
            connections: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::default(),
            live: Arc::default(),
            shutting_down: AtomicBool::new(false),
        }
    }

    fn shard(&self, id: &SocketId) -> &ConnectionShard {
        &self.connections[self.hasher.hash_one(id) as usize % SHARDS]
    }

    pub(crate) fn register(&self, core: &Arc<ConnectionCore>) {
        write(self.shard(&core.id)).insert(core.id, core.clone());
    }

    pub(crate) fn deregister(&self, id: &SocketId) {
        write(self.shard(id)).remove(id);
    }

    pub(crate) fn get(&self, id: &SocketId) -> Option<Arc<ConnectionCore>> {
        read(self.shard(id)).get(id).cloned()
    }

    /// Registered (open) connections.
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.iter().map(|s| read(s).len()).sum()
    }

    /// Calls `f` on every registered connection (shard by shard, no lock held during `f`).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<ConnectionCore>)) {
        for shard in self.connections.iter() {
            let cores: Vec<_> = read(shard).values().cloned().collect();
            cores.iter().for_each(&mut f);
        }
    }

    /// Counts a connection from upgrade to the end of its task; `None` when
    /// `max` connections are live or the server is shutting down.
    pub(crate) fn try_admit(&self, max: Option<usize>) -> Option<Admission> {
        if self.is_shutting_down() {
            return None;
        }
        let admission = Admission(self.live.enter());
        match max {
            Some(max) if self.live.count() > max => None,
            _ => Some(admission),
        }
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

/// A connection slot; released when dropped.
#[derive(Debug)]
pub(crate) struct Admission(#[allow(dead_code)] Tracked);
