//! The WebSocket transport: handshake, frame codec, per-connection driver.

mod connection;
mod driver;
pub(crate) mod endpoint;
pub(crate) mod frame;
mod frame_io;
mod handshake;
mod transport;
