//! Topic pub/sub: the backend interface ([`PubSubBackend`], what every
//! backend implements, with [`BackendContext`] and [`Capabilities`];
//! [`SocketCommand`] and [`CountQuery`], what it carries for the control of
//! any socket from any instance), the
//! pieces a backend is built from ([`TopicRegistry`] for the local
//! subscribers, [`Subscriber`]), the in-process backend, and the Redis
//! (feature `redis`) and NATS (feature `nats`) backends, written on that
//! interface alone.

#[cfg(any(feature = "redis", feature = "nats"))]
pub(crate) mod asking;
mod backend;
pub(crate) mod control;
#[cfg(any(feature = "redis", feature = "nats"))]
pub(crate) mod counters;
pub(crate) mod history;
mod in_process;
mod memory_history;
mod memory_presence;
#[cfg(feature = "nats")]
mod nats;
#[cfg(any(feature = "redis", feature = "nats"))]
pub(crate) mod outgoing;
#[cfg(any(feature = "redis", feature = "nats", fuzzing))]
pub(crate) mod packet;
pub(crate) mod presence;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod subscriber;
mod topics;
mod url;

#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub use self::nats::{NatsBackend, NatsBackendBuilder, NatsStats};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisBackend, RedisBackendBuilder, RedisStats};
pub use backend::{BackendContext, BackendStats, Capabilities, Capability, PubSubBackend, Subscribed};
pub use control::{CommandFuture, CountFuture, CountQuery, SocketCommand};
pub use history::{HistoryFuture, HistoryRead, Position, Recovery, Retention, epoch_changed};
pub use in_process::InProcess;
pub use presence::{
    MAX_STATE_KEYS, PresenceEntry, PresenceFuture, PresenceRead, presence_diff, presence_state,
};
pub use subscriber::Subscriber;
pub use topics::{Inserted, Removed, TopicRegistry};
pub use url::{IntoBackend, from_url};
