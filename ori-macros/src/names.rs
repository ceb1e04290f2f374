//! The message-type rule of PROTOCOL.md, as the macros check it at compile
//! time. The runtime checks the same rule (`ori::protocol::validate_handler_type`);
//! the test below compiles the runtime's file next to this one and compares
//! both on every short name over the interesting characters, so they cannot
//! drift without a failing test.

/// Longest valid message `type`, in characters (PROTOCOL.md).
const MAX_TYPE_LEN: usize = 128;

/// Message types the protocol keeps for itself; no handler may take them.
const RESERVED_TYPES: [&str; 8] =
    ["ping", "pong", "subscribe", "unsubscribe", "error", "presence", "presence_state", "presence_diff"];

/// Why a handler cannot take a message type, phrased to follow "a message type".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeError {
    Empty,
    TooLong,
    InvalidChar,
    Reserved,
}

impl TypeError {
    /// The reason, then what to do about it.
    pub(crate) fn explain(self) -> String {
        match self {
            TypeError::Empty => "must not be empty, e.g. `presence.heartbeat`".to_owned(),
            TypeError::TooLong => {
                format!("must be at most {MAX_TYPE_LEN} characters, e.g. `presence.heartbeat`")
            }
            TypeError::InvalidChar => {
                "may only contain A-Z, a-z, 0-9 and `_.:-`, e.g. `presence.heartbeat`".to_owned()
            }
            TypeError::Reserved => "is reserved by the protocol (`ping`, `pong`, `subscribe`, \
                                    `unsubscribe`, `error`, `presence`, `presence_state`, \
                                    `presence_diff` and `__*`); choose another name"
                .to_owned(),
        }
    }
}

/// Checks a message type that a handler wants to take: 1..=128 characters
/// from `[A-Za-z0-9_.:-]`, and not reserved.
pub(crate) fn validate_handler_type(message_type: &str) -> Result<(), TypeError> {
    if message_type.is_empty() {
        return Err(TypeError::Empty);
    }
    let name_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-');
    if !message_type.bytes().all(name_char) {
        return Err(TypeError::InvalidChar);
    }
    if message_type.len() > MAX_TYPE_LEN {
        return Err(TypeError::TooLong);
    }
    if message_type.starts_with("__") || RESERVED_TYPES.contains(&message_type) {
        return Err(TypeError::Reserved);
    }
    Ok(())
}

/// The runtime's rule, compiled here for the test only.
#[cfg(test)]
#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../ori/src/protocol/names.rs"]
mod runtime;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name of up to 3 characters over an alphabet that hits each branch,
    /// plus the reserved words and the length limit: both rules agree on all.
    #[test]
    fn agrees_with_the_runtime() {
        let alphabet = ["a", "Z", "0", "_", ".", ":", "-", " ", "é", "/", "\"", "\u{0}"];
        let mut names: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = names
                .iter()
                .filter(|n| n.chars().count() < 3)
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend(longer);
        }
        names.sort();
        names.dedup();
        for word in RESERVED_TYPES.iter().chain(&["pings", "__x", "_x", "Ping", "presence.heartbeat"]) {
            names.push((*word).to_owned());
        }
        names.push("a".repeat(MAX_TYPE_LEN));
        names.push("a".repeat(MAX_TYPE_LEN + 1));
        names.push(format!("{} ", "a".repeat(MAX_TYPE_LEN)));
        assert!(names.len() > 1_500, "{} names", names.len());
        for name in &names {
            let ours = validate_handler_type(name).map_err(|e| format!("{e:?}"));
            let theirs = runtime::validate_handler_type(name).map_err(|e| match e {
                runtime::NameError::Empty => "Empty".to_owned(),
                runtime::NameError::TooLong { .. } => "TooLong".to_owned(),
                runtime::NameError::InvalidChar => "InvalidChar".to_owned(),
                runtime::NameError::Reserved => "Reserved".to_owned(),
            });
            assert_eq!(ours, theirs, "{name:?}");
        }
    }
}
