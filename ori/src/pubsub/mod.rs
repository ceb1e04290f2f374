//! Topic pub/sub: the provider trait, the in-process provider, and the
//! per-connection outbound queue.

mod in_process;
mod outbound;
pub(crate) mod outbox;
mod provider;
#[cfg(feature = "redis")]
mod redis;
mod subscriber;
pub(crate) mod topics;

#[cfg(feature = "redis")]
pub use self::redis::{RedisProvider, RedisProviderBuilder, RedisStats};
pub use in_process::InProcess;
pub use outbound::Outbound;
pub use provider::{ProviderContext, PubSubProvider, Subscribed};
pub use subscriber::Subscriber;
