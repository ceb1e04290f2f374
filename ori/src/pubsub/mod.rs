//! Topic pub/sub: the provider trait, the in-process provider, and the
//! per-connection outbound queue.

mod in_process;
mod outbound;
pub(crate) mod outbox;
mod provider;
mod subscriber;
pub(crate) mod topics;

pub use in_process::InProcess;
pub use outbound::Outbound;
pub use provider::{PubSubProvider, Subscribed};
pub use subscriber::Subscriber;
