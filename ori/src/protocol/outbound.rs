//! What goes out to a connection: [`Outbound`], a server message encoded
//! once as a WebSocket frame and shared by every recipient, and
//! [`Encoding`], what a connection agreed to receive (its codec and its
//! compression). One function, [`Encoding::encode`] with or without a
//! publish's kept encodings, turns a frame into a connection's encoding, for
//! replies and pushes alike.

use std::sync::OnceLock;

use bytes::Bytes;
use serde::Serialize;

use crate::protocol::codec::{Codec, msgpack_frame, msgpack_to_json};
use crate::protocol::encode;
use crate::protocol::position::{add_position, check_positionable};
use crate::protocol::push::SocketMessage;
use crate::protocol::raw::RawMessage;
use crate::wire::deflate::{Deflate, deflate_frame};
use crate::wire::frame::{OpCode, frame_with_header, split_frame};

/// How a connection receives its messages, agreed at the upgrade: the
/// envelopes' codec (MessagePack connections get JSON transcoded) and
/// permessage-deflate, if negotiated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Encoding {
    pub(crate) codec: Codec,
    pub(crate) deflate: Option<Deflate>,
}

impl Encoding {
    /// JSON, uncompressed: frames go out as they were built.
    pub(crate) const PLAIN: Encoding = Encoding { codec: Codec::Json, deflate: None };

    /// Whether frames go out as they were built.
    pub(crate) fn is_plain(&self) -> bool {
        self.codec == Codec::Json && self.deflate.is_none()
    }

    /// `frame`, a server frame as built (a JSON envelope in a text frame, or
    /// text or binary sent as is), in this encoding: transcoded to a
    /// MessagePack binary frame for a MessagePack connection, then compressed
    /// when compression applies. What cannot be transcoded or does not shrink
    /// goes as it is.
    pub(crate) fn encode(&self, frame: Bytes) -> Bytes {
        if self.is_plain() { frame } else { self.encode_keeping(&frame, None) }
    }

    /// [`encode`](Self::encode), keeping each step's result in `kept` when
    /// given (a publish's encodings, made once for all its recipients).
    fn encode_keeping(&self, frame: &Bytes, kept: Option<&Encodings>) -> Bytes {
        let transcoded;
        let (base, deflated) = match self.codec {
            Codec::Json => (frame, kept.map(|k| &k.deflated)),
            Codec::MessagePack => {
                let packed = match kept {
                    Some(kept) => kept.msgpack.get_or_init(|| msgpack_frame(frame)).clone(),
                    None => msgpack_frame(frame),
                };
                match packed {
                    Some(packed) => {
                        transcoded = packed;
                        (&transcoded, kept.map(|k| &k.msgpack_deflated))
                    }
                    None => (frame, kept.map(|k| &k.deflated)),
                }
            }
        };
        // Checked before the kept result is used: recipients share it, and
        // one whose window is too narrow for this message takes it plain.
        let Some(deflate) = self.deflate.filter(|d| d.applies_to(split_frame(base).2.len())) else {
            return base.clone();
        };
        let compressed = match deflated {
            Some(slot) => slot.get_or_init(|| deflate_frame(base, &deflate)).clone(),
            None => deflate_frame(base, &deflate),
        };
        compressed.unwrap_or_else(|| base.clone())
    }
}

/// A message, text or binary, ready to be written to any number of connections.
///
/// The frame is encoded once; cloning shares the bytes (a reference count), so
/// publishing to N subscribers copies nothing per subscriber.
///
/// ```
/// let m = ori::Outbound::text(r#"{"type":"chat.message","data":"hi"}"#);
/// assert_eq!(m.payload(), br#"{"type":"chat.message","data":"hi"}"#);
/// ```
#[derive(Clone)]
pub struct Outbound {
    frame: Bytes,
    header_len: u8,
    /// The message's place in its sequence: its offset on a history topic,
    /// or the version of a presence diff; 0: none.
    offset: u64,
    /// The other encodings of the message, each made by the first recipient
    /// that needs it and shared by the others. Allocated only when a
    /// recipient compresses or speaks MessagePack.
    encodings: OnceLock<Box<Encodings>>,
}

/// The encodings of one message other than its own frame, each made by the
/// first recipient that needs it ([`Encoding::encode_keeping`]); `None`:
/// that encoding does not apply.
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
    /// let m = ori::Outbound::binary(&[1, 2, 3]);
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
        Outbound { frame, header_len: header_len as u8, offset: 0, encodings: OnceLock::new() }
    }

    /// The frame to send to a connection that receives `encoding`. Each
    /// encoding is made once, for every connection that takes it, however
    /// many subscribers the message reaches.
    pub(crate) fn frame_for(&self, encoding: Encoding) -> Bytes {
        if encoding.is_plain() {
            return self.frame.clone();
        }
        encoding.encode_keeping(&self.frame, Some(self.encodings.get_or_init(Box::default)))
    }

    /// The message text (the frame without its WebSocket header).
    pub fn payload(&self) -> &[u8] {
        &self.frame[usize::from(self.header_len)..]
    }

    /// The message as it may be kept on a topic that keeps history: a JSON
    /// object without top-level `topic` or `offset` keys (a binary message
    /// must be a MessagePack map, and becomes its JSON). The error says what
    /// the message is instead.
    ///
    /// ```
    /// let ok = ori::Outbound::text(r#"{"type":"chat.message","data":"hi"}"#);
    /// assert!(ok.to_positionable().is_ok());
    /// assert!(ori::Outbound::text("[1, 2]").to_positionable().is_err());
    /// ```
    pub fn to_positionable(&self) -> Result<Outbound, String> {
        if !self.is_binary() {
            // Checked in place: the frame is shared, not copied.
            check_positionable(self.payload())?;
            return Ok(self.clone());
        }
        let json = msgpack_to_json(self.payload())
            .map_err(|e| format!("a binary message must be a MessagePack map: {e}"))?;
        check_positionable(json.as_bytes())?;
        Ok(Outbound::text(&json))
    }

    /// This message (a JSON object, see [`to_positionable`](Self::to_positionable))
    /// at `offset` of the history topic `topic`: with the keys `"topic"` and
    /// `"offset"` added, as every subscriber of the topic receives it.
    ///
    /// ```
    /// let m = ori::Outbound::text(r#"{"type":"chat.message","data":"hi"}"#);
    /// let kept = m.with_position("room:1", 58);
    /// assert_eq!(kept.payload(), br#"{"type":"chat.message","data":"hi","topic":"room:1","offset":58}"#);
    /// assert_eq!(kept.offset(), Some(58));
    /// ```
    pub fn with_position(&self, topic: &str, offset: u64) -> Outbound {
        let positioned = add_position(self.payload(), topic, offset);
        let mut message = Outbound::from_frame(frame_with_header(OpCode::Text, &positioned));
        message.offset = offset;
        message
    }

    /// The offset of this message on its history topic, if it has one
    /// ([`with_position`](Self::with_position)), or the version of a
    /// presence diff ([`presence_diff`](crate::pubsub::presence_diff)).
    pub fn offset(&self) -> Option<u64> {
        (self.offset != 0).then_some(self.offset)
    }

    /// This message as the change `version` of a sequence: a presence diff
    /// that a backend built itself (its [`offset`](Self::offset) is then
    /// `version`, which orders it against the state a watcher got first).
    pub fn at_version(mut self, version: u64) -> Outbound {
        self.offset = version;
        self
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

impl From<&str> for Outbound {
    fn from(text: &str) -> Self {
        Outbound::text(text)
    }
}

impl From<String> for Outbound {
    fn from(text: String) -> Self {
        Outbound::text(&text)
    }
}

impl From<&String> for Outbound {
    fn from(text: &String) -> Self {
        Outbound::text(text)
    }
}

impl From<&Outbound> for Outbound {
    fn from(message: &Outbound) -> Self {
        message.clone()
    }
}

impl From<&serde_json::Value> for Outbound {
    fn from(value: &serde_json::Value) -> Self {
        Outbound::text(&value.to_string())
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
        let json = Encoding::PLAIN;
        let deflated = Encoding { deflate: Some(deflate), ..json };
        let packed_only = Encoding { codec: Codec::MessagePack, deflate: None };
        let first = message.frame_for(deflated);
        assert_ne!(first, message.frame, "compressed");
        let again = message.frame_for(deflated);
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same bytes, not a second compression");
        let plain = message.frame_for(json);
        assert_eq!(plain.as_ptr(), message.frame.as_ptr(), "plain recipients get the plain frame");
        let narrow = Deflate { window_bits: 8, ..deflate };
        let too_long = message.frame_for(Encoding { deflate: Some(narrow), ..json });
        assert_eq!(too_long.as_ptr(), message.frame.as_ptr(), "too long for a 256-byte window");

        let packed = message.frame_for(packed_only);
        assert_eq!(packed[0], 0x82, "a final binary frame");
        let again = message.frame_for(packed_only);
        assert_eq!(packed.as_ptr(), again.as_ptr(), "transcoded once");
        let packed_deflated = message.frame_for(Encoding { deflate: Some(deflate), ..packed_only });
        assert_eq!(packed_deflated[0], 0xC2, "binary, RSV1");
        let again = message.frame_for(Encoding { deflate: Some(deflate), ..packed_only });
        assert_eq!(packed_deflated.as_ptr(), again.as_ptr());
        let words = Outbound::text("not json");
        assert_eq!(words.frame_for(packed_only), words.frame, "text that is not JSON goes as it is");
    }

    #[test]
    fn a_reply_is_encoded_as_a_publish_is() {
        let deflate = Deflate { threshold: 16, level: 1, window_bits: 15 };
        let text = format!(r#"{{"type":"x","data":"{}"}}"#, "abc".repeat(40));
        let frame = Outbound::text(&text).frame;
        for codec in [Codec::Json, Codec::MessagePack] {
            for deflate in [None, Some(deflate)] {
                let encoding = Encoding { codec, deflate };
                // A fresh message each time: nothing kept from another encoding.
                let published = Outbound::text(&text).frame_for(encoding);
                assert_eq!(encoding.encode(frame.clone()), published, "{encoding:?}");
            }
        }
    }
}
