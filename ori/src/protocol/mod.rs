//! PROTOCOL.md in code: name rules, envelope parsing, the JSON of every
//! server message, replies from a handler's value to their frame
//! ([`IntoReply`]), the codecs of the subprotocols ([`Codec`]), the error
//! object ([`SocketError`]), typed pushes ([`SocketMessage`]), raw
//! messages, and what goes out to a connection ([`Outbound`], encoded once
//! per publish).

pub(crate) mod codec;
pub(crate) mod encode;
pub(crate) mod envelope;
mod escapes;
pub(crate) mod names;
pub(crate) mod outbound;
mod plain_envelope;
pub(crate) mod position;
pub(crate) mod push;
pub(crate) mod raw;
pub(crate) mod reply;
pub(crate) mod socket_error;

pub use codec::{Codec, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, json_to_msgpack, msgpack_to_json};
pub use envelope::MAX_CORRELATION_ID_LEN;
pub use names::{
    BROADCAST_TOPIC, MAX_TOPIC_LEN, MAX_TYPE_LEN, NameError, is_reserved_topic, is_reserved_type,
    validate_handler_type, validate_topic, validate_type,
};
pub use outbound::Outbound;
pub use push::SocketMessage;
pub use raw::RawMessage;
pub use reply::{Data, IntoRawReply, IntoReply};
pub use socket_error::SocketError;

/// The subprotocols every envelope endpoint accepts, in the server's order.
pub(crate) const SUBPROTOCOLS: &[&str] = &[JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL];
