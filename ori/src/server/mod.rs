//! [`Server`]: bound listeners served by worker threads, with graceful shutdown.
//!
//! Connections are served by workers: one OS thread per core, each running a
//! single-threaded tokio runtime and accepting from its own `SO_REUSEPORT`
//! listener, so the kernel spreads connections over the cores and a
//! connection's handlers, reads and writes stay on one thread. (A
//! work-stealing runtime squeezed onto one core adds tens of milliseconds of
//! tail latency when one publish wakes thousands of connections.)
//! `workers(0)` serves on the caller's runtime instead.

use crate::util::sync::lock;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{oneshot, watch};

pub(crate) mod mounted;
mod routes;
#[cfg(feature = "tls")]
pub(crate) mod tls;
mod watchdog;

pub use mounted::Mounted;
#[cfg(feature = "tls")]
pub use tls::Tls;

use crate::app::BuiltApp;
use crate::app::drain::Drain;
use crate::app::startup::announce;
use crate::connection::handoff;
use crate::error::Error;
use crate::handles::app_context::AppContext;
use crate::util::tracker::Tracker;
use routes::Routes;

/// Pending connections each listener queues.
const BACKLOG: i32 = 1024;

/// A server bound to its address, ready to [`serve`](Server::serve).
///
/// ```no_run
/// # async fn demo() -> Result<(), ori::Error> {
/// let app = ori::Ori::create().websocket(Default::default()).allow_no_routers();
/// let server = app.bind("127.0.0.1:0").await?;
/// println!("listening on {}", server.local_addr());
/// server.serve().await
/// # }
/// ```
pub struct Server {
    /// One listener per worker (one in all when serving on the caller's runtime).
    listeners: Vec<std::net::TcpListener>,
    local_addr: SocketAddr,
    routes: Routes,
    app: AppContext,
    drain: Drain,
    signal: BoxFuture<'static, ()>,
    shutdown: ShutdownHandle,
    on_caller_runtime: bool,
    /// The path of the envelope endpoint, or of the first raw one.
    websocket_path: Option<String>,
    tls: Acceptor,
    /// What is mounted, said when serving starts.
    mounted: Vec<String>,
    /// Time a client gets to send its request's headers.
    header_timeout: Duration,
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

    pub(crate) async fn requested(&self) {
        let mut rx = self.requested.subscribe();
        let _ = rx.wait_for(|requested| *requested).await;
    }
}

/// How many workers serve connections when the application does not say:
/// one per core available to the process.
pub(crate) fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// How a server listens, beside the app it serves (set on [`Ori`](crate::Ori)).
pub(crate) struct Listening {
    /// Worker threads; `0` serves on the caller's runtime.
    pub(crate) workers: usize,
    /// Time a client gets to send its request's headers.
    pub(crate) header_timeout: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Tls>,
}

impl Server {
    pub(crate) async fn bind(
        built: BuiltApp,
        addr: impl ToSocketAddrs,
        listening: Listening,
    ) -> Result<Server, Error> {
        let workers = listening.workers;
        let mut last_error = None;
        let mut bound = None;
        for candidate in tokio::net::lookup_host(addr).await? {
            match bind_listeners(candidate, workers.max(1)) {
                Ok(listeners) => {
                    bound = Some(listeners);
                    break;
                }
                Err(source) => last_error = Some(Error::Bind { addr: candidate, source }),
            }
        }
        let listeners = match (bound, last_error) {
            (Some(listeners), _) => listeners,
            (None, Some(e)) => return Err(e),
            (None, None) => return Err(std::io::Error::other("the address resolved to nothing").into()),
        };
        let local_addr = listeners[0].local_addr()?;
        built.start_background();
        let signal = built.shutdown_signal.unwrap_or_else(|| default_signal().boxed());
        let websocket_path = built.endpoints.first().map(|endpoint| endpoint.config.path.clone());
        #[cfg(feature = "tls")]
        let tls = listening.tls.as_ref().map(Tls::acceptor);
        #[cfg(not(feature = "tls"))]
        let tls = None;
        Ok(Server {
            mounted: built.mounted,
            websocket_path,
            tls,
            listeners,
            local_addr,
            routes: Routes::new(built.router, &built.endpoints, built.app.clone()),
            app: built.app,
            drain: built.drain,
            signal,
            shutdown: ShutdownHandle::new(),
            on_caller_runtime: workers == 0,
            header_timeout: listening.header_timeout,
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The WebSocket endpoint's URL, e.g. `ws://127.0.0.1:3000/ws` (`wss://`
    /// with TLS, `Ori::tls` of the feature `tls`): the
    /// envelope endpoint ([`Ori::websocket`](crate::Ori::websocket)), else the
    /// first [raw one](crate::Ori::raw_websocket); `None` without either.
    pub fn websocket_url(&self) -> Option<String> {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        self.websocket_path.as_ref().map(|path| format!("{scheme}://{}{path}", self.local_addr))
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
        let Server {
            listeners,
            local_addr,
            routes,
            app,
            drain,
            signal,
            shutdown,
            on_caller_runtime,
            tls,
            mounted,
            websocket_path,
            header_timeout,
        } = self;
        for line in &mounted {
            announce(line);
        }
        let (http_scheme, ws_scheme) = if tls.is_some() { ("https", "wss") } else { ("http", "ws") };
        let workers = if on_caller_runtime { 0 } else { listeners.len() };
        let endpoint = websocket_path.map(|path| format!(", WebSocket at {ws_scheme}://{local_addr}{path}"));
        announce(&format!(
            "listening on {http_scheme}://{local_addr} ({workers} workers){}",
            endpoint.unwrap_or_default()
        ));
        lock(&app.shared().runtimes).push(tokio::runtime::Handle::current());
        let http = Arc::new(Tracker::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (exit_tx, exit_rx) = watch::channel(false);
        let mut finished = Vec::new();
        let watchdog = watchdog::Watchdog::new(listeners.len());
        for (index, listener) in listeners.into_iter().enumerate() {
            let worker = Worker {
                listener,
                header_timeout,
                tls: tls.clone(),
                routes: routes.clone(),
                http: http.clone(),
                stop: stop_rx.clone(),
            };
            let (done_tx, done_rx) = oneshot::channel::<()>();
            finished.push(done_rx);
            if on_caller_runtime {
                tokio::spawn(async move {
                    worker.run().await;
                    let _ = done_tx.send(());
                });
                continue;
            }
            let mut exit = exit_rx.clone();
            let beats = watchdog.clone();
            let app = app.clone();
            std::thread::Builder::new().name(format!("ori-worker-{index}")).spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => return tracing::error!(%error, "could not start a worker runtime"),
                };
                lock(&app.shared().runtimes).push(runtime.handle().clone());
                runtime.block_on(async move {
                    let _handoffs = handoff::install();
                    tokio::spawn(beats.beat(index));
                    worker.run().await;
                    // Keep serving this worker's connections until the server is done.
                    let _ = exit.wait_for(|exit| *exit).await;
                });
                drop(done_tx);
            })?;
        }

        if !on_caller_runtime {
            watchdog.watch()?;
        }
        let stop = shutdown.requested();
        tokio::select! {
            () = signal => {}
            () = stop => {}
        }
        let stop_listening = || {
            let _ = stop_tx.send(true);
        };
        drain.run(&app, stop_listening, http.idle()).await;
        watchdog.stop();
        let _ = exit_tx.send(true);
        for done in finished {
            let _ = done.await;
        }
        app.shared().pubsub.shutdown();
        Ok(())
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

/// What makes an accepted TCP connection a TLS one, when the server has TLS.
#[cfg(feature = "tls")]
type Acceptor = Option<tokio_rustls::TlsAcceptor>;
#[cfg(not(feature = "tls"))]
type Acceptor = Option<NoTls>;

/// Without the feature `tls` there is never an acceptor.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
enum NoTls {}

/// Time a client gets to complete the TLS handshake.
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One accept loop and the connections it accepted.
struct Worker {
    listener: std::net::TcpListener,
    header_timeout: Duration,
    tls: Acceptor,
    routes: Routes,
    http: Arc<Tracker>,
    stop: watch::Receiver<bool>,
}

impl Worker {
    /// Accepts until the server stops; connections go on running on this runtime.
    async fn run(self) {
        let Worker { listener, header_timeout, tls, routes, http, stop } = self;
        let mut stopped = stop.clone();
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => return tracing::error!(%error, "could not register the listener"),
        };
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let tracked = http.enter();
                        let routes = routes.clone();
                        let stopping = stop.clone();
                        let tls = tls.clone();
                        tokio::spawn(async move {
                            accept(stream, peer, tls, routes, stopping, header_timeout).await;
                            drop(tracked);
                        });
                    }
                    Err(error) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = stop_requested(&mut stopped) => return,
            }
        }
    }
}

/// `count` listeners on `addr` sharing the port with `SO_REUSEPORT` (the
/// first one picks the port when `addr` asks for port 0).
///
/// `SO_REUSEPORT` would also let another process (a second ori server,
/// started by mistake) listen on the same port and take part of the
/// connections. So a port asked for by number is first bound without it:
/// if any other socket listens there, with `SO_REUSEPORT` or without, that
/// bind fails (`AddrInUse`), and so does the server's start.
fn bind_listeners(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    if count > 1 && addr.port() != 0 {
        drop(probe(addr)?);
    }
    let first = listener(addr, count > 1)?;
    let bound = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count {
        listeners.push(listener(bound, true)?);
    }
    Ok(listeners)
}

/// A socket bound to `addr` without `SO_REUSEPORT` (not listening): the
/// port is free of every other listener.
fn probe(addr: SocketAddr) -> std::io::Result<socket2::Socket> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket)
}

fn listener(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    #[cfg(unix)]
    {
        socket.set_reuse_address(true)?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Serves one accepted connection: the TLS handshake first when the server
/// has TLS (a client that fails it, plain HTTP included, is dropped), then HTTP.
async fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Acceptor,
    routes: Routes,
    stopping: watch::Receiver<bool>,
    header_timeout: Duration,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve_http(stream, peer, routes, stopping, header_timeout).await,
        #[cfg(feature = "tls")]
        Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => serve_http(stream, peer, routes, stopping, header_timeout).await,
            Ok(Err(error)) => tracing::debug!(%error, %peer, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        },
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
    }
}

/// Serves one HTTP/1 connection (which may upgrade to a WebSocket).
async fn serve_http<IO>(
    stream: IO,
    peer: SocketAddr,
    routes: Routes,
    mut stopping: watch::Receiver<bool>,
    header_timeout: Duration,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        routes.answer(request, peer).map(Ok::<_, Infallible>)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
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
        () = stop_requested(&mut stopping) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Resolves once `stop` says so (or its sender is gone).
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Resolves on ctrl-c or (on Unix) SIGTERM.
pub(crate) async fn default_signal() {
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
