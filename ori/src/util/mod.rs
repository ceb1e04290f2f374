//! Small utilities with no knowledge of WebSockets or of ori's protocol.

#[cfg(any(feature = "redis", feature = "nats", feature = "client"))]
pub(crate) mod backoff;
#[cfg(feature = "tls")]
pub(crate) mod crypto;
pub(crate) mod panic;
pub(crate) mod random;
pub(crate) mod redact;
pub(crate) mod scratch;
pub(crate) mod sync;
pub(crate) mod tracker;
