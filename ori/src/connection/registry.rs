//! [`Connections`]: the server-wide registry of live connections and the pub/sub backend.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;

use crate::SocketId;
use crate::connection::core::ConnectionCore;
use crate::pubsub::PubSubBackend;
use crate::util::sync::{read, write};
use crate::util::tracker::{Tracked, Tracker};

const SHARDS: usize = 16;

type ConnectionShard = RwLock<HashMap<SocketId, Arc<ConnectionCore>, RandomState>>;

/// Live connections and pub/sub, shared by every handle of a server.
pub(crate) struct Connections {
    pub(crate) pubsub: Arc<dyn PubSubBackend>,
    shards: Box<[ConnectionShard]>,
    hasher: RandomState,
    /// Connections from accepted upgrade to the end of their task.
    live: Arc<Tracker>,
    shutting_down: AtomicBool,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").field("live", &self.live.count()).finish_non_exhaustive()
    }
}

impl Connections {
    pub(crate) fn new(pubsub: Arc<dyn PubSubBackend>) -> Connections {
        Connections {
            pubsub,
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::default(),
            live: Arc::default(),
            shutting_down: AtomicBool::new(false),
        }
    }

    fn shard(&self, id: &SocketId) -> &ConnectionShard {
        &self.shards[self.hasher.hash_one(id) as usize % SHARDS]
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
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Calls `f` on every registered connection (shard by shard, no lock held during `f`).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<ConnectionCore>)) {
        for shard in self.shards.iter() {
            let cores: Vec<_> = read(shard).values().cloned().collect();
            cores.iter().for_each(&mut f);
        }
    }

    /// Counts a connection from upgrade to the end of its task, here and in
    /// `endpoint` (the connections of one endpoint); `None` when `max`
    /// connections of the endpoint are live or the server is shutting down.
    pub(crate) fn try_admit(&self, endpoint: &Arc<Tracker>, max: Option<usize>) -> Option<Admission> {
        if self.is_shutting_down() {
            return None;
        }
        let admission = Admission { _server: self.live.enter(), _endpoint: endpoint.enter() };
        match max {
            Some(max) if endpoint.count() > max => None,
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
pub(crate) struct Admission {
    _server: Tracked,
    _endpoint: Tracked,
}
