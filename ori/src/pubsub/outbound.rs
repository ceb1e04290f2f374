//! [`Outbound`]: a server message encoded once as a WebSocket frame and shared
//! by every recipient.

use bytes::Bytes;
use serde::Serialize;

use crate::SocketMessage;
use crate::protocol::RawMessage;
use crate::protocol::encode;
use std::sync::OnceLock;

use crate::protocol::{Codec, msgpack_frame};
use crate::wire::deflate::{Deflate, deflate_frame};
use crate::wire::frame::{OpCode, split_frame};
use crate::wire::frame_buf::frame_with_header;

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
    /// The other encodings of the message, each made by the first recipient
    /// that needs it and shared by the others. Allocated only when a
    /// recipient compresses or speaks MessagePack.
    encodings: OnceLock<Box<Encodings>>,
}

/// See [`Outbound::frame_for`]; `None`: that encoding does not apply.
#[derive(Clone, Default)]
struct Encodings {
    /// The frame compressed with permessage-deflate.
    deflated: OnceLock<Option<Bytes>>,
    /// As a MessagePack binary frame (`None`: not JSON; sent as it is).
    msgpack: OnceLock<Option<Bytes>>,
    /// The MessagePack frame compressed.
    msgpack_deflated: OnceLock<Option<Bytes>>,
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
        Outbound::from_frame(frame_with_header(OpCode::Text, text.as_bytes()))
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
        Outbound::from_frame(frame_with_header(OpCode::Binary, bytes))
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
        Outbound { frame, header_len: header_len as u8, encodings: OnceLock::new() }
    }

    /// The frame to send to a connection with `codec` and `deflate`:
    /// transcoded for MessagePack, compressed when compression applies. Each
    /// encoding is made once, for every connection that takes it, however
    /// many subscribers the message reaches.
    pub(crate) fn frame_for(&self, codec: Codec, deflate: Option<&Deflate>) -> Bytes {
        if codec == Codec::Json && deflate.is_none() {
            return self.frame.clone();
        }
        let encodings = self.encodings.get_or_init(Box::default);
        let (base, deflated) = match codec {
            Codec::Json => (&self.frame, &encodings.deflated),
            Codec::MessagePack => match encodings.msgpack.get_or_init(|| msgpack_frame(&self.frame)) {
                Some(packed) => (packed, &encodings.msgpack_deflated),
                None => (&self.frame, &encodings.deflated),
            },
        };
        if let Some(deflate) = deflate
            && deflate.applies_to(split_frame(base).2.len())
            && let Some(compressed) = deflated.get_or_init(|| deflate_frame(base, deflate))
        {
            return compressed.clone();
        }
        base.clone()
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
    fn each_encoding_is_made_once_for_every_recipient_that_takes_it() {
        let deflate = Deflate { threshold: 64, level: 1, window_bits: 15 };
        let message = Outbound::text(&format!(r#"{{"type":"x","data":"{}"}}"#, "abc".repeat(100)));
        let json = Codec::Json;
        let first = message.frame_for(json, Some(&deflate));
        assert_ne!(first, message.frame, "compressed");
        let again = message.frame_for(json, Some(&deflate));
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same bytes, not a second compression");
        let plain = message.frame_for(json, None);
        assert_eq!(plain.as_ptr(), message.frame.as_ptr(), "plain recipients get the plain frame");
        let narrow = Deflate { window_bits: 8, ..deflate };
        let too_long = message.frame_for(json, Some(&narrow));
        assert_eq!(too_long.as_ptr(), message.frame.as_ptr(), "too long for a 256-byte window");

        let packed = message.frame_for(Codec::MessagePack, None);
        assert_eq!(packed[0], 0x82, "a final binary frame");
        let again = message.frame_for(Codec::MessagePack, None);
        assert_eq!(packed.as_ptr(), again.as_ptr(), "transcoded once");
        let packed_deflated = message.frame_for(Codec::MessagePack, Some(&deflate));
        assert_eq!(packed_deflated[0], 0xC2, "binary, RSV1");
        let again = message.frame_for(Codec::MessagePack, Some(&deflate));
        assert_eq!(packed_deflated.as_ptr(), again.as_ptr());
        let words = Outbound::text("not json");
        assert_eq!(
            words.frame_for(Codec::MessagePack, None),
            words.frame,
            "text that is not JSON goes as it is"
        );
    }
}
