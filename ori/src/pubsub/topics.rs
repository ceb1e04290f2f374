//! [`TopicRegistry`]: the subscribers of each topic on this instance, for
//! every backend.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;
use indexmap::IndexMap;

use super::Subscriber;
use crate::connection::direct::WriteBatch;
use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;
use crate::telemetry;
use crate::util::sync::{read, write};

const SHARDS: usize = 64;

type Subscribers = IndexMap<SocketId, Subscriber, RandomState>;
type Shard = HashMap<Arc<str>, Subscribers, RandomState>;

/// Topic -> the subscribers on this instance: what a backend keeps for local
/// delivery. Sharded, so that publishers on different topics never contend
/// on one lock, and publishers on one topic share theirs. An empty topic is
/// removed, so it costs nothing.
///
/// Each [`publish`](Self::publish) writes what it queued on connections of
/// the calling thread when it returns (see [`BackendContext::batch`](crate::pubsub::BackendContext::batch)).
#[derive(Debug)]
pub struct TopicRegistry {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
}

/// What [`TopicRegistry::insert`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inserted {
    /// The subscriber was not yet subscribed.
    pub added: bool,
    /// The topic had no local subscriber before: a backend for many
    /// instances starts listening for the topic's messages now.
    pub first: bool,
}

/// What [`TopicRegistry::remove`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Removed {
    /// The subscriber was subscribed.
    pub removed: bool,
    /// The topic has no local subscriber left: a backend for many instances
    /// stops listening for the topic's messages now.
    pub last: bool,
}

impl Default for TopicRegistry {
    fn default() -> Self {
        TopicRegistry {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: RandomState::default(),
        }
    }
}

impl TopicRegistry {
    fn shard(&self, topic: &str) -> &RwLock<Shard> {
        let hash = self.hasher.hash_one(topic);
        &self.shards[(hash >> 32) as usize % SHARDS]
    }

    /// An empty registry.
    pub fn new() -> TopicRegistry {
        TopicRegistry::default()
    }

    /// Subscribes `subscriber` to `topic` (again: no change).
    pub fn insert(&self, topic: &str, subscriber: &Subscriber) -> Inserted {
        self.insert_with(topic, subscriber, |inserted| inserted)
    }

    /// Inserts, then calls `then` while the shard is still locked, so that
    /// what `then` does for a topic happens in the order of its changes.
    pub fn insert_with<R>(
        &self,
        topic: &str,
        subscriber: &Subscriber,
        then: impl FnOnce(Inserted) -> R,
    ) -> R {
        let mut shard = write(self.shard(topic));
        let (first, subscribers) = match shard.get_mut(topic) {
            Some(subscribers) => (false, subscribers),
            None => (true, shard.entry(Arc::from(topic)).or_default()),
        };
        let added = subscribers.insert(subscriber.id(), subscriber.clone()).is_none();
        then(Inserted { added, first })
    }

    /// Unsubscribes the connection `id` from `topic` (not subscribed: no change).
    pub fn remove(&self, topic: &str, id: SocketId) -> Removed {
        self.remove_with(topic, id, |removed| removed)
    }

    /// Removes, then calls `then` while the shard is still locked (see [`insert_with`](Self::insert_with)).
    pub fn remove_with<R>(&self, topic: &str, id: SocketId, then: impl FnOnce(Removed) -> R) -> R {
        let mut shard = write(self.shard(topic));
        let Some(subscribers) = shard.get_mut(topic) else {
            return then(Removed { removed: false, last: false });
        };
        let removed = subscribers.swap_remove(&id).is_some();
        let last = subscribers.is_empty();
        if last {
            shard.remove(topic);
        }
        then(Removed { removed, last: removed && last })
    }

    /// Every topic with at least one subscriber (what a backend for many
    /// instances listens for again after a reconnection).
    pub fn topics(&self) -> Vec<String> {
        self.shards.iter().flat_map(|s| read(s).keys().map(|t| t.to_string()).collect::<Vec<_>>()).collect()
    }

    /// Queues `message` on every subscriber of `topic` but `exclude`; returns how many.
    pub fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>) -> usize {
        // Declared first, dropped last: the writes happen after the lock is released.
        let _batch = WriteBatch::begin();
        let shard = read(self.shard(topic));
        let Some(subscribers) = shard.get(topic) else {
            return 0;
        };
        let mut delivered = 0;
        for (id, subscriber) in subscribers {
            if Some(*id) != exclude && subscriber.deliver(message) {
                delivered += 1;
            }
        }
        if let Some(telemetry) = telemetry::get() {
            telemetry.published(delivered, message.payload().len());
        }
        delivered
    }

    /// The subscribers of `topic`.
    pub fn subscribers(&self, topic: &str) -> Vec<Subscriber> {
        read(self.shard(topic)).get(topic).map(|s| s.values().cloned().collect()).unwrap_or_default()
    }

    /// How many connections are subscribed to `topic`.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        read(self.shard(topic)).get(topic).map_or(0, IndexMap::len)
    }

    /// How many topics have at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }
}
