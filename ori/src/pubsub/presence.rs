//! Presence, as backends keep it (PROTOCOL.md, "Presence"): who is tracked
//! on a topic ([`PresenceEntry`]: a member key, a connection, a meta), what a
//! backend answers when asked ([`PresenceRead`]), and the pushes every
//! backend sends ([`presence_diff`]), so that the wire is written once.
//!
//! Every change of a topic's presence has a version, higher than the
//! last one's: a diff carries it (as its [`Outbound::offset`]) and a read says
//! which version it saw, so that a new watcher gets its state, then exactly
//! the diffs after it.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use serde_json::value::RawValue;

use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;

/// The most member keys a `presence_state` (or `presence` reply) holds.
pub const MAX_STATE_KEYS: usize = 10_000;

/// The future returned by [`PubSubBackend::presence`](crate::pubsub::PubSubBackend::presence).
pub type PresenceFuture = BoxFuture<'static, Result<PresenceRead, PubSubError>>;

/// One tracked presence: the member `key` (e.g. a user id) of the
/// connection `socket`, with its `meta` (a JSON value).
#[derive(Debug, Clone)]
pub struct PresenceEntry {
    /// The member key; one key may hold several entries (several devices).
    pub key: String,
    /// The connection tracked.
    pub socket: SocketId,
    /// The meta, JSON.
    pub meta: Box<RawValue>,
}

impl PartialEq for PresenceEntry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.socket == other.socket && self.meta.get() == other.meta.get()
    }
}

impl Eq for PresenceEntry {}

/// A topic's members as a backend read them, across every instance.
#[derive(Debug, Clone, Default)]
pub struct PresenceRead {
    /// The version of the last change included (versions rise with each
    /// change; they need not be consecutive).
    pub version: u64,
    /// Every entry, in tracking order.
    pub entries: Vec<PresenceEntry>,
}

/// Member keys to their metas, in a key order that does not change (sorted),
/// each key's metas in tracking order: the `members` of `presence_state`.
fn members(entries: &[PresenceEntry], limit: usize) -> (BTreeMap<&str, Vec<&RawValue>>, bool) {
    let mut members: BTreeMap<&str, Vec<&RawValue>> = BTreeMap::new();
    for entry in entries {
        members.entry(&entry.key).or_default().push(&entry.meta);
    }
    let truncated = members.len() > limit;
    if truncated {
        let cut = members.keys().nth(limit).copied().expect("more keys than the limit");
        members.split_off(cut);
    }
    (members, truncated)
}

/// The `presence_diff` push for the change `version` of `topic`: `joins` and
/// `leaves` as `(key, meta)` (PROTOCOL.md, "Presence"). Every backend
/// delivers this to the topic's presence watchers, at most once each, in
/// version order.
///
/// ```
/// use serde_json::value::RawValue;
/// let meta = RawValue::from_string(r#"{"device":"web"}"#.to_owned()).unwrap();
/// let diff = ori::pubsub::presence_diff("room:1", 7, &[("carol", &*meta)], &[]);
/// assert_eq!(
///     diff.payload(),
///     br#"{"type":"presence_diff","data":{"topic":"room:1","joins":{"carol":[{"device":"web"}]},"leaves":{}}}"#
/// );
/// assert_eq!(diff.offset(), Some(7));
/// ```
pub fn presence_diff(
    topic: &str,
    version: u64,
    joins: &[(&str, &RawValue)],
    leaves: &[(&str, &RawValue)],
) -> Outbound {
    let mut json = String::with_capacity(96);
    json.push_str(r#"{"type":"presence_diff","data":{"topic":"#);
    write_json_string(&mut json, topic);
    json.push_str(r#","joins":"#);
    write_members(&mut json, group(joins).iter().map(|(key, metas)| (*key, metas.as_slice())));
    json.push_str(r#","leaves":"#);
    write_members(&mut json, group(leaves).iter().map(|(key, metas)| (*key, metas.as_slice())));
    json.push_str("}}");
    Outbound::text(&json).at_version(version)
}

/// The data of `presence_state` and of a `presence` reply: `{"topic", "members"[, "truncated"]}`.
pub(crate) fn state_data(topic: &str, entries: &[PresenceEntry], limit: usize) -> String {
    let mut json = String::with_capacity(64 + entries.len() * 32);
    write_state(&mut json, topic, entries, limit);
    json
}

/// The `presence_state` push of what `read` found on `topic` (at most
/// `limit` member keys, then `"truncated": true`), at its version: a watcher
/// gets it first, then the diffs after that version (see
/// [`Subscriber::held`](crate::pubsub::Subscriber::held)).
pub fn presence_state(topic: &str, read: &PresenceRead, limit: usize) -> Outbound {
    let mut json = String::with_capacity(96 + read.entries.len() * 32);
    json.push_str(r#"{"type":"presence_state","data":"#);
    write_state(&mut json, topic, &read.entries, limit);
    json.push('}');
    Outbound::text(&json).at_version(read.version)
}

/// `{"topic":topic,"members":{...}[,"truncated":true]}`.
fn write_state(json: &mut String, topic: &str, entries: &[PresenceEntry], limit: usize) {
    let (members, truncated) = members(entries, limit);
    json.push_str(r#"{"topic":"#);
    write_json_string(json, topic);
    json.push_str(r#","members":"#);
    write_members(json, members.iter().map(|(key, metas)| (*key, metas.as_slice())));
    if truncated {
        json.push_str(r#","truncated":true"#);
    }
    json.push('}');
}

/// `(key, meta)` pairs grouped by key, keys in order of first appearance.
fn group<'a>(pairs: &[(&'a str, &'a RawValue)]) -> Vec<(&'a str, Vec<&'a RawValue>)> {
    let mut groups: Vec<(&str, Vec<&RawValue>)> = Vec::new();
    for &(key, meta) in pairs {
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, metas)) => metas.push(meta),
            None => groups.push((key, vec![meta])),
        }
    }
    groups
}

/// `{"key":[meta,...],...}`: the members of a state, the joins and leaves of a diff.
fn write_members<'a>(json: &mut String, groups: impl Iterator<Item = (&'a str, &'a [&'a RawValue])>) {
    json.push('{');
    for (i, (key, metas)) in groups.enumerate() {
        if i > 0 {
            json.push(',');
        }
        write_json_string(json, key);
        json.push_str(":[");
        for (j, meta) in metas.iter().enumerate() {
            if j > 0 {
                json.push(',');
            }
            json.push_str(meta.get());
        }
        json.push(']');
    }
    json.push('}');
}

/// `s` as a JSON string.
fn write_json_string(json: &mut String, s: &str) {
    json.push_str(&serde_json::to_string(s).expect("a string always serializes"));
}

/// Unsupported: what a backend without presence answers.
pub(crate) fn unsupported() -> PubSubError {
    PubSubError::Unsupported("presence (`Capability::Presence`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, meta: &str) -> PresenceEntry {
        PresenceEntry {
            key: key.to_owned(),
            socket: SocketId::new(),
            meta: RawValue::from_string(meta.to_owned()).unwrap(),
        }
    }

    #[test]
    fn state_groups_metas_by_key_and_truncates_past_the_limit() {
        let entries = [
            entry("bob", "{}"),
            entry("alice", r#"{"device":"phone"}"#),
            entry("alice", r#"{"device":"web"}"#),
        ];
        let state = state_data("room:1", &entries, 10);
        assert_eq!(
            state,
            r#"{"topic":"room:1","members":{"alice":[{"device":"phone"},{"device":"web"}],"bob":[{}]}}"#
        );
        let state = state_data("room:1", &entries, 1);
        assert_eq!(
            state,
            r#"{"topic":"room:1","members":{"alice":[{"device":"phone"},{"device":"web"}]},"truncated":true}"#
        );
    }

    #[test]
    fn a_diff_always_has_joins_and_leaves() {
        let old = RawValue::from_string(r#"{"v":1}"#.to_owned()).unwrap();
        let new = RawValue::from_string(r#"{"v":2}"#.to_owned()).unwrap();
        let diff = presence_diff("t", 3, &[("a\"b", &new)], &[("a\"b", &old)]);
        let value: serde_json::Value = serde_json::from_slice(diff.payload()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type": "presence_diff", "data": {"topic": "t", "joins": {"a\"b": [{"v": 2}]}, "leaves": {"a\"b": [{"v": 1}]}}})
        );
        let empty = presence_diff("t", 4, &[], &[]);
        assert!(std::str::from_utf8(empty.payload()).unwrap().ends_with(r#""joins":{},"leaves":{}}}"#));
    }
}
