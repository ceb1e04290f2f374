//! One connection's machinery, below the handles user code holds: the state
//! its handles share ([`core`]), its outbound queue ([`outbox`]) and how
//! that queue reaches the socket ([`write`], [`direct`] writes, [`handoff`]s
//! to other workers), its id and connection states, the registry of open
//! connections, and admission.

pub(crate) mod admission;
pub(crate) mod core;
pub(crate) mod direct;
pub(crate) mod handoff;
pub(crate) mod outbox;
pub(crate) mod per_ip;
pub(crate) mod registry;
pub(crate) mod socket_id;
pub(crate) mod state;
pub(crate) mod write;

pub use socket_id::SocketId;
