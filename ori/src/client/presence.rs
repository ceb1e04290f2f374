//! The presence a [`Client`](super::Client) keeps for each topic it joined
//! with presence: `presence_state` replaces it, `presence_diff` changes it,
//! and each change is a [`PresenceChange`] (PROTOCOL.md, "Presence"). A
//! member is a key; a second meta under a present key (a second device) is a
//! join that is not a new member.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ClientError;

/// One change of a topic's presence as the client sees it: `M` is the meta,
/// raw JSON in [`ClientEvent::Presence`](super::ClientEvent), typed by
/// [`decode`](PresenceChange::decode).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PresenceChange<M = Box<RawValue>> {
    /// `meta` joined under `key`; `new_member` when `key` had no meta before.
    Join {
        /// The topic.
        topic: String,
        /// The member key.
        key: String,
        /// The meta that joined.
        meta: M,
        /// The key was not a member before.
        new_member: bool,
    },
    /// `meta` left `key`; `gone` when `key` has no meta left.
    Leave {
        /// The topic.
        topic: String,
        /// The member key.
        key: String,
        /// The meta that left.
        meta: M,
        /// The key is no longer a member.
        gone: bool,
    },
    /// A `presence_state` was applied (after a subscribe or a
    /// reconnection; its differences from what the client had came first,
    /// as joins and leaves).
    Synced {
        /// The topic.
        topic: String,
    },
}

impl PresenceChange {
    /// The change with its meta decoded as `M`.
    pub fn decode<M: DeserializeOwned>(&self) -> Result<PresenceChange<M>, ClientError> {
        let decode = |meta: &RawValue| {
            serde_json::from_str(meta.get()).map_err(|e| ClientError::Decode {
                message_type: "presence_diff".to_owned(),
                error: e.to_string(),
            })
        };
        Ok(match self {
            PresenceChange::Join { topic, key, meta, new_member } => PresenceChange::Join {
                topic: topic.clone(),
                key: key.clone(),
                meta: decode(meta)?,
                new_member: *new_member,
            },
            PresenceChange::Leave { topic, key, meta, gone } => PresenceChange::Leave {
                topic: topic.clone(),
                key: key.clone(),
                meta: decode(meta)?,
                gone: *gone,
            },
            PresenceChange::Synced { topic } => PresenceChange::Synced { topic: topic.clone() },
        })
    }
}

type Members = BTreeMap<String, Vec<Box<RawValue>>>;

#[derive(Deserialize)]
struct State {
    topic: String,
    members: Members,
}

#[derive(Deserialize)]
struct Diff {
    topic: String,
    joins: Members,
    leaves: Members,
}

/// Each presence topic's members.
#[derive(Debug, Default)]
pub(crate) struct PresenceMaps {
    topics: HashMap<String, Members>,
}

impl PresenceMaps {
    /// Applies a `presence_state`: its differences from what was kept, then `Synced`.
    pub(crate) fn state(&mut self, data: &RawValue) -> Vec<PresenceChange> {
        let Ok(State { topic, members }) = serde_json::from_str::<State>(data.get()) else {
            return Vec::new();
        };
        let kept = self.topics.remove(&topic).unwrap_or_default();
        let mut changes = Vec::new();
        let mut current = Members::new();
        // What left since: every kept meta not in the new state.
        let mut joins = Members::new();
        let mut leaves = kept.clone();
        for (key, metas) in members {
            for meta in metas {
                let still = leaves.get_mut(&key).and_then(|l| take(l, &meta));
                if still.is_none() {
                    joins.entry(key.clone()).or_default().push(meta.clone());
                }
                current.entry(key.clone()).or_default().push(meta);
            }
        }
        leaves.retain(|_, metas| !metas.is_empty());
        let mut view = kept;
        apply(&topic, &mut view, joins, leaves, &mut changes);
        self.topics.insert(topic.clone(), current);
        changes.push(PresenceChange::Synced { topic });
        changes
    }

    /// Applies a `presence_diff`: joins first, then leaves, so that an
    /// update (a leave and a join under one key) never empties the key.
    pub(crate) fn diff(&mut self, data: &RawValue) -> Vec<PresenceChange> {
        let Ok(Diff { topic, joins, leaves }) = serde_json::from_str::<Diff>(data.get()) else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        let view = self.topics.entry(topic.clone()).or_default();
        apply(&topic, view, joins, leaves, &mut changes);
        changes
    }

    /// The members of `topic`, if the client keeps its presence.
    pub(crate) fn members(&self, topic: &str) -> Option<&Members> {
        self.topics.get(topic)
    }

    /// Stops keeping `topic`'s presence.
    pub(crate) fn remove(&mut self, topic: &str) {
        self.topics.remove(topic);
    }
}

fn apply(
    topic: &str,
    view: &mut Members,
    joins: Members,
    leaves: Members,
    changes: &mut Vec<PresenceChange>,
) {
    for (key, metas) in joins {
        for meta in metas {
            let list = view.entry(key.clone()).or_default();
            let new_member = list.is_empty();
            list.push(meta.clone());
            changes.push(PresenceChange::Join {
                topic: topic.to_owned(),
                key: key.clone(),
                meta,
                new_member,
            });
        }
    }
    for (key, metas) in leaves {
        for meta in metas {
            let Some(list) = view.get_mut(&key) else { continue };
            if take(list, &meta).is_none() {
                continue; // Never a leave of what did not join.
            }
            let gone = list.is_empty();
            if gone {
                view.remove(&key);
            }
            changes.push(PresenceChange::Leave { topic: topic.to_owned(), key: key.clone(), meta, gone });
        }
    }
}

/// Removes one meta equal to `meta` from `list`.
fn take(list: &mut Vec<Box<RawValue>>, meta: &RawValue) -> Option<Box<RawValue>> {
    let at = list.iter().position(|m| same(m, meta))?;
    Some(list.remove(at))
}

/// Two metas are the same JSON value (key order and spacing aside).
fn same(a: &RawValue, b: &RawValue) -> bool {
    a.get() == b.get()
        || serde_json::from_str::<serde_json::Value>(a.get()).ok() == serde_json::from_str(b.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &serde_json::Value) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    fn summary(changes: &[PresenceChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                PresenceChange::Join { key, meta, new_member, .. } => {
                    format!("+{key}{}{}", meta.get(), if *new_member { "*" } else { "" })
                }
                PresenceChange::Leave { key, meta, gone, .. } => {
                    format!("-{key}{}{}", meta.get(), if *gone { "*" } else { "" })
                }
                PresenceChange::Synced { .. } => "synced".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_second_device_is_not_a_second_member_and_an_update_keeps_the_key() {
        let mut maps = PresenceMaps::default();
        let state = raw(&serde_json::json!({"topic": "t", "members": {"alice": ["phone"]}}));
        assert_eq!(summary(&maps.state(&state)), ["+alice\"phone\"*", "synced"]);
        let diff = raw(&serde_json::json!({"topic": "t", "joins": {"alice": ["web"]}, "leaves": {}}));
        assert_eq!(summary(&maps.diff(&diff)), ["+alice\"web\""]);
        let update = raw(
            &serde_json::json!({"topic": "t", "joins": {"alice": ["web2"]}, "leaves": {"alice": ["web"]}}),
        );
        assert_eq!(summary(&maps.diff(&update)), ["+alice\"web2\"", "-alice\"web\""]);
        let nothing = raw(&serde_json::json!({"topic": "t", "joins": {}, "leaves": {"bob": [{}]}}));
        assert!(maps.diff(&nothing).is_empty(), "no leave of what did not join");
        assert_eq!(maps.members("t").unwrap()["alice"].len(), 2);
        // A new state after a reconnection: its differences, then synced.
        let again = raw(&serde_json::json!({"topic": "t", "members": {"alice": ["web2"], "carol": [{}]}}));
        assert_eq!(summary(&maps.state(&again)), ["+carol{}*", "-alice\"phone\"", "synced"]);
    }
}
