//! A message's position on a topic that keeps history (PROTOCOL.md,
//! "History and recovery"): two top-level keys, `"topic"` and `"offset"`,
//! added to the message's JSON object. Only JSON objects without those keys
//! may be published on such a topic ([`check_positionable`]); adding the
//! keys ([`add_position`]) then needs no parsing.

use std::fmt;

use serde::Deserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};

/// Checks that `json` is a JSON object without top-level `topic` or
/// `offset` keys; the error says what it is instead.
pub(crate) fn check_positionable(json: &[u8]) -> Result<(), String> {
    struct TopLevel;

    impl<'de> Visitor<'de> for TopLevel {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "topic" || key == "offset" {
                    return Err(serde::de::Error::custom(format_args!(
                        "it has a top-level `{key}` key, which ori adds itself"
                    )));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    let mut deserializer = serde_json::Deserializer::from_slice(json);
    deserializer.deserialize_any(TopLevel).and_then(|()| deserializer.end()).map_err(|e| e.to_string())
}

/// `json` (an object that passed [`check_positionable`]) with
/// `,"topic":topic,"offset":offset` added before its closing brace. `topic`
/// is a valid topic name, which needs no escaping.
pub(crate) fn add_position(json: &[u8], topic: &str, offset: u64) -> Vec<u8> {
    let end = json.iter().rposition(|&b| b == b'}').unwrap_or(json.len());
    let open = json.iter().position(|&b| b == b'{').unwrap_or(0);
    let empty = json[open + 1..end].iter().all(u8::is_ascii_whitespace);
    let mut out = Vec::with_capacity(end + topic.len() + 40);
    out.extend_from_slice(&json[..end]);
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(b"\"topic\":\"");
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(b"\",\"offset\":");
    out.extend_from_slice(itoa::Buffer::new().format(offset).as_bytes());
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_without_the_position_keys_may_be_positioned() {
        assert!(
            check_positionable(br#"{"type":"x","data":{"topic":1}}"#).is_ok(),
            "nested keys are the app's"
        );
        assert!(check_positionable(b" { } ").is_ok());
        for bad in [&b"[1]"[..], b"\"text\"", b"3", b"null", b"{", b"{} {}", b"not json"] {
            assert!(check_positionable(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let error = check_positionable(br#"{"type":"x","offset":3}"#).unwrap_err();
        assert!(error.contains("`offset`"), "{error}");
        assert!(check_positionable(br#"{"t\u006fpic":1}"#).is_err(), "an escaped key is the same key");
    }

    #[test]
    fn the_position_goes_before_the_closing_brace() {
        let positioned = add_position(br#"{"type":"x","data":{"a":"}"}}"#, "room:1", 58);
        assert_eq!(positioned, br#"{"type":"x","data":{"a":"}"},"topic":"room:1","offset":58}"#);
        assert_eq!(add_position(b"{ }\n", "t", 1), br#"{ "topic":"t","offset":1}"#);
        let value: serde_json::Value = serde_json::from_slice(&add_position(b" {\"a\":1} ", "t", 2)).unwrap();
        assert_eq!(value, serde_json::json!({"a": 1, "topic": "t", "offset": 2}));
    }
}
