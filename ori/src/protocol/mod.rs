//! The wire protocol (PROTOCOL.md): name rules, message parsing and encoding.

pub(crate) mod encode;
pub(crate) mod envelope;
mod names;

pub use envelope::MAX_CORRELATION_ID_LEN;
pub use names::{
    BROADCAST_TOPIC, MAX_TOPIC_LEN, MAX_TYPE_LEN, NameError, is_reserved_topic, is_reserved_type,
    validate_handler_type, validate_topic, validate_type,
};
