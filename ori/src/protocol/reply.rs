//! A reply's bytes, from a handler's return value to the frame: [`IntoReply`]
//! (what handlers may return) makes a [`Reply`] (data, error, or nothing),
//! and [`ReplyTo`] frames it with the request's `type` and `correlationId`
//! (PROTOCOL.md, "Replies"). The connection's encoding (MessagePack,
//! compression) is applied to the frame when it is written
//! ([`Encoding::encode`](crate::protocol::outbound::Encoding::encode)).
//! A raw handler's reply ([`IntoRawReply`]) goes out as it is.

use std::any::{Any, TypeId};
use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::encode;
use crate::protocol::envelope::CorrelationId;
use crate::protocol::raw::RawMessage;
use crate::protocol::socket_error::SocketError;
use crate::wire::frame::{FrameBuf, OpCode, ReplyMemory, reply_frame};

/// A handler's outcome, before it is framed with the request's `type` and
/// `correlationId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing to send back: replies `"data": null` only if the request had a
    /// `correlationId` (an acknowledgement).
    Unit,
    /// Serialized `data` (raw JSON); always replied.
    Json(Vec<u8>),
    /// An error envelope; always replied.
    Error(SocketError),
    /// A reply already written into its frame, up to the `correlationId`
    /// (made by [`Reply::json_for`]: the reply's bytes are copied once).
    #[doc(hidden)]
    Encoded(EncodedReply),
}

/// The start of a reply frame: `{"type":T,"data":D` (not public API).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct EncodedReply {
    pub(crate) frame: FrameBuf<ReplyMemory>,
}

impl EncodedReply {
    /// The reply's `data` (raw JSON): what follows the first `","data":`,
    /// which an escaped `type` cannot contain (its quotes are escaped).
    pub(crate) fn data(&self) -> &[u8] {
        const KEY: &[u8] = b"\",\"data\":";
        let written = self.frame.written();
        let at = written.windows(KEY.len()).position(|w| w == KEY).map_or(written.len(), |i| i + KEY.len());
        &written[at..]
    }
}

impl PartialEq for EncodedReply {
    fn eq(&self, other: &Self) -> bool {
        self.frame.written() == other.frame.written()
    }
}

impl Eq for EncodedReply {}

impl Reply {
    /// Serializes `value` as the reply's `data`; `()` becomes [`Reply::Unit`].
    ///
    /// A value that cannot be serialized (e.g. a map with non-string keys) is
    /// logged and answered with `internal`.
    pub fn json<T: Serialize + 'static>(value: &T) -> Reply {
        if TypeId::of::<T>() == TypeId::of::<()>() {
            return Reply::Unit;
        }
        match serde_json::to_vec(value) {
            Ok(bytes) => Reply::Json(bytes),
            Err(e) => unserializable::<T>(&e),
        }
    }

    /// Like [`Reply::json`], writing `value` straight into the reply frame
    /// of a message of type `message_type`.
    pub fn json_for<T: Serialize + 'static>(message_type: &str, value: &T) -> Reply {
        if TypeId::of::<T>() == TypeId::of::<()>() {
            return Reply::Unit;
        }
        // Already JSON: copied into the frame as it is, as serializing it would.
        if let Some(raw) = (value as &dyn Any).downcast_ref::<Box<RawValue>>() {
            return Reply::Encoded(EncodedReply {
                frame: encode::raw_reply_start(message_type, raw.get().as_bytes()),
            });
        }
        match encode::reply_start(message_type, value) {
            Ok(frame) => Reply::Encoded(EncodedReply { frame }),
            Err(e) => unserializable::<T>(&e),
        }
    }
}

/// Where a reply goes: the request's `type` and `correlationId`.
#[derive(Debug, Clone)]
pub(crate) struct ReplyTo {
    pub(crate) message_type: Cow<'static, str>,
    pub(crate) correlation_id: Option<CorrelationId>,
}

impl ReplyTo {
    /// The frame of `reply` (`None`: an acknowledgement nobody asked for, as
    /// the request had no `correlationId`).
    pub(crate) fn frame(self, reply: Reply) -> Option<Bytes> {
        let cid = self.correlation_id.as_ref();
        Some(match reply {
            Reply::Unit if cid.is_none() => return None,
            Reply::Unit => encode::reply(&self.message_type, None, cid),
            Reply::Json(data) => encode::reply(&self.message_type, Some(&data), cid),
            Reply::Encoded(started) => encode::finish_reply(started.frame, cid),
            Reply::Error(error) => encode::error(&self.message_type, &error, cid),
        })
    }
}

/// The frame that sends a raw handler's reply as it is: text as text, binary as binary.
pub(crate) fn raw_frame(message: &RawMessage) -> Bytes {
    match message {
        RawMessage::Text(text) => reply_frame(OpCode::Text, text.as_bytes()),
        RawMessage::Binary(bytes) => reply_frame(OpCode::Binary, bytes),
    }
}

fn unserializable<T>(error: &serde_json::Error) -> Reply {
    tracing::error!(%error, reply = std::any::type_name::<T>(), "reply could not be serialized");
    Reply::Error(SocketError::internal())
}

/// Types a handler may return.
///
/// - `()`: acknowledged with `"data": null` when the request had a `correlationId`;
/// - `Result<T, E>` with `T: Serialize` and `E: Into<SocketError>`: `Ok` replies
///   with `data` (`Ok(())` behaves like `()`), `Err` with an error envelope.
///
/// - [`Data<T>`] with `T: Serialize`: replies with `data`, no error possible
///   (what a `#[socket_router]` handler's bare `T` becomes).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a socket handler",
    note = "return `()`, `ori::Data(value)` where the value is `Serialize`, or `Result<T, E>` where \
            `T: Serialize` and `E: Into<ori::SocketError>`"
)]
pub trait IntoReply {
    /// Converts the value.
    fn into_reply(self) -> Reply;

    /// Converts the value for a reply to `message_type` (lets a value be
    /// written straight into the reply frame).
    fn into_reply_for(self, message_type: &str) -> Reply
    where
        Self: Sized,
    {
        let _ = message_type;
        self.into_reply()
    }

    /// The Rust type of the reply's `data` (`?` where it is not known), for
    /// [`Ori::describe`](crate::Ori::describe).
    #[doc(hidden)]
    fn reply_type_name() -> &'static str
    where
        Self: Sized,
    {
        "?"
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::Unit
    }

    fn reply_type_name() -> &'static str {
        "()"
    }
}

/// A reply's `data`, from a handler that cannot fail: what a closure returns
/// instead of `Ok::<_, SocketError>(value)` (whose error type Rust cannot
/// infer), and what a `#[socket_router]` handler's bare `T` means.
///
/// ```
/// use ori::{Data, SocketContext, SocketRoutes};
///
/// let routes = SocketRoutes::new().route("whoami", |ctx: SocketContext| async move { Data(ctx.id().to_string()) });
/// ```
///
/// (A bare `T: Serialize` cannot be a closure's reply: `()` and `Result`
/// are `Serialize` too, and Rust cannot tell which rule a closure meant.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Data<T>(pub T);

impl<T: Serialize + 'static> IntoReply for Data<T> {
    fn into_reply(self) -> Reply {
        Reply::json(&self.0)
    }

    fn into_reply_for(self, message_type: &str) -> Reply {
        Reply::json_for(message_type, &self.0)
    }

    fn reply_type_name() -> &'static str {
        std::any::type_name::<T>()
    }
}

impl IntoReply for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

impl<T, E> IntoReply for Result<T, E>
where
    T: Serialize + 'static,
    E: Into<SocketError>,
{
    fn into_reply(self) -> Reply {
        match self {
            Ok(value) => Reply::json(&value),
            Err(e) => Reply::Error(e.into()),
        }
    }

    fn into_reply_for(self, message_type: &str) -> Reply {
        match self {
            Ok(value) => Reply::json_for(message_type, &value),
            Err(e) => Reply::Error(e.into()),
        }
    }

    fn reply_type_name() -> &'static str {
        std::any::type_name::<T>()
    }
}

/// Types a raw message handler may return: `()` sends nothing back,
/// a [`RawMessage`] (or `Some` of one) is sent to the connection as is,
/// text as text and binary as binary.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a raw message handler",
    note = "return `()`, a `RawMessage`, or an `Option<RawMessage>`"
)]
pub trait IntoRawReply {
    /// The message to send back, if any.
    fn into_raw_reply(self) -> Option<RawMessage>;
}

impl IntoRawReply for () {
    fn into_raw_reply(self) -> Option<RawMessage> {
        None
    }
}

impl IntoRawReply for RawMessage {
    fn into_raw_reply(self) -> Option<RawMessage> {
        Some(self)
    }
}

impl IntoRawReply for Option<RawMessage> {
    fn into_raw_reply(self) -> Option<RawMessage> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(().into_reply(), Reply::Unit);
        assert_eq!(Ok::<(), SocketError>(()).into_reply(), Reply::Unit);
        assert_eq!(Ok::<_, SocketError>(Some(1)).into_reply(), Reply::Json(b"1".to_vec()));
        assert_eq!(Ok::<Option<u8>, SocketError>(None).into_reply(), Reply::Json(b"null".to_vec()));
        assert_eq!(Data([1, 2]).into_reply(), Reply::Json(b"[1,2]".to_vec()));
        assert_eq!(Data(()).into_reply(), Reply::Unit);
        let e = SocketError::new("nope", "no");
        assert_eq!(Err::<u8, _>(e.clone()).into_reply(), Reply::Error(e));
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), 3);
        assert_eq!(Reply::json(&bad), Reply::Error(SocketError::internal()));
    }

    /// A `Box<RawValue>` reply is copied into the frame as it is: the same
    /// frame as serializing it makes.
    #[test]
    fn a_raw_reply_is_written_as_it_is() {
        let raw = RawValue::from_string(r#"{ "a" : [1, "\u0041"] }"#.to_owned()).unwrap();
        let Reply::Encoded(copied) = Reply::json_for("t", &raw) else { panic!("not encoded") };
        #[derive(Serialize)]
        #[serde(transparent)]
        struct Serialized(Box<RawValue>);
        let Reply::Encoded(serialized) = Reply::json_for("t", &Serialized(raw)) else {
            panic!("not encoded")
        };
        assert_eq!(copied.data(), br#"{ "a" : [1, "\u0041"] }"#);
        assert_eq!(copied, serialized);
    }
}
