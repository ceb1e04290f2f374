//! [`ConnectionRegistry`]: the connections of this instance that are open,
//! by socket id.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;

use crate::connection::core::ConnectionCore;
use crate::connection::socket_id::SocketId;
use crate::util::sync::{read, write};

const SHARDS: usize = 16;

type Shard = RwLock<HashMap<SocketId, Arc<ConnectionCore>, RandomState>>;

/// Open connections of this instance, sharded so that connections opening
/// and closing on different workers rarely share a lock.
pub(crate) struct ConnectionRegistry {
    shards: Box<[Shard]>,
    hasher: RandomState,
}

impl Default for ConnectionRegistry {
    fn default() -> Self {
        ConnectionRegistry {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::default(),
        }
    }
}

impl std::fmt::Debug for ConnectionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRegistry").field("open", &self.count()).finish()
    }
}

impl ConnectionRegistry {
    fn shard(&self, id: &SocketId) -> &Shard {
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
    pub(crate) fn count(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Calls `f` on every registered connection (shard by shard, no lock held during `f`).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<ConnectionCore>)) {
        for shard in self.shards.iter() {
            let cores: Vec<_> = read(shard).values().cloned().collect();
            cores.iter().for_each(&mut f);
        }
    }
}
