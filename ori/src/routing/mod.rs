//! Message routing: the route table, handlers and replies.

pub(crate) mod handler;
mod reply;
pub(crate) mod table;

pub use handler::{Handler, HandlerFuture, MessageHandler, guard_refusal};
pub use reply::{IntoReply, Reply};
pub use table::SocketRoutes;
