//! The message-type rule of PROTOCOL.md, shared with the runtime: this module
//! is the runtime's own `protocol/names.rs`, compiled into the macro crate, so
//! the compile-time check and the runtime check cannot drift.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../ori/src/protocol/names.rs"]
mod shared;

pub(crate) use shared::validate_handler_type;
