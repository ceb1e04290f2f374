//! [`ClientBuilder`]: where to connect and how to behave when the connection drops.

use std::time::Duration;

use crate::protocol::Codec;

use super::{Client, ClientError};

/// Settings of a [`Client`]; [`connect`](ClientBuilder::connect) opens it.
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), ori::client::ClientError> {
/// let client = ori::client::Client::builder("ws://127.0.0.1:3000/ws")
///     .query("token", "secret")
///     .reconnect_delay(Duration::from_millis(200))
///     .max_reconnect_attempts(10)
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) config: Config,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where to connect: the builder's URL first, then its fallbacks.
    pub(crate) urls: Vec<String>,
    pub(crate) codec: Codec,
    /// CA certificates (PEM) trusted for `wss://` instead of the system's.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) tls_roots: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) reconnect: bool,
    pub(crate) reconnect_delay: Duration,
    pub(crate) max_reconnect_delay: Duration,
    pub(crate) max_reconnect_attempts: Option<u32>,
    pub(crate) request_timeout: Duration,
    pub(crate) max_queued: usize,
    pub(crate) keepalive: Duration,
    pub(crate) event_capacity: usize,
}

impl ClientBuilder {
    pub(crate) fn new(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            config: Config {
                urls: vec![url.into()],
                codec: Codec::Json,
                tls_roots: None,
                headers: Vec::new(),
                query: Vec::new(),
                reconnect: true,
                reconnect_delay: Duration::from_millis(250),
                max_reconnect_delay: Duration::from_secs(10),
                max_reconnect_attempts: None,
                request_timeout: Duration::from_secs(10),
                max_queued: 1024,
                keepalive: Duration::from_secs(30),
                event_capacity: 1024,
            },
        }
    }

    /// Adds another address of the same service (another instance, another
    /// region), for when one goes away.
    ///
    /// [`connect`](Self::connect) tries the URLs in order until one answers;
    /// after a drop, each reconnection attempt goes to the next URL, round the
    /// list, starting after the one that dropped. Topics are joined again
    /// wherever the client lands, from the last position it saw.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), ori::client::ClientError> {
    /// let client = ori::client::Client::builder("ws://10.0.0.1:3000/ws")
    ///     .fallback_url("ws://10.0.0.2:3000/ws")
    ///     .fallback_url("ws://10.0.0.3:3000/ws")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn fallback_url(mut self, url: impl Into<String>) -> Self {
        self.config.urls.push(url.into());
        self
    }

    /// The envelopes' encoding (default JSON). [`Codec::MessagePack`] asks
    /// for the `ori.v1.msgpack` subprotocol and sends and receives binary
    /// MessagePack frames; requests, replies, pushes and errors read the same.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.config.codec = codec;
        self
    }

    /// For `wss://`: trust the CA certificates in `pem` (e.g. a private CA,
    /// or a test certificate) instead of the system's root certificates.
    /// Needs the feature `tls`.
    #[cfg(feature = "tls")]
    pub fn tls_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.tls_roots = Some(pem.into());
        self
    }

    /// Adds a header to the upgrade request (e.g. `authorization`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a query parameter to the URL (e.g. a `token`), percent-encoded.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.query.push((name.into(), value.into()));
        self
    }

    /// Whether to reconnect after the connection drops (default `true`).
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.config.reconnect = reconnect;
        self
    }

    /// First wait before reconnecting (default 250 ms); doubled after each
    /// failed attempt up to [`max_reconnect_delay`](Self::max_reconnect_delay),
    /// each wait drawn between half and all of it (jitter).
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.config.reconnect_delay = delay;
        self
    }

    /// Longest wait between attempts (default 10 s).
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.config.max_reconnect_delay = delay;
        self
    }

    /// Failed attempts in a row after which the client gives up and closes
    /// (default: never gives up).
    pub fn max_reconnect_attempts(mut self, attempts: u32) -> Self {
        self.config.max_reconnect_attempts = Some(attempts);
        self
    }

    /// Time a request waits for its reply, queueing included (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Messages waiting to be written at most (default 1024): while
    /// disconnected they wait for the next connection; past the bound, sends
    /// fail with [`ClientError::QueueFull`].
    pub fn max_queued(mut self, messages: usize) -> Self {
        self.config.max_queued = messages;
        self
    }

    /// Interval of the client's own `ping` (default 30 s); a connection silent
    /// for two intervals is considered dead and replaced.
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.config.keepalive = interval;
        self
    }

    /// Events and pushes buffered per listener (default 1024); a listener
    /// further behind misses the oldest and is told how many.
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.config.event_capacity = events.max(1);
        self
    }

    /// Connects: one attempt per URL (the [fallbacks](Self::fallback_url) in
    /// order, while none answers), succeeding once a server has accepted the
    /// connection (upgrade handler and connection guards passed). A refusal is
    /// [`ClientError::Refused`] or [`ClientError::Rejected`], and is final; an
    /// unreachable server is [`ClientError::Connect`]. Reconnection applies
    /// afterwards.
    pub async fn connect(self) -> Result<Client, ClientError> {
        Client::start(self.config).await
    }
}
