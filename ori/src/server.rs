//! [`Server`]: a bound listener serving HTTP and WebSocket connections, with
//! graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::watch;
use tower_service::Service;

use crate::app::Built;
use crate::pubsub::outbox::CloseRequest;
use crate::tracker::Tracker;
use crate::{AppContext, Error};

/// Time a client gets to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A server bound to its address, ready to [`serve`](Server::serve).
///
/// ```no_run
/// # async fn demo() -> Result<(), ori::Error> {
/// let server = ori::Ori::create().websocket(Default::default()).bind("127.0.0.1:0").await?;
/// println!("listening on {}", server.local_addr());
/// server.serve().await
/// # }
/// ```
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: axum::Router,
    app: AppContext,
    grace: Duration,
    signal: BoxFuture<'static, ()>,
    shutdown: ShutdownHandle,
}

/// Triggers a server's graceful shutdown from anywhere (tests, admin routes).
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    requested: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    fn new() -> ShutdownHandle {
        ShutdownHandle { requested: Arc::new(watch::Sender::new(false)) }
    }

    /// Starts the graceful shutdown.
    pub fn shutdown(&self) {
        self.requested.send_replace(true);
    }

    async fn requested(&self) {
        let mut rx = self.requested.subscribe();
        let _ = rx.wait_for(|requested| *requested).await;
    }
}

impl Server {
    pub(crate) async fn bind(built: Built, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let listener = TcpListener::bind(addr).await?;
        built.start_background();
        let local_addr = listener.local_addr()?;
        let signal = built.shutdown_signal.unwrap_or_else(|| default_signal().boxed());
        Ok(Server {
            listener,
            local_addr,
            router: built.router,
            app: built.app,
            grace: built.grace,
            signal,
            shutdown: ShutdownHandle::new(),
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The application context (publish from outside handlers, read providers).
    pub fn app(&self) -> &AppContext {
        &self.app
    }

    /// A handle that starts the graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves until the shutdown signal (ctrl-c, SIGTERM, the signal given to
    /// [`Ori::shutdown_signal`](crate::Ori::shutdown_signal), or
    /// [`ShutdownHandle::shutdown`]). Then it stops accepting, lets running
    /// handlers finish, closes every WebSocket with 1001, and returns once all
    /// connections are done or the grace period has passed.
    pub async fn serve(self) -> Result<(), Error> {
        let Server { listener, local_addr, router, app, grace, signal, shutdown } = self;
        tracing::info!(%local_addr, "listening");
        let http = Arc::new(Tracker::default());
        let (stop_http, http_stopping) = watch::channel(false);
        let mut signal = signal;
        let stop = shutdown.requested();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let tracked = http.enter();
                        let router = router.clone();
                        let stopping = http_stopping.clone();
                        tokio::spawn(async move {
                            serve_http(stream, peer, router, stopping).await;
                            drop(tracked);
                        });
                    }
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut signal => break,
                () = &mut stop => break,
            }
        }
        drop(listener);
        tracing::info!("shutting down");
        let hub = app.hub();
        hub.begin_shutdown();
        let _ = stop_http.send(true);
        hub.for_each(|core| core.outbox.request_close(CloseRequest::Shutdown));
        let drained = tokio::time::timeout(grace, async {
            hub.all_closed().await;
            http.idle().await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(?grace, "grace period over; dropping the remaining connections");
        }
        Ok(())
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

/// Serves one HTTP/1 connection (which may upgrade to a WebSocket).
async fn serve_http(
    stream: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|never| match never {})) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "HTTP connection failed");
            }
            return;
        }
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Resolves on ctrl-c or (on Unix) SIGTERM.
async fn default_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
