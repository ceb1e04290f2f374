//! [`RawWebSocket`]: a WebSocket endpoint of its own whose messages are not
//! ori's envelopes (the seed's `open`/`message`/`close` handlers).

use crate::endpoint::config::WebSocketConfig;
use crate::hooks::{ConnectionHooks, connection_hook_setters};

/// A WebSocket endpoint that hands every complete message, text or binary,
/// to one handler as is: for clients that speak their own format (binary
/// game state, audio chunks, a foreign protocol) or an echo server. Mount it
/// with [`Ori::raw_websocket`](crate::Ori::raw_websocket), beside the
/// envelope endpoint or instead of it; each endpoint has its own path,
/// limits, upgrade handler and connection guards.
///
/// Its connections are connections of the app like any other: they can
/// subscribe, publish, receive `send_to` and broadcasts.
///
/// ```no_run
/// use ori::RawMessage;
/// use ori::{Ori, RawWebSocket, SocketContext, WebSocketConfig};
///
/// # async fn run() -> Result<(), ori::Error> {
/// let echo = RawWebSocket::new(WebSocketConfig::default().path("/echo"))
///     .on_message(|_socket: SocketContext, message: RawMessage| async move { message });
/// Ori::create().raw_websocket(echo).listen("127.0.0.1:3000").await
/// # }
/// ```
#[must_use = "a `RawWebSocket` does nothing until mounted with `Ori::raw_websocket`"]
pub struct RawWebSocket {
    pub(crate) config: WebSocketConfig,
    pub(crate) hooks: ConnectionHooks,
}

impl RawWebSocket {
    /// An endpoint with `config`'s path and limits, and no handler yet.
    pub fn new(config: WebSocketConfig) -> RawWebSocket {
        RawWebSocket { config, hooks: ConnectionHooks::default() }
    }

    /// Shorthand for `RawWebSocket::new(WebSocketConfig::default().path(path))`.
    pub fn at(path: impl Into<String>) -> RawWebSocket {
        RawWebSocket::new(WebSocketConfig::default().path(path))
    }

    connection_hook_setters! {
        "RawWebSocket::at(\"/raw\")",
        /// Handles every message of a connection, in arrival order. What the
        /// handler returns ([`IntoRawReply`](crate::IntoRawReply): `()`, a [`RawMessage`](crate::RawMessage), an
        /// `Option<RawMessage>`) is sent back as is; it can also send with
        /// [`Socket::send`](crate::Socket::send) at any time.
        ///
        /// Handlers of one connection may run concurrently (up to
        /// [`max_in_flight`](crate::WebSocketConfig::max_in_flight)); replies of handlers
        /// that finish without waiting go out in arrival order.
        fn on_message
    }
}

impl std::fmt::Debug for RawWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawWebSocket")
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}
