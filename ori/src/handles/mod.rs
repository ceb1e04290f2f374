//! The handles user code holds: [`Socket`] and [`SocketContext`] (one
//! connection), [`Sockets`] (every connection: server-level pub/sub), and
//! [`AppContext`] (sockets and providers), [`Provided`] (a provider in
//! an HTTP handler), and presence from the app's side ([`Presence`]). They share one `AppShared`: the registry of open
//! connections, admission, the pub/sub backend and the providers.

pub(crate) mod app_context;
pub(crate) mod presence;
pub(crate) mod provided;
pub(crate) mod socket;
pub(crate) mod sockets;

pub use app_context::AppContext;
pub use presence::Presence;
pub use provided::{NotProvided, Provided};
pub use socket::{Socket, SocketContext};
pub use sockets::Sockets;
