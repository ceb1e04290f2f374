//! The WebSocket transport (RFC 6455): handshake, frame codec, the
//! per-connection driver, and the axum upgrade endpoint.

mod driver;
pub(crate) mod extensions;
pub(crate) mod handshake;
pub(crate) mod message_io;
mod serve;
pub(crate) mod transport;
pub(crate) mod upgrade;
