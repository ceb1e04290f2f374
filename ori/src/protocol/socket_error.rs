//! [`SocketError`]: the error object of PROTOCOL.md, what a client receives
//! when a message is refused (`{"type", "error": {"code", "message",
//! "details"}, "correlationId"}`).

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// An error sent to the client as `{"type", "error": {"code", "message"}, "correlationId"}`
/// (and `error.details` when it has [details](SocketError::with_details)).
///
/// The connection stays open. Handlers return it (or any `E: Into<SocketError>`)
/// to refuse a message; the `code` is part of your API, the `message` is for
/// humans, the `details` for programs.
///
/// ```
/// use ori::SocketError;
///
/// let e = SocketError::new("not_found", "no such room");
/// assert_eq!(e.code(), "not_found");
/// assert_eq!(SocketError::forbidden("admin role required").code(), "forbidden");
///
/// #[derive(serde::Serialize)]
/// struct RoomFull { capacity: u32 }
///
/// let full = SocketError::new("room_full", "the room is full").with_details(&RoomFull { capacity: 8 });
/// assert_eq!(full.details().map(|d| d.get()), Some(r#"{"capacity":8}"#));
/// ```
#[derive(Debug, Clone)]
pub struct SocketError {
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    /// Behind one more box, so that errors stay small on the paths that
    /// return them (details are rare).
    details: Option<Box<Box<RawValue>>>,
}

impl PartialEq for SocketError {
    fn eq(&self, other: &Self) -> bool {
        (&self.code, &self.message, self.details().map(RawValue::get))
            == (&other.code, &other.message, other.details().map(RawValue::get))
    }
}

impl Eq for SocketError {}

impl SocketError {
    /// An error with an application-chosen `code` (e.g. `"not_found"`) and message.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        SocketError { code: code.into(), message: message.into(), details: None }
    }

    /// Attaches structured `details` for the client's program (sent as
    /// `error.details`; the Rust client reads them with
    /// `ClientError::details::<T>()`, the TypeScript client as `error.details`).
    ///
    /// Details that fail to serialize (a map with non-string keys, say) are
    /// left out, and the failure is logged: the error itself still goes out.
    #[must_use]
    pub fn with_details<T: Serialize + ?Sized>(mut self, details: &T) -> Self {
        match serde_json::value::to_raw_value(details) {
            Ok(raw) => self.details = Some(Box::new(raw)),
            Err(error) => {
                tracing::error!(%error, code = %self.code, "the details of a SocketError failed to serialize; sent without them");
            }
        }
        self
    }

    /// `bad_request`: the message was malformed or its `data` had the wrong shape.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new("bad_request", message)
    }

    /// `forbidden`: a guard said no, or the connection may not do this.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new("forbidden", message)
    }

    /// `unknown_type`: nothing handles this message type.
    pub fn unknown_type(message_type: &str) -> Self {
        Self::new("unknown_type", format!("no handler for message type `{message_type}`"))
    }

    /// `unsupported`: e.g. a binary frame without a binary codec.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new("unsupported", message)
    }

    /// `rate_limited`: the connection sent more than its rate limit allows;
    /// the message was not handled.
    pub fn rate_limited() -> Self {
        Self::new("rate_limited", "too many messages; slow down")
    }

    /// `timeout`: the route did not finish within its timeout; its work was dropped.
    pub fn timeout(message_type: &str, limit: std::time::Duration) -> Self {
        Self::new(
            "timeout",
            format!("`{message_type}` did not finish within {limit:?}; its work was dropped"),
        )
    }

    /// `internal`: the server failed; the message deliberately says nothing more.
    pub fn internal() -> Self {
        Self::new("internal", "internal server error")
    }

    /// The machine-readable code, e.g. `"forbidden"`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The structured details, as JSON, if any.
    pub fn details(&self) -> Option<&RawValue> {
        self.details.as_deref().map(|raw| &**raw)
    }
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SocketError {}
