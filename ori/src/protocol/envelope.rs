//! Parsing of client messages `{"type", "data", "correlationId"}` in one pass:
//! `data` stays borrowed as raw JSON until a handler deserializes its own type.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::names::{NameError, validate_type};
use crate::SocketError;

/// Longest valid `correlationId`, in characters.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// A valid `correlationId`, kept as the JSON string literal the client sent
/// (quotes and escapes included) so it is echoed without re-encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CorrelationId(Box<str>);

impl CorrelationId {
    /// The JSON literal, e.g. `"abc-123"` with its quotes.
    pub(crate) fn json(&self) -> &str {
        &self.0
    }

    /// The decoded string value.
    pub(crate) fn value(&self) -> String {
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    fn parse(raw: &RawValue) -> Option<CorrelationId> {
        let text = raw.get();
        if !text.starts_with('"') {
            return None;
        }
        let value: Cow<'_, str> = serde_json::from_str(text).ok()?;
        (value.chars().count() <= MAX_CORRELATION_ID_LEN).then(|| CorrelationId(text.into()))
    }
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "type", borrow, default)]
    message_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "correlationId", borrow, default)]
    correlation_id: Option<&'a RawValue>,
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

/// Parses one text message.
pub(crate) fn parse(text: &str) -> Result<Envelope<'_>, Malformed<'_>> {
    let malformed = |message: String| Malformed {
        message_type: None,
        correlation_id: None,
        error: SocketError::bad_request(message),
    };
    // A struct also deserializes from an array; only an object is a message.
    let is_object = text.trim_start().starts_with('{');
    let raw: RawEnvelope<'_> = match serde_json::from_str(text) {
        Ok(raw) if is_object => raw,
        Ok(_) => return Err(malformed("message must be a JSON object".to_owned())),
        Err(e) => {
            let is_json = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
            return Err(malformed(match (is_json, is_object) {
                (true, false) => "message must be a JSON object".to_owned(),
                (true, true) => format!("invalid message: {}", strip_position(&e.to_string())),
                (false, _) => format!("message is not valid JSON: {e}"),
            }));
        }
    };

    let message_type = match raw.message_type {
        None => Err(SocketError::bad_request("message has no `type`")),
        Some(value) => match serde_json::from_str::<Cow<'_, str>>(value.get()) {
            Err(_) => Err(SocketError::bad_request("`type` must be a string")),
            Ok(ty) => match validate_type(&ty) {
                Ok(()) => Ok(ty),
                Err(reason) => Err(invalid_type(reason)),
            },
        },
    };

    let correlation_id = match raw.correlation_id {
        None => Ok(None),
        Some(value) => CorrelationId::parse(value).map(Some).ok_or_else(|| {
            SocketError::bad_request(format!(
                "`correlationId` must be a string of at most {MAX_CORRELATION_ID_LEN} characters"
            ))
        }),
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

/// Deserializes a message's `data` into `T`; the error names the field at fault.
///
/// The fast path is a plain `serde_json` parse; only on failure is the data
/// parsed again with path tracking to name the field.
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
        let cid = env.correlation_id.unwrap();
        assert_eq!(cid.json(), r#""c\u0031""#);
        assert_eq!(cid.value(), "c1");
    }

    #[test]
    fn absent_and_null_fields() {
        let env = parse(r#"{"type":"t","correlationId":null}"#).unwrap();
        assert_eq!(env.data.get(), "null");
        assert!(env.correlation_id.is_none());
        let env = parse(r#"{"type":"t","data":null,"correlationId":""}"#).unwrap();
        assert_eq!(env.correlation_id.unwrap().json(), r#""""#);
    }

    #[test]
    fn malformed_messages() {
        let m = parse("{").unwrap_err();
        assert!(m.error.message().starts_with("message is not valid JSON"), "{}", m.error);
        assert_eq!(parse("[1]").unwrap_err().error.message(), "message must be a JSON object");
        assert_eq!(parse("42").unwrap_err().error.message(), "message must be a JSON object");
        let m = parse(r#"{"data":1,"correlationId":"k"}"#).unwrap_err();
        assert_eq!(m.error.message(), "message has no `type`");
        assert_eq!(m.correlation_id.unwrap().json(), r#""k""#);
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
        assert!(parse(&format!(r#"{{"type":"ok","correlationId":"{long}"}}"#)).is_ok());
        let m = parse(r#"{"type":"a","type":"b"}"#).unwrap_err();
        assert!(m.error.message().contains("duplicate field"), "{}", m.error);
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
}
