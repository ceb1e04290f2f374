//! Testing apps: in process without a network ([`Harness`]), or over a real
//! socket ([`TestServer`], with typed clients under the feature `client`).
//!
//! A [`Harness`] builds an app exactly as the server does (providers, routes,
//! guards' state checks) and runs messages through the same dispatch code the
//! WebSocket connections use, in process: fast unit tests for handlers, and a
//! way to benchmark dispatch without I/O. For tests over real sockets, serve
//! the app with [`TestServer`].
//!
//! ```
//! use ori::prelude::*;
//! use ori::testing::Harness;
//! use serde_json::json;
//!
//! #[injectable]
//! struct MathRouter;
//!
//! #[socket_router]
//! impl MathRouter {
//!     #[on("math.double")]
//!     async fn double(&self, n: i64) -> i64 {
//!         n * 2
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Ori::create().websocket(Default::default()).socket_router::<MathRouter>();
//! let harness = Harness::new(app).await.unwrap();
//! let connection = harness.connection().open();
//! let reply = connection.request(json!({"type": "math.double", "data": 21, "correlationId": "1"})).await;
//! assert_eq!(reply, Some(json!({"type": "math.double", "data": 42, "correlationId": "1"})));
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::connection::ConnectionCore;
use crate::dispatch::{Dispatched, dispatch};
use crate::protocol::BROADCAST_TOPIC;
use crate::runtime::Runtime;
use crate::state::StateMap;
use crate::{AppContext, Error, Ori, Socket, SocketId, Subscriber};

/// An app built for in-process tests: no listener, no sockets.
#[derive(Clone)]
pub struct Harness {
    runtime: Arc<Runtime>,
}

impl Harness {
    /// Builds `app` as the server would (and starts its pub/sub provider);
    /// start-up errors are the same.
    pub async fn new(app: Ori) -> Result<Harness, Error> {
        let built = app.build()?;
        built.start_provider().await?;
        let runtime = built.runtime.ok_or_else(|| {
            Error::InvalidConfig(
                "the harness serves socket routes; add `.websocket(WebSocketConfig::default())`".into(),
            )
        })?;
        Ok(Harness { runtime })
    }

    /// The application context (providers, server-level pub/sub).
    pub fn app(&self) -> &AppContext {
        &self.runtime.app
    }

    /// Starts a connection. Guards do not run: give the connection the states
    /// they would produce with [`TestConnectionBuilder::state`].
    pub fn connection(&self) -> TestConnectionBuilder {
        TestConnectionBuilder { runtime: self.runtime.clone(), states: StateMap::default() }
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").field("app", &self.runtime.app).finish()
    }
}

/// Builds a [`TestConnection`].
pub struct TestConnectionBuilder {
    runtime: Arc<Runtime>,
    states: StateMap,
}

impl TestConnectionBuilder {
    /// Attaches a connection state (what a guard or the upgrade handler would produce).
    pub fn state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.states.insert(Box::new(state));
        self
    }

    /// Opens the connection: it gets a socket id and joins `__broadcast__`,
    /// like a real one. The `open` lifecycle handler does not run.
    pub fn open(self) -> TestConnection {
        let core = Arc::new(ConnectionCore::new(SocketId::new(), self.states, self.runtime.app.clone()));
        let hub = self.runtime.app.hub();
        hub.register(&core);
        // The in-process provider registers synchronously; its future has nothing left to do.
        drop(hub.provider.subscribe(BROADCAST_TOPIC, &Subscriber::new(core.clone())));
        TestConnection { socket: Socket::new(core), runtime: self.runtime }
    }
}

impl std::fmt::Debug for TestConnectionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestConnectionBuilder").field("states", &self.states).finish()
    }
}

/// An in-process connection: send it messages as a client would, read what
/// the server pushed to it. Closed when dropped.
pub struct TestConnection {
    socket: Socket,
    runtime: Arc<Runtime>,
}

impl TestConnection {
    /// The connection's socket (its id, subscriptions, state).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Handles one message as the server would and returns the reply text
    /// (`None` when there is no reply, e.g. a `()` handler without correlationId).
    pub async fn send_text(&self, text: &str) -> Option<String> {
        let frame = match dispatch(&self.runtime, &self.socket, text) {
            Dispatched::Done(frame) => frame,
            Dispatched::Started(work) => work.await,
        };
        frame.map(|frame| payload_text(&frame))
    }

    /// [`send_text`](Self::send_text) for JSON.
    pub async fn request(&self, message: Value) -> Option<Value> {
        let reply = self.send_text(&message.to_string()).await?;
        Some(serde_json::from_str(&reply).expect("the server sends JSON"))
    }

    /// Takes the messages pushed to this connection so far (publishes, direct
    /// sends, broadcasts), oldest first.
    pub fn received(&self) -> Vec<Value> {
        let mut frames = VecDeque::new();
        self.socket.core().outbox.drain(&mut frames, futures_util::task::noop_waker_ref());
        frames
            .iter()
            .map(|frame| serde_json::from_str(&payload_text(frame)).expect("the server sends JSON"))
            .collect()
    }
}

impl TestConnection {
    /// Discards the messages pushed so far; returns how many there were.
    pub fn clear_received(&self) -> usize {
        let mut frames = VecDeque::new();
        self.socket.core().outbox.drain(&mut frames, futures_util::task::noop_waker_ref());
        frames.len()
    }
}

impl Drop for TestConnection {
    fn drop(&mut self) {
        let core: &Arc<ConnectionCore> = self.socket.core();
        core.leave_all();
        core.app.hub().deregister(&core.id);
        core.outbox.close();
    }
}

impl std::fmt::Debug for TestConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestConnection").field("id", &self.socket.id()).finish()
    }
}

/// The text of a server frame (the frame minus its header).
fn payload_text(frame: &Bytes) -> String {
    let header = match frame[1] & 0x7F {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    std::str::from_utf8(&frame[header..]).expect("the server sends UTF-8").to_owned()
}

/// An app served on `127.0.0.1` and a free port, in process: test routers
/// over a real socket, the way a client sees them. With the `client` feature,
/// clients and typed stubs are one call away ([`connect`](TestServer::connect)).
///
/// ```standalone_crate
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use ori::prelude::*;
///
/// let server = ori::testing::TestServer::start(Ori::create().websocket(Default::default())).await.unwrap();
/// assert!(server.url().starts_with("ws://127.0.0.1:"));
/// server.shutdown().await.unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: std::net::SocketAddr,
    /// `None` for an app without a WebSocket endpoint (HTTP routes only).
    url: Option<String>,
    app: AppContext,
    shutdown: crate::ShutdownHandle,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl TestServer {
    /// Binds `app` on `127.0.0.1:0` and serves it in a task (no signal
    /// handlers; stop it with [`shutdown`](TestServer::shutdown)).
    pub async fn start(app: Ori) -> Result<TestServer, Error> {
        TestServer::start_at(app, "127.0.0.1:0".parse().expect("an address")).await
    }

    /// Like [`start`](TestServer::start), on `addr` (e.g. the address of a
    /// server stopped earlier, to test what clients do across a restart).
    pub async fn start_at(app: Ori, addr: std::net::SocketAddr) -> Result<TestServer, Error> {
        let server = app.shutdown_signal(std::future::pending()).bind(addr).await?;
        let url = server.websocket_url();
        let addr = server.local_addr();
        let app = server.app().clone();
        let shutdown = server.shutdown_handle();
        let task = tokio::spawn(server.serve());
        Ok(TestServer { addr, url, app, shutdown, task })
    }

    /// The bound address (for HTTP requests).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The WebSocket URL, e.g. `ws://127.0.0.1:41234/ws`.
    ///
    /// # Panics
    /// If the app serves no WebSocket (no [`Ori::websocket`]).
    pub fn url(&self) -> &str {
        self.url.as_deref().expect("the app serves no WebSocket: call `.websocket(...)`")
    }

    /// The application context: publish, send, read providers.
    pub fn app(&self) -> &AppContext {
        &self.app
    }

    /// A handle that starts the graceful shutdown without waiting for it
    /// (see [`stopped`](TestServer::stopped)).
    pub fn shutdown_handle(&self) -> crate::ShutdownHandle {
        self.shutdown.clone()
    }

    /// Shuts down gracefully (connections closed with 1001) and waits for it.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.shutdown.shutdown();
        self.stopped().await
    }

    /// Waits for the server to stop after a shutdown started elsewhere.
    pub async fn stopped(self) -> Result<(), Error> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(Error::Io(std::io::Error::other(format!("the server task failed: {e}")))),
        }
    }

    /// A client builder for this server (add a token, tune reconnection).
    #[cfg(feature = "client")]
    pub fn client_builder(&self) -> crate::client::ClientBuilder {
        crate::client::Client::builder(self.url())
    }

    /// A connected client.
    #[cfg(feature = "client")]
    pub async fn client(&self) -> Result<crate::client::Client, crate::client::ClientError> {
        self.client_builder().connect().await
    }

    /// A connected typed client stub (`#[socket_router(client = Name)]`).
    ///
    /// ```
    /// use ori::prelude::*;
    /// use ori::testing::TestServer;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Doubled { value: i64 }
    ///
    /// #[injectable]
    /// struct MathRouter;
    ///
    /// #[socket_router(client = MathClient)]
    /// impl MathRouter {
    ///     /// Doubles a number.
    ///     #[on("math.double")]
    ///     async fn double(&self, n: i64) -> Doubled {
    ///         Doubled { value: n * 2 }
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = TestServer::start(Ori::create().websocket(Default::default()).socket_router::<MathRouter>())
    ///     .await
    ///     .unwrap();
    /// let math: MathClient = server.connect().await.unwrap();
    /// assert_eq!(math.double(21).await.unwrap().value, 42);
    /// server.shutdown().await.unwrap();
    /// # }
    /// ```
    #[cfg(feature = "client")]
    pub async fn connect<S: From<crate::client::Client>>(&self) -> Result<S, crate::client::ClientError> {
        Ok(S::from(self.client().await?))
    }
}
