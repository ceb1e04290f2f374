//! [`MemoryPresence`]: every topic's tracked entries, in this process (the
//! [`InProcess`](crate::pubsub::InProcess) backend's presence).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use foldhash::fast::RandomState;
use serde_json::value::RawValue;

use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;
use crate::pubsub::presence::{PresenceEntry, PresenceRead, presence_diff};
use crate::util::sync::lock;

const SHARDS: usize = 16;

/// The topics of one shard, and the version of the shard's last change:
/// versions rise across the shard's topics, so that a topic that empties
/// and fills again never reuses one.
#[derive(Default)]
struct Shard {
    version: u64,
    topics: HashMap<Arc<str>, Vec<PresenceEntry>, RandomState>,
}

/// Every topic's entries, sharded by topic. A change and the delivery of its
/// diff happen under the topic's shard lock, so diffs reach watchers in
/// version order, and a read sees exactly the changes before its version.
#[derive(Default)]
pub(crate) struct MemoryPresence {
    shards: [Mutex<Shard>; SHARDS],
    hasher: RandomState,
}

impl MemoryPresence {
    fn shard(&self, topic: &str) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(topic) >> 32) as usize % SHARDS]
    }

    /// Tracks `entry` on `topic` (the same key and socket again: its meta is
    /// replaced), and calls `deliver` with the diff, if anything changed.
    pub(crate) fn track(&self, topic: &str, entry: PresenceEntry, deliver: impl FnOnce(&Outbound)) {
        let mut shard = lock(self.shard(topic));
        let Shard { version, topics } = &mut *shard;
        let entries = topics.entry(Arc::from(topic)).or_default();
        let existing = entries.iter_mut().find(|e| e.key == entry.key && e.socket == entry.socket);
        let diff = match existing {
            Some(existing) if existing.meta.get() == entry.meta.get() => return,
            Some(existing) => {
                let old = std::mem::replace(&mut existing.meta, entry.meta.clone());
                *version += 1;
                presence_diff(topic, *version, &[(&entry.key, &entry.meta)], &[(&entry.key, &old)])
            }
            None => {
                *version += 1;
                let diff = presence_diff(topic, *version, &[(&entry.key, &entry.meta)], &[]);
                entries.push(entry);
                diff
            }
        };
        deliver(&diff);
    }

    /// Untracks the entry of `key` and `socket` on `topic`, and calls
    /// `deliver` with the diff, if there was one.
    pub(crate) fn untrack(&self, topic: &str, key: &str, socket: SocketId, deliver: impl FnOnce(&Outbound)) {
        let mut shard = lock(self.shard(topic));
        let Shard { version, topics } = &mut *shard;
        let Some(entries) = topics.get_mut(topic) else { return };
        let Some(at) = entries.iter().position(|e| e.key == key && e.socket == socket) else { return };
        let gone = entries.remove(at);
        if entries.is_empty() {
            topics.remove(topic);
        }
        *version += 1;
        let meta: &RawValue = &gone.meta;
        deliver(&presence_diff(topic, *version, &[], &[(key, meta)]));
    }

    /// The topic's entries and the version they are at.
    pub(crate) fn read(&self, topic: &str) -> PresenceRead {
        let shard = lock(self.shard(topic));
        PresenceRead { version: shard.version, entries: shard.topics.get(topic).cloned().unwrap_or_default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, socket: SocketId, meta: &str) -> PresenceEntry {
        PresenceEntry { key: key.to_owned(), socket, meta: RawValue::from_string(meta.to_owned()).unwrap() }
    }

    fn diffs(
        presence: &MemoryPresence,
        change: impl FnOnce(&MemoryPresence, &mut Vec<String>),
    ) -> Vec<String> {
        let mut out = Vec::new();
        change(presence, &mut out);
        out
    }

    #[test]
    fn joins_updates_and_leaves_each_once() {
        let presence = MemoryPresence::default();
        let (phone, web) = (SocketId::new(), SocketId::new());
        let text = |d: &Outbound| String::from_utf8_lossy(d.payload()).into_owned();
        let got = diffs(&presence, |p, out| {
            p.track("t", entry("alice", phone, r#""phone""#), |d| out.push(text(d)));
            p.track("t", entry("alice", phone, r#""phone""#), |d| out.push(text(d)));
            p.track("t", entry("alice", web, r#""web""#), |d| out.push(text(d)));
            p.track("t", entry("alice", web, r#""web2""#), |d| out.push(text(d)));
            p.untrack("t", "alice", phone, |d| out.push(text(d)));
            p.untrack("t", "alice", phone, |d| out.push(text(d)));
        });
        let data = |joins: &str, leaves: &str| {
            format!(r#"{{"type":"presence_diff","data":{{"topic":"t","joins":{joins},"leaves":{leaves}}}}}"#)
        };
        assert_eq!(
            got,
            [
                data(r#"{"alice":["phone"]}"#, "{}"),
                data(r#"{"alice":["web"]}"#, "{}"),
                data(r#"{"alice":["web2"]}"#, r#"{"alice":["web"]}"#),
                data("{}", r#"{"alice":["phone"]}"#),
            ],
            "tracking the same again is no change; untracking twice is one leave"
        );
        let read = presence.read("t");
        assert_eq!(read.version, 4);
        assert_eq!(read.entries, [entry("alice", web, r#""web2""#)]);
        presence.untrack("t", "alice", web, |_| {});
        assert!(presence.read("t").entries.is_empty());
        let mut version = 0;
        presence.track("t", entry("bob", web, "{}"), |d| version = d.offset().unwrap());
        assert_eq!(version, 6, "versions never go back when a topic empties");
    }
}
