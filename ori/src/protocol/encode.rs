//! Encoding of server messages as complete WebSocket text frames, written once
//! and shared by every recipient.

use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;

use super::envelope::{CorrelationId, INLINE_ID_LEN};
use super::escapes::needs_escaping;
use crate::protocol::socket_error::SocketError;
use crate::telemetry;
use crate::util::scratch::with_scratch;
use crate::wire::frame::{FrameBuf, FrameMemory, OpCode, ReplyMemory};

thread_local! {
    /// Where a message's or a reply's `data` is serialized before its frame is
    /// allocated at its size.
    static DATA: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes `s` as a JSON string literal.
pub(crate) fn push_json_str<M: FrameMemory>(buf: &mut FrameBuf<M>, s: &str) {
    if needs_escaping(s) {
        serde_json::to_writer(buf, s).expect("strings always serialize");
    } else {
        push_quoted(buf, s.as_bytes());
    }
}

/// Writes `"s"`: `s` holds nothing to escape.
fn push_quoted<M: FrameMemory>(buf: &mut FrameBuf<M>, s: &[u8]) {
    buf.push(b"\"");
    buf.push(s);
    buf.push(b"\"");
}

fn push_correlation_id<M: FrameMemory>(buf: &mut FrameBuf<M>, correlation_id: Option<&CorrelationId>) {
    if let Some(cid) = correlation_id {
        buf.push(b",\"correlationId\":");
        match cid.plain_bytes() {
            Some(plain) => push_quoted(buf, plain),
            None => push_json_str(buf, cid.as_str()),
        }
    }
}

/// Writes `{"type":T`: the start of every server message.
#[inline]
fn push_type<M: FrameMemory>(buf: &mut FrameBuf<M>, message_type: &str) {
    buf.push(b"{\"type\":");
    push_json_str(buf, message_type);
}

/// Writes `{"type":T` for a reply: `T` is a route's or a request's type, or
/// a protocol type, all valid names (`[A-Za-z0-9_.:-]`), so nothing in it
/// needs escaping.
#[inline]
fn push_reply_type<M: FrameMemory>(buf: &mut FrameBuf<M>, message_type: &str) {
    debug_assert!(super::validate_type(message_type).is_ok(), "{message_type:?} is not a valid type");
    buf.push(b"{\"type\":");
    push_quoted(buf, message_type.as_bytes());
}

/// Writes `{"type":T,"data":`: a message or a reply up to its data.
#[inline]
pub(crate) fn push_data_start<M: FrameMemory>(buf: &mut FrameBuf<M>, message_type: &str) {
    push_type(buf, message_type);
    buf.push(b",\"data\":");
}

/// The bytes of `{"type":"","data":}` around a message's type and data.
const MESSAGE_ENVELOPE_LEN: usize = 19;
/// The bytes of `,"correlationId":""` around a reply's correlation id.
const CORRELATION_ID_FIELD_LEN: usize = 19;

/// `{"type":T,"data":D,"correlationId":C}`; `data_json` is raw JSON (`None` = `null`).
pub(crate) fn reply(
    message_type: &str,
    data_json: Option<&[u8]>,
    correlation_id: Option<&CorrelationId>,
) -> Bytes {
    let data = data_json.unwrap_or(b"null");
    let cid_len = correlation_id.map_or(0, |c| c.len() + CORRELATION_ID_FIELD_LEN);
    let mut buf =
        FrameBuf::reply(OpCode::Text, MESSAGE_ENVELOPE_LEN + message_type.len() + data.len() + cid_len);
    push_reply_type(&mut buf, message_type);
    buf.push(b",\"data\":");
    buf.push(data);
    push_correlation_id(&mut buf, correlation_id);
    buf.push(b"}");
    buf.finish().0
}

/// Room left after a reply's data for its correlation id: one short enough
/// to be kept inline (a UUID is) fits without growing the frame.
const CORRELATION_ID_ROOM: usize = CORRELATION_ID_FIELD_LEN + INLINE_ID_LEN;

/// `{"type":T,"data":D`: a reply written up to its correlation id
/// ([`Reply::Encoded`](crate::protocol::reply::Reply)), for [`finish_reply`], with room for
/// an inline correlation id.
pub(crate) fn reply_start<T: Serialize + ?Sized>(
    message_type: &str,
    value: &T,
) -> Result<FrameBuf<ReplyMemory>, serde_json::Error> {
    data_start(message_type, value, CORRELATION_ID_ROOM)
}

/// `{"type":T,"data":D` in a frame with `room` bytes to spare after the
/// closing `}`. `data` is serialized into a per-thread buffer first, so that
/// the frame is allocated once, at its size: growing it while serializing
/// would copy it.
fn data_start<M: FrameMemory, T: Serialize + ?Sized>(
    message_type: &str,
    data: &T,
    room: usize,
) -> Result<FrameBuf<M>, serde_json::Error> {
    with_scratch(&DATA, 64 * 1024, |json| {
        serde_json::to_writer(&mut *json, data)?;
        Ok(data_start_json(message_type, json, room))
    })
}

/// [`reply_start`] of a reply whose `data` is already JSON (a `Box<RawValue>`).
pub(crate) fn raw_reply_start(message_type: &str, json: &[u8]) -> FrameBuf<ReplyMemory> {
    data_start_json(message_type, json, CORRELATION_ID_ROOM)
}

/// `{"type":T,"data":D` where `D` is JSON, with `room` to spare.
fn data_start_json<M: FrameMemory>(message_type: &str, json: &[u8], room: usize) -> FrameBuf<M> {
    let capacity = MESSAGE_ENVELOPE_LEN + message_type.len() + json.len() + room;
    let mut frame = FrameBuf::in_memory(OpCode::Text, capacity);
    push_data_start(&mut frame, message_type);
    frame.push(json);
    frame
}

/// Completes a reply written up to its `data` ([`Reply::Encoded`](crate::protocol::reply::Reply)).
pub(crate) fn finish_reply(
    mut frame: FrameBuf<ReplyMemory>,
    correlation_id: Option<&CorrelationId>,
) -> Bytes {
    push_correlation_id(&mut frame, correlation_id);
    frame.push(b"}");
    frame.finish().0
}

/// `{"type":T,"error":{"code":C,"message":M[,"details":D]},"correlationId":C}`.
pub(crate) fn error(
    message_type: &str,
    error: &SocketError,
    correlation_id: Option<&CorrelationId>,
) -> Bytes {
    if let Some(telemetry) = telemetry::get() {
        telemetry.error(error.code());
    }
    let details = error.details().map_or(0, |d| d.get().len() + 12);
    let mut buf = FrameBuf::reply(OpCode::Text, 64 + message_type.len() + error.message().len() + details);
    push_reply_type(&mut buf, message_type);
    buf.push(b",\"error\":{\"code\":");
    push_json_str(&mut buf, error.code());
    buf.push(b",\"message\":");
    push_json_str(&mut buf, error.message());
    if let Some(details) = error.details() {
        buf.push(b",\"details\":");
        buf.push(details.get().as_bytes());
    }
    buf.push(b"}");
    push_correlation_id(&mut buf, correlation_id);
    buf.push(b"}");
    buf.finish().0
}

/// `{"type":T,"data":D}` for pushes (no correlationId). Returns the frame and its header length.
pub(crate) fn message<T: Serialize + ?Sized>(
    message_type: &str,
    data: &T,
) -> Result<(Bytes, usize), serde_json::Error> {
    // Exact size: the frame is shared by every recipient for as long as the
    // slowest one takes.
    let mut frame: FrameBuf = data_start(message_type, data, 0)?;
    frame.push(b"}");
    Ok(frame.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::envelope::parse;

    fn text(frame: &Bytes) -> &str {
        let header = if frame[1] & 0x7F < 126 { 2 } else { 4 };
        std::str::from_utf8(&frame[header..]).unwrap()
    }

    #[test]
    fn replies_and_errors() {
        let env = parse(r#"{"type":"t","correlationId":"a\"b"}"#).unwrap();
        let cid = env.correlation_id.as_ref();
        assert_eq!(
            text(&reply("t", Some(b"{\"ok\":true}"), cid)),
            r#"{"type":"t","data":{"ok":true},"correlationId":"a\"b"}"#
        );
        assert_eq!(text(&reply("pong", None, None)), r#"{"type":"pong","data":null}"#);
        // Read on the fast path (no escapes): echoed byte for byte, in the
        // reply written at once and in the one finished after its data.
        let plain = parse(r#"{"type":"t","correlationId":"é✓-1"}"#).unwrap();
        let plain_cid = plain.correlation_id.as_ref();
        assert_eq!(text(&reply("t", None, plain_cid)), r#"{"type":"t","data":null,"correlationId":"é✓-1"}"#);
        let started = reply_start("t", &[1, 2]).unwrap();
        assert_eq!(
            text(&finish_reply(started, plain_cid)),
            r#"{"type":"t","data":[1,2],"correlationId":"é✓-1"}"#
        );
        let e = SocketError::forbidden("say \"no\"");
        assert_eq!(
            text(&error("error", &e, cid)),
            r#"{"type":"error","error":{"code":"forbidden","message":"say \"no\""},"correlationId":"a\"b"}"#
        );
        let full = SocketError::new("room_full", "full").with_details(&serde_json::json!({"capacity": 8}));
        assert_eq!(
            text(&error("t", &full, None)),
            r#"{"type":"t","error":{"code":"room_full","message":"full","details":{"capacity":8}}}"#
        );
        let (frame, header_len) = message("m", &serde_json::json!({"x": [1]})).unwrap();
        assert_eq!(header_len, 2);
        assert_eq!(text(&frame), r#"{"type":"m","data":{"x":[1]}}"#);
    }
}
