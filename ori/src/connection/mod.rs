//! Connections: the state one connection's handles share ([`core`]), its
//! outbound queue and how it reaches the socket, its id and states, the
//! registry of live connections, and the handles user code holds
//! ([`Socket`], [`SocketContext`], [`Sockets`], [`AppContext`]).

pub(crate) mod context;
pub(crate) mod core;
pub(crate) mod direct;
pub(crate) mod outbox;
pub(crate) mod registry;
pub(crate) mod socket;
pub(crate) mod socket_id;
pub(crate) mod sockets;
pub(crate) mod state;
pub(crate) mod write;

pub use context::AppContext;
pub use socket::{Socket, SocketContext};
pub use socket_id::SocketId;
pub use sockets::Sockets;
pub use state::StateKey;
