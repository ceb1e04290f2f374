//! The WebSocket transport (RFC 6455): handshake, frame codec, the
//! per-connection driver, and the axum upgrade endpoint.

mod driver;
mod extensions;
mod frame_io;
mod handshake;
mod serve;
pub(crate) mod transport;
pub(crate) mod upgrade;
