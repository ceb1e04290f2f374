//! What a [`Client`](super::Client) remembers of each topic it joined:
//! whether it asked for presence, and where it stands on a topic that keeps
//! history, so that a reconnection asks for what was missed (`since`) and a
//! message is never shown twice at the seam (PROTOCOL.md, "History and
//! recovery").

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::pubsub::Position;

/// How to join a topic ([`Client::subscribe_with`](super::Client::subscribe_with)).
///
/// ```
/// use ori::client::SubscribeOptions;
/// let options = SubscribeOptions::new().presence(true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeOptions {
    presence: bool,
    since: Option<Position>,
}

impl SubscribeOptions {
    /// No presence, no position.
    pub fn new() -> SubscribeOptions {
        SubscribeOptions::default()
    }

    /// Also receive the topic's presence (`presence_state`, then diffs),
    /// kept by the client ([`Client::presence`](super::Client::presence)).
    pub fn presence(mut self, presence: bool) -> Self {
        self.presence = presence;
        self
    }

    /// Recover from `position`, the last one seen (e.g. kept across a page
    /// reload or a process restart); without it the client uses the last
    /// position it saw itself.
    pub fn since(mut self, position: Position) -> Self {
        self.since = Some(position);
        self
    }
}

/// The server's acknowledgement of a subscribe.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Subscribed {
    /// The topic.
    pub topic: String,
    /// The history's epoch, when the topic keeps history.
    #[serde(default)]
    pub epoch: Option<String>,
    /// The offset of the topic's last message, when it keeps history.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Whether every message since the position asked for follows (only
    /// when one was asked for). On `false`, refetch what you show.
    #[serde(default)]
    pub recovered: Option<bool>,
}

/// One joined topic.
#[derive(Debug, Clone)]
struct Joined {
    topic: String,
    presence: bool,
    /// The last position delivered (or asked for, until the acknowledgement).
    position: Option<Position>,
    /// The server acknowledged it: it is joined again after a reconnection.
    acked: bool,
    /// Its messages are flowing on this connection: a second subscribe's
    /// acknowledgement does not move the position (the stream goes on).
    live: bool,
}

/// The topics of one client, in the order they were joined.
#[derive(Debug, Default)]
pub(crate) struct Topics {
    joined: Vec<Joined>,
}

impl Topics {
    fn find(&mut self, topic: &str) -> Option<&mut Joined> {
        self.joined.iter_mut().find(|j| j.topic == topic)
    }

    /// Records a subscribe about to be sent; returns its `data`.
    pub(crate) fn begin(&mut self, topic: &str, options: &SubscribeOptions) -> serde_json::Value {
        let since = options.since.clone().or_else(|| self.find(topic).and_then(|j| j.position.clone()));
        match self.find(topic) {
            Some(joined) => {
                joined.presence |= options.presence;
                joined.position = since;
            }
            None => self.joined.push(Joined {
                topic: topic.to_owned(),
                presence: options.presence,
                position: since,
                acked: false,
                live: false,
            }),
        }
        let joined = self.find(topic).expect("just recorded").clone();
        subscribe_data(&joined)
    }

    /// The `data` of each acknowledged topic's subscribe, to join again
    /// after a reconnection (with the last position seen).
    pub(crate) fn rejoin(&mut self) -> Vec<(String, serde_json::Value)> {
        for joined in &mut self.joined {
            joined.live = false;
        }
        self.joined.iter().filter(|j| j.acked).map(|j| (j.topic.clone(), subscribe_data(j))).collect()
    }

    /// Applies a subscribe's acknowledgement; returns it.
    pub(crate) fn acknowledged(&mut self, data: &RawValue) -> Option<Subscribed> {
        let ack: Subscribed = serde_json::from_str(data.get()).ok()?;
        let joined = self.find(&ack.topic)?;
        joined.acked = true;
        if std::mem::replace(&mut joined.live, true) {
            return Some(ack); // Subscribed again on a live subscription: the stream goes on.
        }
        if let (Some(epoch), Some(offset)) = (&ack.epoch, ack.offset) {
            // Recovered: the replay follows and moves the position on from
            // where it stands; otherwise the live stream starts after `offset`.
            if ack.recovered != Some(true) {
                joined.position = Some(Position { epoch: epoch.clone(), offset });
            }
        }
        Some(ack)
    }

    /// The server said the topic's epoch changed: start again at offset 0.
    pub(crate) fn epoch_changed(&mut self, topic: &str, epoch: &str) -> bool {
        match self.find(topic) {
            Some(joined) => {
                joined.position = Some(Position { epoch: epoch.to_owned(), offset: 0 });
                true
            }
            None => false,
        }
    }

    /// Whether a message at `offset` of `topic` is new (and moves the
    /// position to it); `false` for one seen already.
    pub(crate) fn accept(&mut self, topic: &str, offset: u64) -> bool {
        match self.find(topic).and_then(|j| j.position.as_mut()) {
            Some(position) if offset <= position.offset => false,
            Some(position) => {
                position.offset = offset;
                true
            }
            None => true,
        }
    }

    /// Forgets `topic`.
    pub(crate) fn remove(&mut self, topic: &str) {
        self.joined.retain(|j| j.topic != topic);
    }

    /// The acknowledged topics, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.joined.iter().filter(|j| j.acked).map(|j| j.topic.clone()).collect()
    }

    /// The last position seen on `topic`.
    pub(crate) fn position(&mut self, topic: &str) -> Option<Position> {
        self.find(topic).and_then(|j| j.position.clone())
    }
}

fn subscribe_data(joined: &Joined) -> serde_json::Value {
    let mut data = serde_json::json!({ "topic": joined.topic });
    if joined.presence {
        data["presence"] = true.into();
    }
    if let Some(position) = &joined.position {
        data["since"] = serde_json::json!({ "epoch": position.epoch, "offset": position.offset });
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &serde_json::Value) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn a_recovery_moves_on_from_the_position_a_live_join_from_the_acknowledgement() {
        let mut topics = Topics::default();
        assert_eq!(topics.begin("t", &SubscribeOptions::new()), serde_json::json!({"topic": "t"}));
        assert!(topics.rejoin().is_empty(), "not acknowledged yet");
        topics.acknowledged(&raw(&serde_json::json!({"topic": "t", "epoch": "E", "offset": 5})));
        assert!(!topics.accept("t", 5), "at the acknowledged offset: seen");
        assert!(topics.accept("t", 6));
        assert!(!topics.accept("t", 6), "never twice");
        topics.begin("t", &SubscribeOptions::new());
        topics.acknowledged(&raw(
            &serde_json::json!({"topic": "t", "epoch": "E", "offset": 9, "recovered": false}),
        ));
        assert!(topics.accept("t", 7), "subscribing again on a live subscription keeps the position");
        assert!(!topics.accept("t", 6));
        let rejoin = topics.rejoin();
        assert_eq!(rejoin[0].1, serde_json::json!({"topic": "t", "since": {"epoch": "E", "offset": 7}}));
        let ack = topics
            .acknowledged(&raw(
                &serde_json::json!({"topic": "t", "epoch": "E", "offset": 9, "recovered": true}),
            ))
            .unwrap();
        assert_eq!(ack.recovered, Some(true));
        assert!(topics.accept("t", 8), "the replay follows");
        topics.rejoin(); // Another reconnection.
        topics.acknowledged(&raw(
            &serde_json::json!({"topic": "t", "epoch": "F", "offset": 2, "recovered": false}),
        ));
        assert!(!topics.accept("t", 2) && topics.accept("t", 3), "not recovered: the live stream after 2");
        assert!(topics.epoch_changed("t", "G"));
        assert!(topics.accept("t", 1), "a new epoch starts at 1");
        assert!(topics.accept("plain", 4), "a topic without a position takes everything");
    }
}
