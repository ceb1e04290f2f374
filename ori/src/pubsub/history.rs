//! Topic history, as backends keep it (PROTOCOL.md, "History and
//! recovery"): [`Retention`] (how much a topic keeps), [`Position`] (an
//! epoch and an offset), [`HistoryRead`] (what a backend answers when a
//! subscriber asks for what it missed), and [`Recovery`], the one place that
//! decides whether the client recovered.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::protocol::names::{is_reserved_topic, validate_topic};

/// The future returned by [`PubSubBackend::read_history`](crate::pubsub::PubSubBackend::read_history).
pub type HistoryFuture = BoxFuture<'static, Result<HistoryRead, PubSubError>>;

/// How much of a topic's past is kept: its last `size` messages, each for
/// at most `ttl`.
///
/// ```
/// use std::time::Duration;
/// let kept = ori::pubsub::Retention::new(1_000, Duration::from_secs(300));
/// assert_eq!(kept.size(), 1_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    size: usize,
    ttl: Duration,
}

impl Retention {
    /// The last `size` messages (at least 1), each for at most `ttl` (at least 1 ms).
    pub fn new(size: usize, ttl: Duration) -> Retention {
        Retention { size: size.max(1), ttl: ttl.max(Duration::from_millis(1)) }
    }

    /// How many messages are kept at most.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How long a message is kept at most.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// A place in a topic's history: the history's epoch (which changes when
/// the history is lost) and a message's offset in it (0: before the first).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The history's epoch, an opaque string.
    pub epoch: String,
    /// The offset of a message (offsets start at 1).
    pub offset: u64,
}

/// What a backend knows of a topic's history when a subscriber asks for
/// what it missed: read *after* the subscriber was registered, so that
/// every later message reaches it live.
#[derive(Debug, Clone)]
pub struct HistoryRead {
    /// The history's epoch, and the offset of the topic's last message
    /// (0 when it has none yet).
    pub position: Position,
    /// The kept messages after the position asked for, in offset order,
    /// each [positioned](Outbound::with_position); empty when the epoch
    /// asked for is not this one.
    pub messages: Vec<Outbound>,
}

/// Whether a subscriber that came back from `since` recovered, given what
/// the backend read: the one rule of PROTOCOL.md, for every backend.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// Where the topic is now: the acknowledgement's `epoch` and `offset`.
    pub position: Position,
    /// Every message after `since` was still kept (and is in `replay`).
    pub recovered: bool,
    /// What to deliver after the acknowledgement, in order (empty unless recovered).
    pub replay: Vec<Outbound>,
}

impl Recovery {
    /// Decides: recovered when the epoch is the same, `since` is not in the
    /// future, and the messages read start right after it and follow one
    /// another, up to the topic's last offset.
    ///
    /// ```
    /// use ori::pubsub::{HistoryRead, Position, Recovery};
    /// let at = |offset| Position { epoch: "E".into(), offset };
    /// let read = HistoryRead { position: at(2), messages: vec![] };
    /// assert!(Recovery::decide(Some(&at(2)), read.clone()).recovered, "nothing missed");
    /// assert!(!Recovery::decide(Some(&at(1)), read.clone()).recovered, "offset 2 is no longer kept");
    /// assert!(!Recovery::decide(Some(&at(3)), read.clone()).recovered, "from the future");
    /// ```
    pub fn decide(since: Option<&Position>, read: HistoryRead) -> Recovery {
        let HistoryRead { position, messages } = read;
        let recovered = since.is_some_and(|since| {
            since.epoch == position.epoch
                && since.offset <= position.offset
                && messages.len() as u64 == position.offset - since.offset
                && messages.iter().zip(since.offset + 1..).all(|(m, expected)| m.offset() == Some(expected))
        });
        let replay = if recovered { messages } else { Vec::new() };
        Recovery { position, recovered, replay }
    }
}

/// The push that tells a history topic's subscribers that its epoch
/// changed (the history was lost): sent before the first message of the
/// new epoch (PROTOCOL.md, "Epoch change"). A backend whose history can be
/// lost while subscribers stay delivers it to them.
///
/// ```
/// let push = ori::pubsub::epoch_changed("room:1", "E2");
/// assert_eq!(
///     push.payload(),
///     br#"{"type":"subscribe","data":{"topic":"room:1","epoch":"E2","offset":0,"recovered":false}}"#
/// );
/// ```
pub fn epoch_changed(topic: &str, epoch: &str) -> Outbound {
    /// The acknowledgement's fields, in its order.
    #[derive(serde::Serialize)]
    struct EpochChange<'a> {
        topic: &'a str,
        epoch: &'a str,
        offset: u64,
        recovered: bool,
    }
    let data = EpochChange { topic, epoch, offset: 0, recovered: false };
    Outbound::json("subscribe", &data).expect("strings and numbers always serialize")
}

/// Which topics keep history, and how much: the app's `history(pattern,
/// size, ttl)` rules, first match wins. A pattern is a topic name, or a
/// prefix followed by `*` (`room:*`; `*` alone: every topic). Server
/// topics (`__*`) never keep history.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryRules {
    rules: Vec<(Box<str>, bool, Retention)>,
}

impl HistoryRules {
    /// Adds a rule; the error says what is wrong with `pattern`.
    pub(crate) fn add(&mut self, pattern: &str, retention: Retention) -> Result<(), String> {
        let (prefix, wildcard) = match pattern.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (pattern, false),
        };
        // `*` alone has an empty prefix; anything else is a topic name's start.
        if (!prefix.is_empty() || !wildcard) && validate_topic(prefix).is_err() {
            return Err(format!(
                "history pattern `{pattern}` is not a topic name or a topic prefix followed by `*` \
                 (e.g. `room:*`)"
            ));
        }
        if is_reserved_topic(prefix) {
            return Err(format!(
                "history pattern `{pattern}` names server topics (`__*`), which keep no history"
            ));
        }
        self.rules.push((prefix.into(), wildcard, retention));
        Ok(())
    }

    /// Whether any topic keeps history.
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The retention of `topic`, if it keeps history.
    pub(crate) fn retention(&self, topic: &str) -> Option<Retention> {
        if self.rules.is_empty() || is_reserved_topic(topic) {
            return None;
        }
        self.rules.iter().find_map(|(prefix, wildcard, retention)| {
            let matches = if *wildcard { topic.starts_with(&**prefix) } else { topic == &**prefix };
            matches.then_some(*retention)
        })
    }
}

/// Unsupported: what a backend without history answers.
pub(crate) fn unsupported() -> PubSubError {
    PubSubError::Unsupported("history (`Capability::History`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: &str, offset: u64) -> Position {
        Position { epoch: epoch.to_owned(), offset }
    }

    fn kept(offsets: std::ops::RangeInclusive<u64>) -> Vec<Outbound> {
        offsets.map(|o| Outbound::text(r#"{"type":"m"}"#).with_position("t", o)).collect()
    }

    #[test]
    fn rules_match_names_and_prefixes_first_match_wins() {
        let mut rules = HistoryRules::default();
        let (short, long) =
            (Retention::new(10, Duration::from_secs(1)), Retention::new(99, Duration::from_secs(9)));
        rules.add("room:lobby", short).unwrap();
        rules.add("room:*", long).unwrap();
        assert_eq!(rules.retention("room:lobby"), Some(short));
        assert_eq!(rules.retention("room:7"), Some(long));
        assert_eq!(rules.retention("room"), None);
        assert_eq!(rules.retention("room:lobby2"), Some(long));
        rules.add("*", short).unwrap();
        assert_eq!(rules.retention("anything"), Some(short));
        assert_eq!(rules.retention("__broadcast__"), None, "server topics keep nothing");
        for bad in ["", "a*b*", "room *", "__*", "*x"] {
            assert!(rules.add(bad, short).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recovers_exactly_when_nothing_after_since_was_lost() {
        let read = |messages| HistoryRead { position: at("E", 10), messages };
        let recovered = Recovery::decide(Some(&at("E", 7)), read(kept(8..=10)));
        assert!(recovered.recovered);
        assert_eq!(recovered.replay.iter().map(|m| m.offset().unwrap()).collect::<Vec<_>>(), [8, 9, 10]);
        assert!(!Recovery::decide(Some(&at("E", 6)), read(kept(8..=10))).recovered, "7 is gone");
        assert!(!Recovery::decide(Some(&at("F", 7)), read(kept(8..=10))).recovered, "another epoch");
        assert!(!Recovery::decide(Some(&at("E", 11)), read(vec![])).recovered, "the future");
        assert!(Recovery::decide(Some(&at("E", 10)), read(vec![])).recovered, "up to date");
        let fresh = Recovery::decide(None, read(kept(8..=10)));
        assert!(!fresh.recovered && fresh.replay.is_empty(), "no since: nothing replayed");
        let mut gap = kept(8..=10);
        gap[1] = Outbound::text("{}").with_position("t", 12);
        assert!(!Recovery::decide(Some(&at("E", 7)), read(gap)).recovered, "a gap is not a recovery");
    }
}
