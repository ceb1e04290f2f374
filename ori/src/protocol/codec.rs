//! [`Codec`]: how envelopes travel on a connection, chosen by subprotocol.
//! JSON in text frames (`ori.v1.json`, the default), or MessagePack in binary
//! frames (`ori.v1.msgpack`): the same envelope as a MessagePack map with the
//! keys `type`, `data`, `correlationId` and `error`.
//!
//! The server speaks JSON inside; a MessagePack connection's envelopes are
//! transcoded at its edge (value by value, with no intermediate tree), so
//! handlers, guards, typed `data` and replies are the same for both codecs,
//! and a publish is transcoded once for all its MessagePack subscribers.

use bytes::Bytes;

use crate::wire::frame::{FrameBuf, OpCode, split_frame};

/// The subprotocol of JSON envelopes (the default when a client asks for none).
pub const JSON_SUBPROTOCOL: &str = "ori.v1.json";
/// The subprotocol of MessagePack envelopes in binary frames.
pub const MSGPACK_SUBPROTOCOL: &str = "ori.v1.msgpack";

/// The encoding of a connection's envelopes.
///
/// ```
/// use ori::protocol::Codec;
///
/// assert_eq!(Codec::MessagePack.subprotocol(), "ori.v1.msgpack");
/// assert_eq!(Codec::from_subprotocol("ori.v1.json"), Some(Codec::Json));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Codec {
    /// JSON text frames (`ori.v1.json`; also what a client that names no
    /// subprotocol speaks).
    #[default]
    Json,
    /// MessagePack binary frames (`ori.v1.msgpack`).
    MessagePack,
}

impl Codec {
    /// The subprotocol that selects this codec.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Codec::Json => JSON_SUBPROTOCOL,
            Codec::MessagePack => MSGPACK_SUBPROTOCOL,
        }
    }

    /// A short name: `json` or `msgpack`.
    ///
    /// ```
    /// assert_eq!(ori::protocol::Codec::MessagePack.name(), "msgpack");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::MessagePack => "msgpack",
        }
    }

    /// The codec a subprotocol selects, if it is one of ori's.
    pub fn from_subprotocol(name: &str) -> Option<Codec> {
        match name {
            JSON_SUBPROTOCOL => Some(Codec::Json),
            MSGPACK_SUBPROTOCOL => Some(Codec::MessagePack),
            _ => None,
        }
    }
}

/// Arrays and maps nested this deep in a MessagePack message are refused:
/// serde_json refuses the JSON they would make (its recursion limit).
const MAX_DEPTH: usize = 128;

/// A MessagePack value as JSON text; the error says what is wrong.
pub fn msgpack_to_json(msgpack: &[u8]) -> Result<String, String> {
    let mut de = rmp_serde::Deserializer::new(msgpack);
    // The JSON is read with serde_json: the same bound, so that what
    // converts can be read.
    de.set_max_depth(MAX_DEPTH);
    let mut out = Vec::with_capacity(msgpack.len() + msgpack.len() / 2 + 16);
    let mut ser = serde_json::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| format!("not valid MessagePack: {e}"))?;
    if !de.get_ref().is_empty() {
        return Err("not valid MessagePack: bytes after the first value".to_owned());
    }
    String::from_utf8(out).map_err(|_| "not valid MessagePack: a string is not UTF-8".to_owned())
}

/// A JSON text as MessagePack, written into `out`; `false` if it is not JSON.
pub fn json_to_msgpack(json: &[u8], out: &mut impl std::io::Write) -> bool {
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut ser = rmp_serde::Serializer::new(out);
    serde_transcode::transcode(&mut de, &mut ser).is_ok() && de.end().is_ok()
}

/// A server text frame (a JSON envelope) as the binary frame of a MessagePack
/// connection; `None` for anything else (binary and control frames, text
/// that is not JSON), which such a connection receives as it is.
pub(crate) fn msgpack_frame(frame: &[u8]) -> Option<Bytes> {
    let (opcode, compressed, payload) = split_frame(frame);
    if opcode != OpCode::Text.bits() || compressed {
        return None;
    }
    let mut out = FrameBuf::new(OpCode::Binary, payload.len());
    json_to_msgpack(payload, &mut out).then(|| out.finish().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::frame;

    /// Found by the `msgpack` fuzz target: MessagePack nested deeper than
    /// serde_json reads converted to JSON that could not be read back.
    #[test]
    fn messagepack_nested_deeper_than_json_reads_is_refused() {
        let nested = |depth: usize| {
            let mut packed = vec![0x91; depth]; // arrays of one element
            packed.push(0x05);
            packed
        };
        for depth in [1, 126, 127, 128, 129, 200] {
            let converted = msgpack_to_json(&nested(depth));
            let read_back = converted.as_ref().map(|json| json_to_msgpack(json.as_bytes(), &mut Vec::new()));
            match converted {
                Ok(_) => assert_eq!(read_back, Ok(true), "depth {depth} converts, so it reads back"),
                Err(ref e) => assert!(depth >= MAX_DEPTH && e.contains("depth"), "depth {depth}: {e}"),
            }
        }
        assert!(msgpack_to_json(&nested(MAX_DEPTH - 1)).is_ok(), "as deep as JSON goes");
    }

    /// Found by the `msgpack` fuzz target: a 32-bit float's JSON, read back
    /// as a 64-bit one, keeps its value (serde_json's `float_roundtrip`).
    #[test]
    fn floats_keep_their_value_through_json() {
        let f32_packed = [0xca, 0xff, 0x63, 0x63, 0xca];
        let json = msgpack_to_json(&f32_packed).unwrap();
        let mut packed = Vec::new();
        assert!(json_to_msgpack(json.as_bytes(), &mut packed));
        let again = msgpack_to_json(&packed).unwrap();
        let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert_eq!(value(&json), value(&again), "{json} then {again}");
    }

    #[test]
    fn envelopes_round_trip_through_messagepack() {
        let json = r#"{"type":"chat.say","data":{"text":"héllo","n":-3,"big":18446744073709551615,"x":1.5,"ok":true,"none":null,"list":[1,"a"]},"correlationId":"c1"}"#;
        let mut packed = Vec::new();
        assert!(json_to_msgpack(json.as_bytes(), &mut packed));
        assert!(packed.len() < json.len());
        assert_eq!(msgpack_to_json(&packed).unwrap(), json);
        let binary = msgpack_frame(&frame(OpCode::Text, json.as_bytes())).unwrap();
        let (opcode, _, payload) = split_frame(&binary);
        assert_eq!((opcode, payload), (OpCode::Binary.bits(), packed.as_slice()));
    }

    #[test]
    fn what_is_not_json_or_not_messagepack_is_said() {
        assert_eq!(msgpack_frame(&frame(OpCode::Text, b"plain words")), None, "sent as it is");
        assert_eq!(msgpack_frame(&frame(OpCode::Binary, b"\x01")), None);
        assert!(msgpack_to_json(&[0xc1]).unwrap_err().starts_with("not valid MessagePack"));
        assert_eq!(
            msgpack_to_json(&[0x81, 0x01, 0x02]).unwrap(),
            r#"{"1":2}"#,
            "integer keys become strings"
        );
        assert!(msgpack_to_json(&[0x81, 0x90, 0x02]).is_err(), "a map key that is an array");
        assert!(msgpack_to_json(&[0x01, 0x02]).unwrap_err().contains("after the first value"));
        assert_eq!(
            msgpack_to_json(&[0xc4, 0x02, 0xde, 0xad]).unwrap(),
            "[222,173]",
            "bin as an array of bytes"
        );
    }
}
