//! The TLS crypto provider of the server and the client: rustls on *ring*.

use std::sync::Arc;

/// rustls's *ring* provider: its default cipher suites and key exchanges.
///
/// rustls 0.23.48 deprecates it because *ring* has no post-quantum key
/// exchange; the provider that has one (aws-lc-rs) builds a C library with
/// cmake, which ori does not impose on every build. Terminate TLS at a load
/// balancer for post-quantum key exchange.
#[allow(deprecated)]
pub(crate) fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
