//! Parsing of client messages `{"type", "data", "correlationId"}` in one pass:
//! `data` stays borrowed as raw JSON until a handler deserializes its own type.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::escapes::needs_escaping;
use super::names::{NameError, validate_type};
use super::plain_envelope;
use crate::protocol::socket_error::SocketError;

/// Longest valid `correlationId`, in characters.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// A valid `correlationId`, decoded. Ids up to [`INLINE_ID_LEN`] bytes (a
/// UUID is 36) are kept inline: most requests carry one, and it should not
/// cost an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CorrelationId(Stored);

/// The longest correlation id kept inline, in bytes.
pub(crate) const INLINE_ID_LEN: usize = 37;

/// `plain`: nothing in the id needs escaping, so replies copy it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stored {
    Inline { len: u8, plain: bool, bytes: [u8; INLINE_ID_LEN] },
    Heap { value: Box<str>, plain: bool },
}

impl CorrelationId {
    /// The decoded id, if it is short enough (at most
    /// [`MAX_CORRELATION_ID_LEN`] characters).
    fn new(value: &str) -> Option<CorrelationId> {
        CorrelationId::checked(value, !needs_escaping(value))
    }

    /// [`new`](Self::new) for an id read from a JSON string without
    /// escapes, so with nothing to escape.
    pub(super) fn plain(value: &str) -> Option<CorrelationId> {
        CorrelationId::checked(value, true)
    }

    fn checked(value: &str, plain: bool) -> Option<CorrelationId> {
        // Characters never outnumber bytes: count them only for long ids.
        let fits = value.len() <= MAX_CORRELATION_ID_LEN || value.chars().count() <= MAX_CORRELATION_ID_LEN;
        fits.then(|| CorrelationId::stored(value, plain))
    }

    fn stored(value: &str, plain: bool) -> CorrelationId {
        CorrelationId(match value.len() {
            len if len <= INLINE_ID_LEN => {
                let mut bytes = [0u8; INLINE_ID_LEN];
                bytes[..len].copy_from_slice(value.as_bytes());
                Stored::Inline { len: len as u8, plain, bytes }
            }
            _ => Stored::Heap { value: value.into(), plain },
        })
    }

    /// The id's bytes if nothing in them needs escaping in a JSON string.
    pub(crate) fn plain_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Stored::Inline { len, plain: true, bytes } => Some(&bytes[..usize::from(*len)]),
            Stored::Heap { value, plain: true } => Some(value.as_bytes()),
            _ => None,
        }
    }

    /// The id.
    pub(crate) fn as_str(&self) -> &str {
        match &self.0 {
            Stored::Inline { len, bytes, .. } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).expect("copied from a str")
            }
            Stored::Heap { value, .. } => value,
        }
    }

    /// The id's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match &self.0 {
            Stored::Inline { len, .. } => usize::from(*len),
            Stored::Heap { value, .. } => value.len(),
        }
    }
}

/// The raw parts of a message, as read in one pass.
#[derive(Default)]
struct RawEnvelope<'a> {
    message_type: Option<Field<'a>>,
    data: Option<&'a RawValue>,
    correlation_id: Option<Field<'a>>,
}

/// A `type` or `correlationId` value: a string, `null`, or anything else (invalid).
enum Field<'a> {
    Str(Cow<'a, str>),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;

        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Str(Cow::Owned(v.to_owned())))
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Field::Null)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Field::Other)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }

        deserializer.deserialize_any(FieldVisitor)
    }
}

/// A key of the envelope object (read by serde here, and by the fast path
/// in [`plain_envelope`]).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
pub(super) enum Key {
    Type,
    Data,
    CorrelationId,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;

        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = RawEnvelope<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let duplicate = |key| A::Error::custom(format_args!("duplicate field `{key}`"));
                let mut envelope = RawEnvelope::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Type if envelope.message_type.is_some() => return Err(duplicate("type")),
                        Key::Type => envelope.message_type = Some(map.next_value()?),
                        Key::Data if envelope.data.is_some() => return Err(duplicate("data")),
                        Key::Data => envelope.data = Some(map.next_value()?),
                        Key::CorrelationId if envelope.correlation_id.is_some() => {
                            return Err(duplicate("correlationId"));
                        }
                        Key::CorrelationId => envelope.correlation_id = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(envelope)
            }
        }

        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

/// A well-formed client message.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    /// A valid type string (it may still be reserved or unknown).
    pub(crate) message_type: Cow<'a, str>,
    /// The raw `data`; `null` when absent.
    pub(crate) data: &'a RawValue,
    pub(crate) correlation_id: Option<CorrelationId>,
}

/// A message that could not be accepted, with what the error reply may echo.
#[derive(Debug)]
pub(crate) struct Malformed<'a> {
    /// The request's type when it was a valid type string.
    pub(crate) message_type: Option<Cow<'a, str>>,
    pub(crate) correlation_id: Option<CorrelationId>,
    pub(crate) error: SocketError,
}

/// Parses one text message, in one pass over it: `type` and `correlationId`
/// are read as (borrowed) strings, `data` is kept raw for the handler.
///
/// Messages of the usual shape take the fast path ([`plain_envelope`]);
/// the rest, and every message that is refused, are read here.
pub(crate) fn parse(text: &str) -> Result<Envelope<'_>, Malformed<'_>> {
    match plain_envelope::parse(text) {
        Some(envelope) => Ok(envelope),
        None => parse_thoroughly(text),
    }
}

/// Both paths on `text`: the fast one (`None`: not of the usual shape) and
/// the thorough one, for the fuzz target that checks they agree.
#[cfg(fuzzing)]
pub(crate) fn both_paths(text: &str) -> (Option<Envelope<'_>>, Result<Envelope<'_>, Malformed<'_>>) {
    (plain_envelope::parse(text), parse_thoroughly(text))
}

/// [`parse`] without the fast path: any message, and the words of every error.
fn parse_thoroughly(text: &str) -> Result<Envelope<'_>, Malformed<'_>> {
    let malformed = |message: String| Malformed {
        message_type: None,
        correlation_id: None,
        error: SocketError::bad_request(message),
    };
    if !text.trim_start().starts_with('{') {
        let is_json = serde_json::from_str::<IgnoredAny>(text).is_ok();
        return Err(malformed(if is_json {
            "message must be a JSON object".to_owned()
        } else {
            let e = serde_json::from_str::<IgnoredAny>(text).expect_err("not JSON");
            format!("message is not valid JSON: {e}")
        }));
    }
    let raw: RawEnvelope<'_> = match serde_json::from_str(text) {
        Ok(raw) => raw,
        Err(e) if serde_json::from_str::<IgnoredAny>(text).is_ok() => {
            return Err(malformed(format!("invalid message: {}", strip_position(&e.to_string()))));
        }
        Err(e) => return Err(malformed(format!("message is not valid JSON: {e}"))),
    };

    let message_type = match raw.message_type {
        None | Some(Field::Null) => Err(SocketError::bad_request("message has no `type`")),
        Some(Field::Other) => Err(SocketError::bad_request("`type` must be a string")),
        Some(Field::Str(ty)) => match validate_type(&ty) {
            Ok(()) => Ok(ty),
            Err(reason) => Err(invalid_type(reason)),
        },
    };

    let correlation_id = match raw.correlation_id {
        None | Some(Field::Null) => Ok(None),
        Some(Field::Str(id)) if let Some(id) = CorrelationId::new(&id) => Ok(Some(id)),
        Some(_) => Err(SocketError::bad_request(format!(
            "`correlationId` must be a string of at most {MAX_CORRELATION_ID_LEN} characters"
        ))),
    };

    match (message_type, correlation_id) {
        (Ok(message_type), Ok(correlation_id)) => {
            Ok(Envelope { message_type, data: raw.data.unwrap_or(RawValue::NULL), correlation_id })
        }
        (Err(error), correlation_id) => {
            Err(Malformed { message_type: None, correlation_id: correlation_id.ok().flatten(), error })
        }
        (Ok(message_type), Err(error)) => {
            Err(Malformed { message_type: Some(message_type), correlation_id: None, error })
        }
    }
}

fn invalid_type(reason: NameError) -> SocketError {
    SocketError::bad_request(format!("invalid `type`: a message type {reason}"))
}

/// [`decode_data`] for a handler's argument: an argument of type
/// `Box<RawValue>` is `data` copied as it is, not parsed a second time (the
/// envelope's reading already checked that it is valid JSON, and the copy is
/// exactly what `serde_json` would make of it).
pub(crate) fn decode_argument<T: serde::de::DeserializeOwned + 'static>(
    message_type: &str,
    data: &RawValue,
) -> Result<T, SocketError> {
    let mut raw: Option<T> = None;
    if let Some(slot) = (&mut raw as &mut dyn std::any::Any).downcast_mut::<Option<Box<RawValue>>>() {
        *slot = Some(data.to_owned());
    }
    match raw {
        Some(raw) => Ok(raw),
        None => decode_data(message_type, data),
    }
}

/// Deserializes a message's `data` into `T`; the error names the field at fault.
///
/// The fast path is a plain `serde_json` parse; only on failure is the data
/// parsed again with path tracking to name the field.
#[inline]
pub fn decode_data<T: serde::de::DeserializeOwned>(
    message_type: &str,
    data: &RawValue,
) -> Result<T, SocketError> {
    match serde_json::from_str::<T>(data.get()) {
        Ok(value) => Ok(value),
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(data.get());
            let detail = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Ok(_) => "invalid data".to_owned(),
                Err(e) => {
                    let path = e.path().to_string();
                    let inner = strip_position(&e.into_inner().to_string());
                    if path == "." { inner } else { format!("field `{path}`: {inner}") }
                }
            };
            Err(SocketError::bad_request(format!("invalid `data` for `{message_type}`: {detail}")))
        }
    }
}

/// Drops serde_json's " at line L column C" suffix, which points into the data, not the message.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_envelope() {
        let env = parse(r#"{"type":"a.b","data":{"x":1},"correlationId":"c\u0031","extra":true}"#).unwrap();
        assert_eq!(env.message_type, "a.b");
        assert_eq!(env.data.get(), r#"{"x":1}"#);
        assert_eq!(env.correlation_id.unwrap().as_str(), "c1");
    }

    #[test]
    fn absent_and_null_fields() {
        let env = parse(r#"{"type":"t","correlationId":null}"#).unwrap();
        assert_eq!(env.data.get(), "null");
        assert!(env.correlation_id.is_none());
        let env = parse(r#"{"type":"t","data":null,"correlationId":""}"#).unwrap();
        assert_eq!(env.correlation_id.unwrap().as_str(), "");
    }

    #[test]
    fn malformed_messages() {
        let m = parse("{").unwrap_err();
        assert!(m.error.message().starts_with("message is not valid JSON"), "{}", m.error);
        assert_eq!(parse("[1]").unwrap_err().error.message(), "message must be a JSON object");
        assert_eq!(parse("42").unwrap_err().error.message(), "message must be a JSON object");
        let m = parse(r#"{"data":1,"correlationId":"k"}"#).unwrap_err();
        assert_eq!(m.error.message(), "message has no `type`");
        assert_eq!(m.correlation_id.unwrap().as_str(), "k");
        let m = parse(r#"{"type":5}"#).unwrap_err();
        assert_eq!(m.error.message(), "`type` must be a string");
        let m = parse(r#"{"type":"a b"}"#).unwrap_err();
        assert!(m.message_type.is_none());
        assert_eq!(m.error.code(), "bad_request");
        let m = parse(r#"{"type":"ok","correlationId":7}"#).unwrap_err();
        assert_eq!(m.message_type.as_deref(), Some("ok"));
        assert!(m.correlation_id.is_none());
        let long = "x".repeat(129);
        assert!(parse(&format!(r#"{{"type":"ok","correlationId":"{long}"}}"#)).is_err());
        let long = "é".repeat(128);
        let text = format!(r#"{{"type":"ok","correlationId":"{long}"}}"#);
        let env = parse(&text).unwrap();
        assert_eq!(env.correlation_id.unwrap().as_str(), long, "stored on the heap past 37 bytes");
        for (text, what) in [
            (r#"{"type":"a","data":1,"data":2}"#, "data"),
            (r#"{"correlationId":"a","type":"b","correlationId":"c"}"#, "correlationId"),
        ] {
            let m = parse(text).unwrap_err();
            assert!(m.error.message().contains(&format!("duplicate field `{what}`")), "{}", m.error);
        }
        let env = parse(r#"{"extra":{"deep":[1,{"x":"y"}]},"correlationId":"after","type":"t"}"#).unwrap();
        assert_eq!((&*env.message_type, env.correlation_id.unwrap().as_str()), ("t", "after"));
        let m = parse(r#"{"type":"a","type":"b"}"#).unwrap_err();
        assert!(m.error.message().contains("duplicate field"), "{}", m.error);
    }

    /// Whatever the fast path accepts, the thorough path reads the same way:
    /// checked over valid messages with random bytes changed, inserted or removed.
    #[test]
    fn the_fast_path_agrees_with_the_thorough_one() {
        let seeds = [
            r#"{"type":"a.b","data":{"x":[1,2.5e3,"s\"q"],"y":null},"correlationId":"c-1"}"#,
            r#" {"correlationId" : "é✓" , "type":"t", "extra":[true,false,{}], "data":"str"} "#,
            r#"{"type":"bench.echo","data":{"s":"abcdefghijklmnopqrstuvwxyz0123456789"},"correlationId":"12:345"}"#,
            r#"{"data":-0.5,"type":"x:y_z"}"#,
        ];
        let alphabet = b"{}[]\",:\\ 0123456789.eE+-truefalsn\x01ab\t";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut fast, mut total) = (0, 0);
        for seed in seeds {
            for _ in 0..5_000 {
                let mut bytes = seed.as_bytes().to_vec();
                for _ in 0..1 + next(3) {
                    let at = next(bytes.len());
                    match next(3) {
                        0 => bytes[at] = alphabet[next(alphabet.len())],
                        1 => bytes.insert(at, alphabet[next(alphabet.len())]),
                        _ => drop(bytes.remove(at)),
                    }
                }
                let Ok(text) = String::from_utf8(bytes) else { continue };
                total += 1;
                if let Some(quick) = plain_envelope::parse(&text) {
                    fast += 1;
                    let thorough = parse_thoroughly(&text).unwrap_or_else(|m| panic!("{text}: {}", m.error));
                    assert_eq!(quick.message_type, thorough.message_type, "{text}");
                    assert_eq!(quick.data.get(), thorough.data.get(), "{text}");
                    assert_eq!(quick.correlation_id, thorough.correlation_id, "{text}");
                }
            }
        }
        assert!(fast > total / 10 && fast < total, "{fast} of {total} took the fast path");
        for seed in seeds {
            assert!(plain_envelope::parse(seed).is_some(), "{seed}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Heartbeat {
        timestamp: String,
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn data_errors_name_the_field() {
        let raw = RawValue::from_string(r#"{"timestamp":"t","inner":{"count":"x"}}"#.into()).unwrap();
        let e = decode_data::<Heartbeat>("presence.heartbeat", &raw).unwrap_err();
        assert_eq!(e.code(), "bad_request");
        assert_eq!(
            e.message(),
            "invalid `data` for `presence.heartbeat`: field `inner.count`: invalid type: string \"x\", expected u32"
        );
        let raw = RawValue::from_string(r#"{"inner":{"count":1}}"#.into()).unwrap();
        let e = decode_data::<Heartbeat>("h", &raw).unwrap_err();
        assert_eq!(e.message(), "invalid `data` for `h`: missing field `timestamp`");
        let e = decode_data::<Heartbeat>("h", RawValue::NULL).unwrap_err();
        assert!(e.message().contains("expected struct Heartbeat"), "{e}");
    }

    /// A `Box<RawValue>` argument is `data` as the envelope read it, byte for
    /// byte, as `serde_json` would make it; other types are deserialized.
    #[test]
    fn a_raw_argument_is_data_as_it_is() {
        let env = parse(r#"{"type":"t","data": {"b" : [1, "x\u0041"] } }"#).unwrap();
        let raw = decode_argument::<Box<RawValue>>("t", env.data).unwrap();
        let parsed: Box<RawValue> = serde_json::from_str(env.data.get()).unwrap();
        assert_eq!(raw.get(), r#"{"b" : [1, "x\u0041"] }"#);
        assert_eq!(raw.get(), parsed.get());
        let value = decode_argument::<serde_json::Value>("t", env.data).unwrap();
        assert_eq!(value, serde_json::json!({"b": [1, "xA"]}));
        let e = decode_argument::<Heartbeat>("t", env.data).unwrap_err();
        assert!(e.message().starts_with("invalid `data` for `t`: missing field"), "{e}");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// A correlation id, whatever its characters (escaped in JSON as
            /// need be): kept exactly when it has at most 128 characters,
            /// read back as it was sent, and copied as it is into replies
            /// exactly when nothing in it needs escaping.
            #[test]
            fn correlation_ids_follow_the_rule(id in prop_oneof![".{0,140}", "[a-z0-9-]{120,140}", any::<String>()]) {
                let text = format!(r#"{{"type":"x","correlationId":{}}}"#, serde_json::to_string(&id).unwrap());
                let parsed = parse(&text);
                if id.chars().count() <= MAX_CORRELATION_ID_LEN {
                    let envelope = parsed.map_err(|m| m.error).expect("a valid id");
                    let kept = envelope.correlation_id.expect("kept");
                    prop_assert_eq!(kept.as_str(), id.as_str());
                    prop_assert_eq!(kept.len(), id.len());
                    let plain = !id.chars().any(|c| c == '"' || c == '\\' || c < ' ');
                    prop_assert_eq!(kept.plain_bytes().is_some(), plain);
                } else {
                    let Err(refused) = parsed else { panic!("a too long id was kept") };
                    prop_assert!(refused.error.to_string().contains("correlationId"), "{}", refused.error);
                }
            }
        }
    }
}
