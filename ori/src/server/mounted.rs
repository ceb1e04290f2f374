//! [`Mounted`]: ori built for an axum app of the host's own, with what the
//! host needs to serve both: ori's routes, its [`AppContext`], a shutdown
//! handle, and one call that serves the host's router and ori's together.

use std::net::SocketAddr;

use axum::Extension;
use axum::routing::{MethodFilter, on};
use futures_util::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{ShutdownHandle, default_signal};
use crate::app::BuiltApp;
use crate::app::drain::Drain;
use crate::app::startup::announce;
use crate::error::Error;
use crate::handles::app_context::AppContext;

/// ori built to live inside an axum app of your own ([`Ori::mount`](crate::Ori::mount)).
///
/// Your routes keep their own state and reach ori's [`AppContext`] through
/// it (`impl FromRef<MyState> for AppContext`), or as `Extension<AppContext>`,
/// or take providers with [`Provided`](crate::Provided). [`serve`](Mounted::serve)
/// serves your router and ori's on one listener, with the peer address
/// guards see and a graceful shutdown that closes every WebSocket with 1001.
///
/// ```no_run
/// use axum::extract::{FromRef, State};
/// use axum::routing::post;
/// use ori::{AppContext, Ori, WebSocketConfig};
///
/// #[derive(Clone)]
/// struct HostState { greeting: String, ori: AppContext }
///
/// impl FromRef<HostState> for AppContext {
///     fn from_ref(state: &HostState) -> AppContext { state.ori.clone() }
/// }
///
/// async fn announce(State(state): State<HostState>, body: String) -> String {
///     state.ori.sockets().broadcast(format!("{}: {body}", state.greeting));
///     "sent".to_owned()
/// }
///
/// # async fn run() -> Result<(), ori::Error> {
/// let ori = Ori::create().websocket(WebSocketConfig::default()).allow_no_routers().mount().await?;
/// let host = axum::Router::new()
///     .route("/announce", post(announce))
///     .with_state(HostState { greeting: "hello".into(), ori: ori.context() });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// ori.serve(listener, host).await
/// # }
/// ```
pub struct Mounted {
    router: axum::Router,
    /// The paths of ori's WebSocket endpoints.
    paths: Vec<String>,
    app: AppContext,
    drain: Drain,
    signal: Option<BoxFuture<'static, ()>>,
    shutdown: ShutdownHandle,
}

impl Mounted {
    pub(crate) fn new(built: BuiltApp) -> Mounted {
        for line in &built.mounted {
            announce(line);
        }
        Mounted {
            paths: built.endpoints.iter().map(|endpoint| endpoint.config.path.clone()).collect(),
            router: built.router,
            app: built.app,
            drain: built.drain,
            signal: built.shutdown_signal,
            shutdown: ShutdownHandle::new(),
        }
    }

    /// ori's routes (the WebSocket endpoints, its HTTP routes, the
    /// `AppContext` extension), to merge into your router yourself. Serve the
    /// result with `into_make_service_with_connect_info::<SocketAddr>()` so
    /// guards see the peer address, and close the sockets with
    /// [`shutdown_handle`](Self::shutdown_handle)... or let
    /// [`serve`](Self::serve) do all of it.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// ori's application context: publish to sockets, read providers. Put
    /// it in your state (`impl FromRef<MyState> for AppContext`).
    pub fn context(&self) -> AppContext {
        self.app.clone()
    }

    /// A handle that starts the graceful shutdown of [`serve`](Self::serve).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves `host` and ori's routes on `listener` until the shutdown signal
    /// (ctrl-c, SIGTERM, the app's [`shutdown_signal`](crate::Ori::shutdown_signal)
    /// or [`shutdown_handle`](Self::shutdown_handle)), then stops accepting,
    /// lets running handlers reply, closes every WebSocket with 1001 and
    /// waits for open HTTP requests, up to the grace period.
    ///
    /// `host`'s handlers can take `Extension<AppContext>` and
    /// [`Provided<T>`](crate::Provided). A route of `host` on one of ori's
    /// paths is an [`Error::InvalidConfig`] naming it, before anything is served.
    pub async fn serve(self, listener: TcpListener, host: axum::Router) -> Result<(), Error> {
        let Mounted { router, paths, app, drain, signal, shutdown } = self;
        let merged = merge(host, router, &paths)?.layer(Extension(app.clone()));
        let local_addr = listener.local_addr()?;
        announce(&format!("serving on http://{local_addr}, in the host's axum router"));
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = async move {
            let mut stop_rx = stop_rx;
            let _ = stop_rx.wait_for(|stop| *stop).await;
        };
        let service = merged.into_make_service_with_connect_info::<SocketAddr>();
        let mut serving =
            tokio::spawn(axum::serve(listener, service).with_graceful_shutdown(stopped).into_future());
        let signal = signal.unwrap_or_else(|| Box::pin(default_signal()));
        tokio::select! {
            () = signal => {}
            () = shutdown.requested() => {}
            ended = &mut serving => {
                return match ended {
                    Ok(result) => result.map_err(Error::Io),
                    Err(panic) => Err(Error::Io(std::io::Error::other(panic))),
                };
            }
        }
        let stop_listening = || {
            let _ = stop_tx.send(true);
        };
        drain
            .run(&app, stop_listening, async {
                let _ = (&mut serving).await;
            })
            .await;
        app.shared().pubsub.shutdown();
        Ok(())
    }
}

/// `host` merged with ori's `router`. A host route on one of ori's endpoint
/// `paths` (which axum would merge silently, as the endpoints take any
/// method), or a route both define (on which axum panics), is a start-up
/// error that names it.
fn merge(host: axum::Router, router: axum::Router, paths: &[String]) -> Result<axum::Router, Error> {
    for path in paths {
        // Claiming every method on the path panics if the host has any of them there.
        let every_method = [
            MethodFilter::DELETE,
            MethodFilter::HEAD,
            MethodFilter::OPTIONS,
            MethodFilter::PATCH,
            MethodFilter::POST,
            MethodFilter::PUT,
            MethodFilter::TRACE,
            MethodFilter::CONNECT,
        ]
        .into_iter()
        .fold(MethodFilter::GET, MethodFilter::or);
        let probe = host.clone();
        let _ = without_panicking(|| probe.route(path, on(every_method, || async {})))
            .map_err(|_| collision(&format!("the host has a route at `{path}`, ori's WebSocket endpoint")))?;
    }
    without_panicking(|| host.merge(router)).map_err(|reason| collision(&reason))
}

fn collision(reason: &str) -> Error {
    Error::InvalidConfig(format!(
        "the host app's routes collide with ori's: {reason}; give ori's endpoint another path \
         (`WebSocketConfig::path`) or move the host's route, and mount ori once"
    ))
}

/// Runs `f`, turning axum's panic on conflicting routes into its message.
fn without_panicking(f: impl FnOnce() -> axum::Router) -> Result<axum::Router, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "overlapping routes".to_owned())
    })
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mounted").field("drain", &self.drain).finish_non_exhaustive()
    }
}
