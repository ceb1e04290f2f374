//! The handles user code holds: [`Socket`] and [`SocketContext`] (one
//! connection), [`Sockets`] (every connection: server-level pub/sub), and
//! [`AppContext`] (sockets and providers), [`Provided`] (a provider in
//! an HTTP handler), presence from the app's side ([`Presence`]), and what
//! is open on this instance ([`ConnectionInfo`], [`TopicInfo`]). They share one `AppShared`: the registry of open
//! connections, admission, the pub/sub backend and the providers.

pub(crate) mod app_context;
mod control;
pub(crate) mod introspection;
pub(crate) mod presence;
pub(crate) mod provided;
pub(crate) mod socket;
pub(crate) mod sockets;

pub use app_context::AppContext;
pub use introspection::{ConnectionInfo, TopicInfo};
pub use presence::Presence;
pub use provided::{NotProvided, Provided};
pub use socket::{Socket, SocketContext};
pub use sockets::Sockets;
