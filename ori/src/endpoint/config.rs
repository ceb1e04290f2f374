//! [`WebSocketConfig`]: a WebSocket endpoint's path and limits.

use std::time::Duration;

use crate::endpoint::compression::Compression;
use crate::endpoint::rate_limit::RateLimit;
use crate::error::Error;

/// Settings of one WebSocket endpoint. Every limit has a default suited to
/// production; change what your application needs. (What is the same for
/// every endpoint of an app, the pub/sub backend and the shutdown grace, is
/// set on [`Ori`](crate::Ori).)
///
/// | setting | default | when exceeded |
/// | --- | --- | --- |
/// | [`path`](Self::path) | `/ws` | |
/// | [`max_message_size`](Self::max_message_size) | 64 KiB | close 1009 |
/// | [`outbound_queue_bytes`](Self::outbound_queue_bytes) | 1 MiB | close 1013 (slow consumer) |
/// | [`max_subscriptions`](Self::max_subscriptions) | 256 per connection | `forbidden` |
/// | [`max_in_flight`](Self::max_in_flight) | 64 handlers per connection | reading pauses |
/// | [`idle_timeout`](Self::idle_timeout) | 120 s | ping at half, then close 1000 |
/// | [`max_connections`](Self::max_connections) | unlimited | HTTP 503 |
/// | [`allowed_origins`](Self::allowed_origins) | any | HTTP 403 |
/// | [`upgrade_timeout`](Self::upgrade_timeout) | 5 s | HTTP 500 |
/// | [`guard_timeout`](Self::guard_timeout) | 5 s | close 1008 |
/// | [`close_timeout`](Self::close_timeout) | 5 s | TCP closed |
/// | [`compression`](Self::compression) | off | |
/// | [`rate_limit`](Self::rate_limit) | off | `rate_limited`, then close 1008 |
/// | [`max_connections_per_ip`](Self::max_connections_per_ip) | unlimited | HTTP 429 |
/// | [`connection_rate_per_ip`](Self::connection_rate_per_ip) | unlimited | HTTP 429 |
/// | [`reauthentication`](Self::reauthentication) | off | close 1008 past the grace |
///
/// ```
/// use std::time::Duration;
/// use ori::WebSocketConfig;
///
/// let config = WebSocketConfig::default()
///     .path("/realtime")
///     .max_message_size(256 * 1024)
///     .idle_timeout(Duration::from_secs(60))
///     .allowed_origins(["https://app.example.com"]);
/// ```
#[derive(Clone)]
pub struct WebSocketConfig {
    pub(crate) path: String,
    pub(crate) max_message_size: usize,
    pub(crate) outbound_queue_bytes: usize,
    pub(crate) max_subscriptions: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: Option<usize>,
    pub(crate) allowed_origins: Option<Vec<String>>,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) guard_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) subprotocols: Vec<String>,
    pub(crate) compression: Option<Compression>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) max_connections_per_ip: Option<usize>,
    /// New connections a second from one address, and the burst.
    pub(crate) connection_rate_per_ip: Option<(u32, u32)>,
    /// Re-authentication is on, with this grace for expired credentials.
    pub(crate) reauthentication: Option<Duration>,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            path: "/ws".to_owned(),
            max_message_size: 64 * 1024,
            outbound_queue_bytes: 1024 * 1024,
            max_subscriptions: 256,
            max_in_flight: 64,
            idle_timeout: Duration::from_secs(120),
            max_connections: None,
            allowed_origins: None,
            upgrade_timeout: Duration::from_secs(5),
            guard_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(5),
            subprotocols: Vec::new(),
            compression: None,
            rate_limit: None,
            reauthentication: None,
            max_connections_per_ip: None,
            connection_rate_per_ip: None,
        }
    }
}

impl WebSocketConfig {
    /// The URL path of the WebSocket endpoint (default `/ws`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Largest inbound message, in bytes, after reassembling fragments
    /// (default 64 KiB). A larger one closes the connection with 1009.
    /// Replies and pushes are not limited by it.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Bound of each connection's outbound queue, in bytes (default 1 MiB).
    /// A connection that falls this far behind is closed with 1013; its queued
    /// messages are discarded. A single larger message still fits an empty queue.
    pub fn outbound_queue_bytes(mut self, bytes: usize) -> Self {
        self.outbound_queue_bytes = bytes;
        self
    }

    /// Topics one connection may join (default 256); past it, `subscribe` is `forbidden`.
    pub fn max_subscriptions(mut self, count: usize) -> Self {
        self.max_subscriptions = count;
        self
    }

    /// How many messages (and bytes) each connection may send (default: no
    /// limit). Past it a message is answered `rate_limited` and not
    /// dispatched; more refused messages in a row than the burst close the
    /// connection with 1008 `too many requests`. Off by default: a limit
    /// right for one app (a chat) is wrong for another (a game's inputs),
    /// and ori already bounds what one connection costs (message size,
    /// handlers in flight, queue bytes); set one for endpoints open to
    /// clients you do not control.
    ///
    /// ```
    /// let config = ori::WebSocketConfig::default().rate_limit(ori::RateLimit::messages(50, 100));
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Connections one remote address may hold at once (default: no limit);
    /// past it the upgrade is refused with HTTP 429. Behind a proxy every
    /// client has the proxy's address: set it where clients connect directly.
    pub fn max_connections_per_ip(mut self, count: usize) -> Self {
        self.max_connections_per_ip = Some(count);
        self
    }

    /// New connections one remote address may open a second, with a burst
    /// (default: no limit); past it the upgrade is refused with HTTP 429.
    pub fn connection_rate_per_ip(mut self, per_sec: u32, burst: u32) -> Self {
        self.connection_rate_per_ip = Some((per_sec, burst));
        self
    }

    /// Handlers one connection may have running at once (default 64). At the
    /// limit the server stops reading from that connection until one finishes.
    pub fn max_in_flight(mut self, count: usize) -> Self {
        self.max_in_flight = count;
        self
    }

    /// A connection that sends nothing (not even a pong) for this long is
    /// closed with 1000 `idle timeout` (default 120 s). The server sends a
    /// WebSocket ping after about half of it; the close comes between one and
    /// one and a half times the timeout.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Most connections at once (default unlimited); further upgrades get HTTP 503.
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = Some(count);
        self
    }

    /// Origins allowed to open a WebSocket (exact `Origin` header values such as
    /// `https://app.example.com`); others get HTTP 403. Requests without an
    /// `Origin` header (non-browser clients) are allowed. Default: any origin.
    ///
    /// Set it when browsers authenticate with cookies, to stop other sites from
    /// opening sockets in your users' name (cross-site WebSocket hijacking).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Time the upgrade handler may take (default 5 s); past it, HTTP 500.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.upgrade_timeout = timeout;
        self
    }

    /// Lets clients re-authenticate (PROTOCOL.md, "Re-authentication"): a
    /// `__reauthenticate` message carries new credentials (query parameters
    /// and headers that replace the upgrade request's), the connection
    /// guards run again on them, and the connection goes on with their new
    /// states, or is closed with 1008. When a guard's
    /// [`expires_at`](crate::ConnectionGuard::expires_at) passes and the
    /// guards refuse the credentials the connection has, the client is asked
    /// for new ones and has `grace` to send them. Off by default: the server
    /// then keeps no upgrade request past the guards (it costs the request's
    /// headers per connection), a `__reauthenticate` is answered
    /// `unsupported`, and expired credentials close the connection at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = ori::WebSocketConfig::default().reauthentication(Duration::from_secs(10));
    /// ```
    pub fn reauthentication(mut self, grace: Duration) -> Self {
        self.reauthentication = Some(grace);
        self
    }

    /// Time each connection guard may take (default 5 s); past it, close 1008.
    pub fn guard_timeout(mut self, timeout: Duration) -> Self {
        self.guard_timeout = timeout;
        self
    }

    /// Time to wait for the client's close frame after sending ours (default 5 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Subprotocols of the application's own that this endpoint accepts
    /// (`Sec-WebSocket-Protocol`), besides the envelope endpoint's built-in
    /// `ori.v1.json`. The server picks the first of the client's list that the
    /// endpoint accepts and names it in the 101; a client that lists only
    /// others gets HTTP 400 naming the accepted ones. Guards and handlers read
    /// the choice with [`UpgradeRequest::subprotocol`](crate::UpgradeRequest::subprotocol)
    /// and [`Socket::subprotocol`](crate::Socket::subprotocol).
    ///
    /// ```
    /// use ori::{RawWebSocket, WebSocketConfig};
    ///
    /// let mqtt = RawWebSocket::new(WebSocketConfig::default().path("/mqtt").subprotocols(["mqtt"]));
    /// ```
    pub fn subprotocols<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols = names.into_iter().map(Into::into).collect();
        self
    }

    /// Negotiates permessage-deflate with clients that offer it (default:
    /// off). See [`Compression`] for what it costs and saves.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let fail = |m: &str| Err(Error::InvalidConfig(m.to_owned()));
        if !self.path.starts_with('/') {
            return fail("the WebSocket path must start with `/`");
        }
        if self.max_message_size == 0 || self.outbound_queue_bytes == 0 || self.max_in_flight == 0 {
            return fail("max_message_size, outbound_queue_bytes and max_in_flight must be positive");
        }
        if self.max_message_size > u32::MAX as usize {
            return fail("max_message_size must be at most 4 GiB");
        }
        if self.idle_timeout < Duration::from_millis(100) {
            return fail("idle_timeout must be at least 100 ms");
        }
        for name in &self.subprotocols {
            // RFC 6455 section 4.1: a subprotocol name is an HTTP token.
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                return Err(Error::InvalidConfig(format!(
                    "subprotocol `{name}` is not a valid name (letters, digits and !#$%&'*+-.^_`|~)"
                )));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for WebSocketConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketConfig")
            .field("path", &self.path)
            .field("max_message_size", &self.max_message_size)
            .field("outbound_queue_bytes", &self.outbound_queue_bytes)
            .field("max_subscriptions", &self.max_subscriptions)
            .field("max_in_flight", &self.max_in_flight)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("allowed_origins", &self.allowed_origins)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("guard_timeout", &self.guard_timeout)
            .field("reauthentication", &self.reauthentication)
            .field("close_timeout", &self.close_timeout)
            .field("subprotocols", &self.subprotocols)
            .field("compression", &self.compression)
            .field("rate_limit", &self.rate_limit)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("connection_rate_per_ip", &self.connection_rate_per_ip)
            .finish_non_exhaustive()
    }
}
