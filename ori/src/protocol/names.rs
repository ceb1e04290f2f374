//! Validation of message types and topic names (PROTOCOL.md, "Client to server"
//! and "Control messages").

/// Longest valid message `type`, in characters.
pub const MAX_TYPE_LEN: usize = 128;
/// Longest valid topic name, in characters.
pub const MAX_TOPIC_LEN: usize = 256;
/// The topic every connection is subscribed to; publishing to it reaches everyone.
pub const BROADCAST_TOPIC: &str = "__broadcast__";

/// Message types the protocol keeps for itself; no handler may take them.
const RESERVED_TYPES: [&str; 8] =
    ["ping", "pong", "subscribe", "unsubscribe", "error", "presence", "presence_state", "presence_diff"];

/// Which bytes may appear in a name: `[A-Za-z0-9_.:-]`. A table, because
/// every incoming message's `type` is checked against it.
const NAME_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-');
        b += 1;
    }
    table
};

fn is_name_char(b: u8) -> bool {
    NAME_CHARS[usize::from(b)]
}

/// Why a message type or topic name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than the limit (128 for types, 256 for topics).
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The name holds a character outside `[A-Za-z0-9_.:-]`.
    InvalidChar,
    /// The name is reserved for the protocol or the server (`ping`, `__*`, ...).
    Reserved,
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => f.write_str("must not be empty"),
            NameError::TooLong { max } => write!(f, "must be at most {max} characters"),
            NameError::InvalidChar => f.write_str("may only contain A-Z, a-z, 0-9 and `_.:-`"),
            NameError::Reserved => f.write_str("is reserved by the protocol"),
        }
    }
}

impl std::error::Error for NameError {}

fn check_chars(name: &str, max: usize) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    // Valid names are ASCII, so bytes are characters; anything else fails the char check.
    if !name.bytes().all(is_name_char) {
        return Err(NameError::InvalidChar);
    }
    if name.len() > max {
        return Err(NameError::TooLong { max });
    }
    Ok(())
}

/// Checks a message `type` string: 1..=128 characters from `[A-Za-z0-9_.:-]`.
///
/// Reserved types (`ping`, `__x`, ...) are valid strings; see [`is_reserved_type`].
///
/// ```
/// assert!(ori::protocol::validate_type("presence.heartbeat").is_ok());
/// assert!(ori::protocol::validate_type("bad type").is_err());
/// ```
pub fn validate_type(message_type: &str) -> Result<(), NameError> {
    check_chars(message_type, MAX_TYPE_LEN)
}

/// The length of the valid message type `bytes` begin with, which ends
/// where the name characters do (`None`: none, or longer than
/// [`MAX_TYPE_LEN`]). [`validate_type`] for a type read in place, in one pass.
pub(crate) fn type_len(bytes: &[u8]) -> Option<usize> {
    let len = bytes.iter().position(|&b| !is_name_char(b)).unwrap_or(bytes.len());
    (1..=MAX_TYPE_LEN).contains(&len).then_some(len)
}

/// Whether `message_type` is kept by the protocol: `ping`, `pong`, `subscribe`,
/// `unsubscribe`, `error`, or anything beginning with `__`.
pub fn is_reserved_type(message_type: &str) -> bool {
    message_type.starts_with("__") || RESERVED_TYPES.contains(&message_type)
}

/// Checks a message type that a handler wants to take: valid and not reserved.
pub fn validate_handler_type(message_type: &str) -> Result<(), NameError> {
    validate_type(message_type)?;
    if is_reserved_type(message_type) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// Checks a topic name: 1..=256 characters from `[A-Za-z0-9_.:-]`.
///
/// Names beginning with `__` are valid but reserved for the server; clients may
/// not subscribe to them (see [`is_reserved_topic`]).
///
/// ```
/// assert!(ori::protocol::validate_topic("room:1").is_ok());
/// assert!(ori::protocol::validate_topic("__ x").is_err());
/// ```
pub fn validate_topic(topic: &str) -> Result<(), NameError> {
    check_chars(topic, MAX_TOPIC_LEN)
}

/// Whether a (valid) topic is reserved for the server: it begins with `__`.
pub fn is_reserved_topic(topic: &str) -> bool {
    topic.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_rules() {
        assert_eq!(validate_type(""), Err(NameError::Empty));
        assert_eq!(validate_type("a b"), Err(NameError::InvalidChar));
        assert_eq!(validate_type("é"), Err(NameError::InvalidChar));
        assert!(validate_type(&"a".repeat(128)).is_ok());
        assert_eq!(validate_type(&"a".repeat(129)), Err(NameError::TooLong { max: 128 }));
        assert!(validate_type("presence.getOnline").is_ok());
        assert!(validate_type("a-b_c.d:e").is_ok());
    }

    #[test]
    fn reserved_types() {
        for t in [
            "ping",
            "pong",
            "subscribe",
            "unsubscribe",
            "error",
            "presence",
            "presence_state",
            "presence_diff",
            "__x",
            "__",
        ] {
            assert!(is_reserved_type(t), "{t}");
            assert!(validate_handler_type(t).is_err(), "{t}");
        }
        assert!(!is_reserved_type("pings"));
        assert!(!is_reserved_type("_x"));
        assert!(!is_reserved_type("presence.heartbeat"), "dotted names stay the app's");
    }

    #[test]
    fn topic_rules() {
        assert!(validate_topic(&"t".repeat(256)).is_ok());
        assert_eq!(validate_topic(&"t".repeat(257)), Err(NameError::TooLong { max: 256 }));
        assert_eq!(validate_topic("__ x"), Err(NameError::InvalidChar));
        assert!(validate_topic("__broadcast__").is_ok());
        assert!(is_reserved_topic("__broadcast__"));
        assert!(!is_reserved_topic("_a"));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// PROTOCOL.md's rule, written plainly: 1 to `max` characters, each
        /// of `A-Z a-z 0-9 _ . : -`; the error for the first rule broken.
        fn rule(name: &str, max: usize) -> Result<(), NameError> {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "_.:-".contains(c);
            if name.is_empty() {
                Err(NameError::Empty)
            } else if !name.chars().all(allowed) {
                Err(NameError::InvalidChar)
            } else if name.chars().count() > max {
                Err(NameError::TooLong { max })
            } else {
                Ok(())
            }
        }

        /// Names near the rule: mostly allowed characters, sometimes not, of
        /// every length around the limits.
        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                "[A-Za-z0-9_.:-]{0,300}",
                "[A-Za-z0-9_.:-]{0,130}[ /é\\x00\"{}*>%]?[A-Za-z0-9_.:-]{0,130}",
                any::<String>(),
            ]
        }

        proptest! {
            #[test]
            fn types_and_topics_follow_the_rule(name in name()) {
                prop_assert_eq!(validate_type(&name), rule(&name, MAX_TYPE_LEN));
                // Read in place, up to the closing quote: the same rule.
                let quoted = format!("{name}\"");
                prop_assert_eq!(type_len(quoted.as_bytes()) == Some(name.len()), validate_type(&name).is_ok());
                prop_assert_eq!(validate_topic(&name), rule(&name, MAX_TOPIC_LEN));
                let handler = rule(&name, MAX_TYPE_LEN).and_then(|()| {
                    if is_reserved_type(&name) { Err(NameError::Reserved) } else { Ok(()) }
                });
                prop_assert_eq!(validate_handler_type(&name), handler);
            }
        }
    }
}
