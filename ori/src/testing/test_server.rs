//! [`TestServer`]: an app served on a free loopback port, in process.

use crate::builder::ori::Ori;
use crate::error::Error;
use crate::handles::app_context::AppContext;

/// An app served on `127.0.0.1` and a free port, in process: test routers
/// over a real socket, the way a client sees them. With the `client` feature,
/// clients and typed stubs are one call away (`TestServer::connect`).
///
/// ```standalone_crate
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use ori::prelude::*;
///
/// let app = Ori::create().websocket(Default::default()).allow_no_routers(); // pub/sub only
/// let server = ori::testing::TestServer::start(app).await.unwrap();
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
    shutdown: crate::server::ShutdownHandle,
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
    pub fn shutdown_handle(&self) -> crate::server::ShutdownHandle {
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
    /// let server = TestServer::start(Ori::create().websocket(Default::default()).only_socket_router::<MathRouter>())
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
