//! The wire protocol (PROTOCOL.md): name rules, envelope parsing, every
//! encoding of an outgoing message.

mod codec;
pub(crate) mod encode;
pub(crate) mod envelope;
mod escapes;
pub(crate) mod names;
mod plain_envelope;
mod push;
mod raw;
mod socket_error;

pub use envelope::MAX_CORRELATION_ID_LEN;

pub(crate) use codec::msgpack_frame;
pub use codec::{Codec, JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL, json_to_msgpack, msgpack_to_json};

/// The subprotocols every envelope endpoint accepts, in the server's order.
pub(crate) const SUBPROTOCOLS: &[&str] = &[JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL];
pub use names::{
    BROADCAST_TOPIC, MAX_TOPIC_LEN, MAX_TYPE_LEN, NameError, is_reserved_topic, is_reserved_type,
    validate_handler_type, validate_topic, validate_type,
};
pub use push::SocketMessage;
pub use raw::RawMessage;
pub use socket_error::SocketError;
