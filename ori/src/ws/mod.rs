//! The WebSocket transport (RFC 6455): handshake, frame codec, the
//! per-connection driver, and the axum upgrade endpoint.

mod driver;
mod extensions;
mod handshake;
mod message_io;
mod serve;
pub(crate) mod transport;
pub(crate) mod upgrade;
