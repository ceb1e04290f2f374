//! [`RawWebSocket`]: a WebSocket endpoint of its own whose messages are not
//! ori's envelopes (the seed's `open`/`message`/`close` handlers).

use std::future::Future;

use crate::endpoint::config::WebSocketConfig;
use crate::handles::socket::SocketContext;
use crate::hooks::{ConnectionHooks, connection_hook_setters};
use crate::protocol::raw::RawMessage;
use crate::protocol::reply::IntoRawReply;

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

    /// Handles every message of a connection, in arrival order. What the
    /// handler returns ([`IntoRawReply`]: `()`, a [`RawMessage`], an
    /// `Option<RawMessage>`) is sent back as is; it can also send with
    /// [`Socket::send`](crate::Socket::send) at any time.
    ///
    /// Handlers of one connection may run concurrently (up to
    /// [`max_in_flight`](WebSocketConfig::max_in_flight)); replies of handlers
    /// that finish without waiting go out in arrival order.
    pub fn on_message<S, F, Fut, R>(mut self, handler: F) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>, RawMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoRawReply + 'static,
    {
        self.hooks.lifecycle.set_raw(handler);
        self
    }

    connection_hook_setters!("RawWebSocket::at(\"/raw\")");
}

impl std::fmt::Debug for RawWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawWebSocket")
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}
