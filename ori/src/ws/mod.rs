//! The WebSocket transport: handshake, frame codec, per-connection driver.

mod connection;
pub(crate) mod direct;
mod driver;
pub(crate) mod endpoint;
pub(crate) mod frame;
mod frame_io;
mod handshake;
pub(crate) mod transport;
