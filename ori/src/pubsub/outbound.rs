//! [`Outbound`]: a server message encoded once as a WebSocket frame and shared
//! by every recipient.

use bytes::Bytes;
use serde::Serialize;

use crate::SocketMessage;
use crate::protocol::RawMessage;
use crate::protocol::encode;
use std::sync::OnceLock;

use crate::protocol::deflate::{Deflate, deflate_frame};
use crate::protocol::frame_buf::{FrameBuf, OpCode};

/// A message, text or binary, ready to be written to any number of connections.
///
/// The frame is encoded once; cloning shares the bytes (a reference count), so
/// publishing to N subscribers copies nothing per subscriber.
///
/// ```
/// let m = ori::pubsub::Outbound::text(r#"{"type":"chat.message","data":"hi"}"#);
/// assert_eq!(m.payload(), br#"{"type":"chat.message","data":"hi"}"#);
/// ```
#[derive(Clone)]
pub struct Outbound {
    frame: Bytes,
    header_len: u8,
    /// The frame compressed with permessage-deflate, made by the first
    /// recipient that negotiated it and shared by the others (`None`: it
    /// does not compress).
    deflated: OnceLock<Option<Bytes>>,
}

impl PartialEq for Outbound {
    fn eq(&self, other: &Self) -> bool {
        self.frame == other.frame
    }
}

impl Eq for Outbound {}

impl Outbound {
    /// A message holding `text` as-is (the protocol expects a JSON object).
    pub fn text(text: &str) -> Outbound {
        let mut buf = FrameBuf::new(OpCode::Text, text.len());
        buf.push(text.as_bytes());
        Outbound::from_frame(buf.finish())
    }

    /// A binary message holding `bytes` as-is (for raw endpoints and
    /// [`on_raw_message`](crate::Ori::on_raw_message) clients; an envelope
    /// client answers binary it did not ask for as it sees fit).
    ///
    /// ```
    /// let m = ori::pubsub::Outbound::binary(&[1, 2, 3]);
    /// assert!(m.is_binary());
    /// assert_eq!(m.payload(), &[1, 2, 3]);
    /// ```
    pub fn binary(bytes: &[u8]) -> Outbound {
        Outbound::from_frame(crate::protocol::frame_buf::frame_with_header(OpCode::Binary, bytes))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        self.frame[0] & 0x0F == OpCode::Binary.bits()
    }

    /// `{"type": message_type, "data": data}`.
    pub fn json<T: Serialize + ?Sized>(message_type: &str, data: &T) -> Result<Outbound, serde_json::Error> {
        encode::message(message_type, data).map(Outbound::from_frame)
    }

    /// `{"type": M::TYPE, "data": message}` for a typed message.
    pub fn message<M: SocketMessage>(message: &M) -> Result<Outbound, serde_json::Error> {
        Outbound::json(M::TYPE, message)
    }

    /// Rebuilds a message from a payload produced by [`Outbound::payload`]
    /// (e.g. received from another instance). Fails if it is not UTF-8.
    pub fn from_payload(payload: &[u8]) -> Result<Outbound, std::str::Utf8Error> {
        std::str::from_utf8(payload).map(Outbound::text)
    }

    /// The message as a [`RawMessage`] (copies the payload).
    pub fn to_raw(&self) -> RawMessage {
        if self.is_binary() {
            RawMessage::Binary(bytes::Bytes::copy_from_slice(self.payload()))
        } else {
            RawMessage::Text(String::from_utf8_lossy(self.payload()).into_owned())
        }
    }

    pub(crate) fn from_frame((frame, header_len): (Bytes, usize)) -> Outbound {
        Outbound { frame, header_len: header_len as u8, deflated: OnceLock::new() }
    }

    /// The frame to send to a connection with `deflate` (compressed when it
    /// applies; compressed once for every connection that takes it).
    pub(crate) fn frame_for(&self, deflate: Option<&Deflate>) -> Bytes {
        if let Some(deflate) = deflate
            && deflate.applies_to(self.payload().len())
            && let Some(compressed) = self.deflated.get_or_init(|| deflate_frame(&self.frame, deflate))
        {
            return compressed.clone();
        }
        self.frame.clone()
    }

    /// The message text (the frame without its WebSocket header).
    pub fn payload(&self) -> &[u8] {
        &self.frame[usize::from(self.header_len)..]
    }

    /// `{"type": M::TYPE, "data": message}`, with the pub/sub error a failed
    /// serialization is.
    pub(crate) fn typed<M: SocketMessage>(message: &M) -> Result<Outbound, crate::PubSubError> {
        Outbound::message(message).map_err(|e| crate::PubSubError::Serialize(e.to_string()))
    }
}

impl From<&RawMessage> for Outbound {
    fn from(message: &RawMessage) -> Self {
        match message {
            RawMessage::Text(text) => Outbound::text(text),
            RawMessage::Binary(bytes) => Outbound::binary(bytes),
        }
    }
}

impl From<RawMessage> for Outbound {
    fn from(message: RawMessage) -> Self {
        Outbound::from(&message)
    }
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_binary() {
            return f.debug_tuple("Outbound::binary").field(&self.payload().len()).finish();
        }
        let text = String::from_utf8_lossy(self.payload());
        f.debug_tuple("Outbound").field(&text).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_compressed_once_for_every_compressing_recipient() {
        let deflate = Deflate { threshold: 64, level: 1, window_bits: 15 };
        let message = Outbound::text(&"{\"type\":\"x\",\"data\":\"abcabcabc\"}".repeat(20));
        let first = message.frame_for(Some(&deflate));
        let second = message.frame_for(Some(&deflate));
        assert_ne!(first, message.frame, "compressed");
        assert_eq!(first.as_ptr(), second.as_ptr(), "the same bytes, not a second compression");
        assert_eq!(
            message.frame_for(None).as_ptr(),
            message.frame.as_ptr(),
            "plain recipients get the plain frame"
        );
        let narrow = Deflate { window_bits: 8, ..deflate };
        assert_eq!(
            message.frame_for(Some(&narrow)).as_ptr(),
            message.frame.as_ptr(),
            "too long for a 256-byte window"
        );
    }
}
