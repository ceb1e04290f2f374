//! [`Ori`]: the application builder. Its setters record what the app is;
//! [`assemble`](super::assemble) builds it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::net::ToSocketAddrs;

use crate::app::metrics::MetricsMode;
use crate::app::startup::announce;
use crate::builder::raw_websocket::RawWebSocket;
use crate::di::{Constructor, ProviderEntry, Providers};
use crate::endpoint::config::WebSocketConfig;
use crate::error::Error;
use crate::handles::app_context::AppContext;
use crate::handles::socket::SocketContext;
use crate::hooks::authorizer::{ErasedAuthorizer, TopicAuthorizer};
use crate::hooks::lifecycle::UnroutedMessage;
use crate::hooks::{ConnectionHooks, connection_hook_setters};
use crate::protocol::reply::IntoReply;
use crate::pubsub::{IntoBackend, PubSubBackend, Retention};
use crate::routing::SocketRoutes;
use crate::routing::layer::{SocketLayer, Wrap};
use crate::routing::router::{RouterRegistration, SocketRouter};
use crate::server::{Listening, Mounted, Server, default_workers};

/// Builds an ori application: a WebSocket endpoint with its routes, guards
/// and handlers, the app's own HTTP routes, and the providers they use.
///
/// ```no_run
/// use ori::{Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
///
/// async fn echo(_ctx: SocketContext, data: serde_json::Value) -> Result<serde_json::Value, SocketError> {
///     Ok(data)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), ori::Error> {
///     Ori::create()
///         .websocket(WebSocketConfig::default())
///         .socket_routes(SocketRoutes::new().route("demo.echo", echo))
///         .listen("127.0.0.1:3000")
///         .await
/// }
/// ```
#[must_use = "an `Ori` does nothing until `.listen()`, `.bind()` or `.into_router()`"]
pub struct Ori {
    pub(super) websocket: Option<WebSocketConfig>,
    pub(super) raw_websockets: Vec<RawWebSocket>,
    pub(super) http: axum::Router<AppContext>,
    pub(super) socket_routes: Vec<SocketRoutes>,
    /// Routers named with `.only_socket_router::<R>()`.
    pub(super) routers: Vec<RouterRegistration>,
    /// Mount every `#[socket_router]` (and build every `#[injectable]`) of the binary.
    pub(super) discover: bool,
    /// Whether an envelope endpoint with nothing to route may start.
    pub(super) allow_no_routers: bool,
    pub(super) authorizer: Option<ErasedAuthorizer>,
    /// The envelope endpoint's guards, upgrade handler and lifecycle handlers.
    pub(super) hooks: ConnectionHooks,
    /// Layers in front of every route, in the order added.
    pub(super) layers: Vec<Wrap>,
    pub(super) providers: Providers,
    /// The backend of every endpoint's topics (default: in process).
    pub(super) pubsub: Option<Arc<dyn PubSubBackend>>,
    /// `(pattern, retention)` of each `history(...)`, in order.
    pub(super) history: Vec<(String, Retention)>,
    pub(super) shutdown_grace: Duration,
    /// The close code of a graceful shutdown: 1001 or 1012.
    pub(super) drain_close_code: u16,
    /// How long `/readyz` fails before the drain closes connections.
    pub(super) drain_pause: Duration,
    /// Serve `/healthz` and `/readyz`.
    pub(super) health_routes: bool,
    /// How metrics are reported.
    pub(super) metrics: MetricsMode,
    pub(super) shutdown_signal: Option<BoxFuture<'static, ()>>,
    pub(super) workers: Option<usize>,
    /// Time a client gets to send its request's headers.
    pub(super) header_timeout: Duration,
    /// `(path, title, version)` of the AsyncAPI document to serve.
    pub(super) asyncapi: Option<(String, String, String)>,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<crate::server::Tls>,
}

impl Ori {
    /// An application with nothing configured.
    pub fn create() -> Ori {
        Ori {
            websocket: None,
            raw_websockets: Vec::new(),
            http: axum::Router::new(),
            socket_routes: Vec::new(),
            routers: Vec::new(),
            discover: true,
            allow_no_routers: false,
            authorizer: None,
            hooks: ConnectionHooks::default(),
            layers: Vec::new(),
            providers: Providers::default(),
            pubsub: None,
            history: Vec::new(),
            shutdown_grace: Duration::from_secs(10),
            drain_close_code: 1001,
            drain_pause: Duration::ZERO,
            health_routes: false,
            metrics: MetricsMode::Off,
            shutdown_signal: None,
            workers: None,
            header_timeout: Duration::from_secs(10),
            asyncapi: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Serves WebSocket connections at `config`'s path (default `/ws`), on the
    /// same port as the HTTP routes.
    pub fn websocket(mut self, config: WebSocketConfig) -> Self {
        self.websocket = Some(config);
        self
    }

    /// Shorthand for `.websocket(WebSocketConfig::default().path(path))`.
    pub fn websocket_at(self, path: impl Into<String>) -> Self {
        self.websocket(WebSocketConfig::default().path(path))
    }

    /// Mounts an endpoint of raw messages (text or binary as sent, no
    /// envelopes) at its own path, with its own limits, guards and handlers.
    /// Add as many as the app needs, beside the envelope endpoint or without one.
    ///
    /// ```
    /// use ori::RawMessage;
    /// use ori::{Ori, RawWebSocket, SocketContext};
    ///
    /// let app = Ori::create()
    ///     .websocket_at("/ws")
    ///     .raw_websocket(RawWebSocket::at("/raw").on_message(
    ///         |_socket: SocketContext, message: RawMessage| async move { message },
    ///     ));
    /// ```
    pub fn raw_websocket(mut self, endpoint: RawWebSocket) -> Self {
        self.raw_websockets.push(endpoint);
        self
    }

    /// Adds the application's HTTP routes (plain axum). Handlers reach the
    /// [`AppContext`] as `State<AppContext>` or `Extension<AppContext>`.
    ///
    /// ```
    /// use axum::{extract::State, routing::post};
    /// use ori::{AppContext, Ori};
    ///
    /// async fn announce(State(ctx): State<AppContext>, body: String) -> &'static str {
    ///     ctx.sockets().broadcast(body);
    ///     "sent"
    /// }
    ///
    /// let app = Ori::create().routes(axum::Router::new().route("/announce", post(announce)));
    /// ```
    pub fn routes(mut self, router: axum::Router<AppContext>) -> Self {
        self.http = self.http.merge(router);
        self
    }

    /// Serves the app's AsyncAPI 3.0 document ([`describe`](Ori::describe),
    /// then [`ApiDescription::asyncapi`](crate::describe::ApiDescription::asyncapi)) at `path`, as JSON, made once at start-up.
    ///
    /// ```
    /// let app = ori::Ori::create()
    ///     .websocket(ori::WebSocketConfig::default())
    ///     .serve_asyncapi("/asyncapi.json", "Chat", "1.0.0");
    /// ```
    pub fn serve_asyncapi(
        mut self,
        path: impl Into<String>,
        title: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.asyncapi = Some((path.into(), title.into(), version.into()));
        self
    }

    /// Adds socket routes (message `type` -> handler).
    pub fn socket_routes(mut self, routes: SocketRoutes) -> Self {
        self.socket_routes.push(routes);
        self
    }

    /// Mounts the `#[socket_router]` `R` — and, once called, *only* the routers
    /// named this way: without it, every `#[socket_router]` in the binary is
    /// mounted. Use it for tests that need isolation. Only the registered
    /// providers these routers (and explicit providers) need are built.
    pub fn only_socket_router<R: SocketRouter>(mut self) -> Self {
        self.discover = false;
        let registration = RouterRegistration::of::<R>();
        if !self.routers.iter().any(|r| (r.type_id)() == (registration.type_id)()) {
            self.routers.push(registration);
        }
        self
    }

    /// Whether to mount every `#[socket_router]` and build every
    /// `#[injectable]` of the binary (default `true`; naming a router with
    /// [`only_socket_router`](Self::only_socket_router) turns it off). With `false`,
    /// only explicit routes, routers and providers — and what they need — are used.
    pub fn discover(mut self, discover: bool) -> Self {
        self.discover = discover;
        self
    }

    /// Lets the WebSocket endpoint start with nothing to route: no
    /// `#[socket_router]` found, no [`socket_routes`](Self::socket_routes),
    /// no [`on_message`](Self::on_message). Clients then use the control
    /// messages only (`subscribe`, `unsubscribe`, `ping`), and the app
    /// publishes. Without it, such an app is [`Error::NoRoutersFound`]: most
    /// often, the crate of its routers was not linked.
    ///
    /// ```
    /// let pubsub_only = ori::Ori::create().websocket(ori::WebSocketConfig::default()).allow_no_routers();
    /// ```
    pub fn allow_no_routers(mut self) -> Self {
        self.allow_no_routers = true;
        self
    }

    /// Puts `layer` in front of every route of the app (routers, route sets),
    /// outside their own layers: it sees each routed message first and its
    /// [`Outcome`](crate::layer::Outcome) last. The layer added last runs
    /// first. Envelopes no route takes (`on_message`) and control messages
    /// do not pass through it.
    ///
    /// ```
    /// use ori::layer::{LayerMessage, Next, from_fn};
    ///
    /// let app = ori::Ori::create().layer(from_fn(|message: LayerMessage, next: Next| async move {
    ///     let message_type = message.message_type();
    ///     let outcome = next.run(message).await;
    ///     if let Some(error) = outcome.as_error() {
    ///         tracing::warn!(message_type, code = error.code(), "message refused");
    ///     }
    ///     outcome
    /// }));
    /// ```
    pub fn layer<L: SocketLayer>(mut self, layer: L) -> Self {
        self.layers.push(crate::routing::layer::wrapper(Arc::new(layer)));
        self
    }

    /// Restricts the topics clients may join with `subscribe` (default: any
    /// valid topic not beginning with `__`). A refusal answers `forbidden`.
    pub fn topic_authorizer(mut self, authorizer: impl TopicAuthorizer) -> Self {
        self.authorizer = Some(ErasedAuthorizer::new(authorizer));
        self
    }

    connection_hook_setters! {
        "Ori::create()",
        /// Handles, on the envelope endpoint, what is not an envelope: binary
        /// frames and text that is not a JSON object with a valid `type`
        /// (instead of answering `unsupported` and `bad_request`). The handler
        /// gets the message as sent ([`RawMessage`](crate::RawMessage)); what it returns
        /// ([`IntoRawReply`](crate::IntoRawReply)) is sent back as is.
        ///
        /// ```
        /// use ori::RawMessage;
        /// use ori::{Ori, SocketContext};
        ///
        /// // Binary audio chunks beside the JSON envelopes of the same connection.
        /// let app = Ori::create().websocket_at("/ws").on_raw_message(
        ///     |ctx: SocketContext, chunk: RawMessage| async move {
        ///         let _ = ctx.publish("audio", chunk);
        ///     },
        /// );
        /// ```
        fn on_raw_message
    }

    /// Handles every message that no route takes (instead of answering
    /// `unknown_type`). Control messages (`ping`, `subscribe`, ...) never get here.
    pub fn on_message<S, F, Fut, R>(mut self, handler: F) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>, UnroutedMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReply + 'static,
    {
        self.hooks.lifecycle.set_message(handler);
        self
    }

    /// Registers a provider: `constructor`'s arguments (`Arc<T>`, `AppContext`)
    /// are its dependencies, built first. A missing dependency or a cycle stops
    /// start-up with an error naming the types.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ori::{AppContext, Ori};
    ///
    /// struct Store;
    /// struct Presence { store: Arc<Store>, ctx: AppContext }
    ///
    /// let app = Ori::create()
    ///     .provide(|| Store)
    ///     .provide(|store: Arc<Store>, ctx: AppContext| Presence { store, ctx });
    /// ```
    pub fn provide<Args, C: Constructor<Args>>(mut self, constructor: C) -> Self {
        self.providers.add(ProviderEntry::from_constructor(constructor));
        self
    }

    /// Registers a ready value as the provider of its type.
    pub fn provide_value<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.providers.add(ProviderEntry::from_value(value));
        self
    }

    /// Replaces the provider of the same type (for tests), or adds it.
    pub fn override_provider<Args, C: Constructor<Args>>(mut self, constructor: C) -> Self {
        self.providers.add_override(ProviderEntry::from_constructor(constructor));
        self
    }

    /// Replaces the provider of `T` with a ready value (for tests).
    pub fn override_value<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.providers.add_override(ProviderEntry::from_value(value));
        self
    }

    /// The pub/sub backend that carries every endpoint's topics (default
    /// [`InProcess`](crate::pubsub::InProcess): this instance only;
    /// `RedisBackend` (feature `redis`) or `NatsBackend` (feature `nats`)
    /// for many instances, one [`from_url`](crate::pubsub::from_url) picks,
    /// or any [`PubSubBackend`]).
    ///
    /// ```
    /// use ori::pubsub::InProcess;
    ///
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default()).pubsub(InProcess::new());
    /// ```
    pub fn pubsub(mut self, backend: impl IntoBackend) -> Self {
        self.pubsub = Some(backend.into_backend());
        self
    }

    /// Topics whose name matches `pattern` keep history: their last `size`
    /// messages, each for at most `ttl`, so that a client that comes back
    /// gets what it missed (PROTOCOL.md, "History and recovery"). A pattern
    /// is a topic name or a prefix followed by `*`; the first matching rule
    /// applies. Needs a backend with [`Capability::History`](crate::pubsub::Capability)
    /// (the default, [`InProcess`](crate::pubsub::InProcess), and `RedisBackend` have it).
    ///
    /// Messages published on such a topic must be JSON objects; each is
    /// delivered with its position (`"topic"`, `"offset"`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let app = ori::Ori::create()
    ///     .websocket(ori::WebSocketConfig::default())
    ///     .history("room:*", 1_000, Duration::from_secs(300));
    /// ```
    pub fn history(mut self, pattern: &str, size: usize, ttl: Duration) -> Self {
        self.history.push((pattern.to_owned(), Retention::new(size, ttl)));
        self
    }

    /// On shutdown, the time running handlers get to finish (and clients to
    /// take their close frames) before they are dropped and the server
    /// stops (default 10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The close code of a graceful shutdown: 1001 "going away" (the
    /// default) or 1012 "service restart" for a planned restart, after
    /// which ori's clients reconnect at once (with jitter) instead of
    /// backing off. Any other code is a start-up error.
    ///
    /// ```
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default()).drain_close_code(1012);
    /// ```
    pub fn drain_close_code(mut self, code: u16) -> Self {
        self.drain_close_code = code;
        self
    }

    /// On shutdown, how long `/readyz` fails before connections are closed
    /// (default: no pause), so that a load balancer stops sending new
    /// clients here before the existing ones reconnect elsewhere. New
    /// connections are still accepted during the pause.
    pub fn drain_pause(mut self, pause: Duration) -> Self {
        self.drain_pause = pause;
        self
    }

    /// Serves `GET /healthz` (alive: `200 {"alive":true}`) and `GET /readyz`
    /// (ready: `200 {"ready":true}`; `503 {"ready":false,"reason":...}`
    /// while the server drains or the pub/sub backend is disconnected), for
    /// load balancers and orchestrators.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let app = ori::Ori::create()
    ///     .websocket(ori::WebSocketConfig::default())
    ///     .health_routes()
    ///     .drain_pause(Duration::from_secs(5)); // readiness fails 5 s before the drain
    /// ```
    pub fn health_routes(mut self) -> Self {
        self.health_routes = true;
        self
    }

    /// Records ori's metrics (connections, messages, errors, handler
    /// latency, fan-out, queues, the backend: README, "Operating ori")
    /// through the [`metrics`](https://docs.rs/metrics) recorder the app
    /// installed, e.g. an OpenTelemetry or StatsD exporter. Install it before
    /// building the app: ori registers its figures then. The figures that
    /// are states (subscriptions, topics, queued bytes, the backend's) are
    /// sampled every 5 s. Off by default: then each recording site costs a
    /// load and a branch.
    ///
    /// ```
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default()).metrics();
    /// ```
    pub fn metrics(mut self) -> Self {
        self.metrics = MetricsMode::Recorder;
        self
    }

    /// Records ori's metrics with ori's Prometheus exporter and serves them
    /// at `path` (e.g. `/metrics`) in Prometheus' text format, sampled at
    /// each scrape. The exporter becomes the process's `metrics` recorder:
    /// if the app installed another one, start-up fails (use
    /// [`metrics`](Self::metrics) then). Put the route behind your network's
    /// access rules as you would `/readyz`.
    ///
    /// ```
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default()).metrics_route("/metrics");
    /// ```
    #[cfg(feature = "prometheus")]
    pub fn metrics_route(mut self, path: impl Into<String>) -> Self {
        self.metrics = MetricsMode::Prometheus(path.into());
        self
    }

    /// Shuts the server down gracefully when `signal` resolves, instead of on
    /// ctrl-c or SIGTERM.
    pub fn shutdown_signal(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown_signal = Some(signal.boxed());
        self
    }

    /// Serves every connection on the port over TLS (`https://`, `wss://`)
    /// with `tls`'s certificate, which [`Tls::reload`](crate::Tls::reload)
    /// replaces while the server runs. Applies to [`bind`](Self::bind) and
    /// [`listen`](Self::listen); with [`into_router`](Self::into_router) TLS
    /// is the host server's business. Needs the feature `tls`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::server::Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// How many workers serve connections: each is an OS thread running a
    /// single-threaded tokio endpoint with its own listener on the shared port
    /// (`SO_REUSEPORT`). Default: one per core available to the process.
    /// `0` serves on the endpoint that calls [`Server::serve`] instead.
    ///
    /// Handlers run on the worker of their connection: keep CPU-heavy work in
    /// `tokio::task::spawn_blocking` (`block_in_place` is not available on
    /// a single-threaded endpoint).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// How long a client gets to send the headers of its request, the
    /// WebSocket upgrade's included, before the connection is closed
    /// (default 10 s): a client that sends half a request and stalls (a
    /// slowloris) holds a socket no longer than this.
    ///
    /// ```
    /// let app = ori::Ori::create()
    ///     .websocket(ori::WebSocketConfig::default())
    ///     .header_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Builds everything, then binds `addr`. Start-up errors (providers,
    /// routes, states) come before the port is bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let listening = Listening {
            workers: self.workers.unwrap_or_else(default_workers),
            header_timeout: self.header_timeout,
            // A handle to the same certificate: cloning shares it.
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
        };
        let built = self.build()?;
        built.start_pubsub().await?;
        Server::bind(built, addr, listening).await
    }

    /// Builds, binds `addr`, and serves until the shutdown signal.
    pub async fn listen(self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.bind(addr).await?.serve().await
    }

    /// Builds ori to live inside an axum app of your own: its routes, its
    /// [`AppContext`] for your state, a shutdown handle, and
    /// [`Mounted::serve`](crate::Mounted::serve), which serves your router and ori's together (peer
    /// address and graceful shutdown included).
    ///
    /// It starts the pub/sub provider and the idle-timeout sweeper.
    pub async fn mount(self) -> Result<Mounted, Error> {
        let built = self.build()?;
        built.start_pubsub().await?;
        built.start_background();
        Ok(Mounted::new(built))
    }

    /// Builds the application as an `axum::Router` only, to merge into an
    /// existing axum app (serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()` to give guards
    /// the peer address). [`mount`](Self::mount) also gives you the
    /// [`AppContext`] and a graceful shutdown.
    ///
    /// It starts the pub/sub provider and the idle-timeout sweeper.
    pub async fn into_router(self) -> Result<axum::Router, Error> {
        let built = self.build()?;
        built.start_pubsub().await?;
        built.start_background();
        for line in &built.mounted {
            announce(line);
        }
        Ok(built.router)
    }
}

impl std::fmt::Debug for Ori {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ori")
            .field("websocket", &self.websocket)
            .field("raw_websockets", &self.raw_websockets)
            .field("socket_routes", &self.socket_routes)
            .field("hooks", &self.hooks)
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}
