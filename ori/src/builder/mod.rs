//! The application builder: [`Ori`] (what the app is: endpoints, routes,
//! hooks, providers, app-wide settings), [`RawWebSocket`] endpoints, and the
//! [`assemble`] steps that turn them into the built app the server runs.

mod assemble;
mod describe;
pub(crate) mod ori;
pub(crate) mod raw_websocket;

pub use ori::Ori;
pub use raw_websocket::RawWebSocket;
