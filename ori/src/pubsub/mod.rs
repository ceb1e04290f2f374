//! Topic pub/sub: the backend trait ([`PubSubBackend`], the SPI a backend
//! implements), the in-process backend, the local topic registry, and the
//! Redis backend (feature `redis`).

mod backend;
mod in_process;
#[cfg(feature = "redis")]
mod redis;
mod subscriber;
pub(crate) mod topics;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisBackend, RedisBackendBuilder, RedisStats};
pub use backend::{BackendContext, PubSubBackend, Subscribed};
pub use in_process::InProcess;
pub use subscriber::Subscriber;
