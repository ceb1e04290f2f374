//! [`Ori`]: the application builder, and [`RawWebSocket`] for endpoints of
//! raw messages.

mod provided;
mod raw_websocket;
pub(crate) mod startup;

pub use provided::{NotProvided, Provided};
pub use raw_websocket::RawWebSocket;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::routing::any;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::net::ToSocketAddrs;

use crate::connection::outbox::CloseRequest;
use crate::connection::registry::ConnectionRegistry;
use crate::connection::state::StateKey;
use crate::describe::{self, ApiDescription};
use crate::di::{Constructor, Dep, Discovery, ProviderEntry, Providers, Resolver};
use crate::endpoint::{Endpoint, EndpointKind};
use crate::hooks::authorizer::ErasedAuthorizer;
use crate::hooks::lifecycle::UnroutedMessage;
use crate::hooks::{ConnectionHooks, connection_hook_setters};
use crate::protocol::reply::IntoReply;
use crate::routing::layer::{SocketLayer, Wrap};
use crate::routing::registration::{self, RouterRegistration};
use crate::routing::router::SocketRouter;
use crate::routing::table::RouteTable;
use crate::server::Server;
use crate::{AppContext, Error, SocketContext, SocketRoutes, TopicAuthorizer, WebSocketConfig};

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
    websocket: Option<WebSocketConfig>,
    raw_websockets: Vec<RawWebSocket>,
    http: axum::Router<AppContext>,
    socket_routes: Vec<SocketRoutes>,
    /// Routers named with `.only_socket_router::<R>()`.
    routers: Vec<RouterRegistration>,
    /// Mount every `#[socket_router]` (and build every `#[injectable]`) of the binary.
    discover: bool,
    /// Whether an envelope endpoint with nothing to route may start.
    allow_no_routers: bool,
    authorizer: Option<ErasedAuthorizer>,
    /// The envelope endpoint's guards, upgrade handler and lifecycle handlers.
    hooks: ConnectionHooks,
    /// Layers in front of every route, in the order added.
    layers: Vec<Wrap>,
    providers: Providers,
    shutdown_signal: Option<BoxFuture<'static, ()>>,
    workers: Option<usize>,
    /// `(path, title, version)` of the AsyncAPI document to serve.
    asyncapi: Option<(String, String, String)>,
    #[cfg(feature = "tls")]
    tls: Option<crate::Tls>,
}

/// A built application: the HTTP router (WebSocket endpoint included) and its context.
pub(crate) struct Built {
    pub(crate) router: axum::Router,
    pub(crate) app: AppContext,
    /// Every WebSocket endpoint (the envelope endpoint first, if any).
    pub(crate) endpoints: Vec<Arc<Endpoint>>,
    pub(crate) grace: Duration,
    pub(crate) shutdown_signal: Option<BoxFuture<'static, ()>>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::Tls>,
    /// What is mounted on the envelope endpoint, one line per router or
    /// route set, said when the server starts.
    pub(crate) mounted: Vec<String>,
}

impl Built {
    /// The envelope endpoint, when configured.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn envelope_endpoint(&self) -> Option<Arc<Endpoint>> {
        self.endpoints.iter().find(|e| e.kind == EndpointKind::Envelopes).cloned()
    }

    /// Starts the pub/sub provider (e.g. connects to Redis).
    pub(crate) async fn start_pubsub(&self) -> Result<(), Error> {
        let shared = self.app.shared();
        let context = crate::pubsub::BackendContext::new(Arc::downgrade(&shared.connections));
        shared.pubsub.start(context).await.map_err(Error::PubSubStart)
    }

    /// Starts the background work a serving app needs (the idle sweeper);
    /// must run inside a tokio endpoint.
    pub(crate) fn start_background(&self) {
        for endpoint in &self.endpoints {
            spawn_idle_sweeper(
                &endpoint.app.shared().connections,
                endpoint.index,
                endpoint.config.idle_timeout,
            );
        }
    }
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
            shutdown_signal: None,
            workers: None,
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
    /// then [`ApiDescription::asyncapi`]) at `path`, as JSON, made once at start-up.
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

    connection_hook_setters!("Ori::create()");

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
    pub fn on_raw_message<S, F, Fut, R>(mut self, handler: F) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>, crate::RawMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: crate::IntoRawReply + 'static,
    {
        self.hooks.lifecycle.set_raw(handler);
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
    pub fn tls(mut self, tls: crate::Tls) -> Self {
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

    /// Builds everything, then binds `addr`. Start-up errors (providers,
    /// routes, states) come before the port is bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let workers = self.workers.unwrap_or_else(crate::server::default_workers);
        let built = self.build()?;
        built.start_pubsub().await?;
        Server::bind(built, addr, workers).await
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
    pub async fn mount(self) -> Result<crate::Mounted, Error> {
        let built = self.build()?;
        built.start_pubsub().await?;
        built.start_background();
        Ok(crate::Mounted::new(built))
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
            startup::announce(line);
        }
        Ok(built.router)
    }

    /// What the app's WebSocket endpoint understands: every route of the
    /// routers it mounts (with discovery, every `#[socket_router]` linked
    /// in), every typed push, and their JSON Schemas (feature `schema`).
    /// Nothing is built or started. Routes added with
    /// [`socket_routes`](Ori::socket_routes) are listed with their Rust
    /// types, and JSON Schemas where `SocketRoutes::schema` (feature `schema`) gives them.
    ///
    /// ```
    /// let app = ori::Ori::create().websocket(ori::WebSocketConfig::default());
    /// let description = app.describe();
    /// assert_eq!(description.path.as_deref(), Some("/ws"));
    /// let typescript = description.typescript(&ori::describe::typescript::Options::default());
    /// assert!(typescript.contains("export class"));
    /// ```
    pub fn describe(&self) -> ApiDescription {
        let (_, mut routers) = self.mounted_routers();
        routers.sort_by_key(|r| r.name);
        let hand_written = self
            .socket_routes
            .iter()
            .map(|routes| (routes.name().to_owned(), routes.shapes()))
            .collect::<Vec<_>>();
        let app_guards: Vec<&'static str> = self.hooks.guards.iter().map(|g| g.name).collect();
        let path = self.websocket.as_ref().map(|c| c.path.clone());
        describe::describe(path, &app_guards, &routers, &hand_written)
    }

    /// The routers to mount, and how providers are found for them.
    fn mounted_routers(&self) -> (Discovery, Vec<RouterRegistration>) {
        let mut routers = self.routers.clone();
        if !self.discover {
            return (Discovery::Reachable, routers);
        }
        for registered in registration::routers() {
            if !routers.iter().any(|r| (r.type_id)() == (registered.type_id)()) {
                routers.push(registered);
            }
        }
        (Discovery::All, routers)
    }

    /// Builds the application: providers, routes, guards, the HTTP router.
    pub(crate) fn build(self) -> Result<Built, Error> {
        let (discovery, routers) = self.mounted_routers();
        let asyncapi = self.asyncapi.as_ref().map(|(path, title, version)| {
            let document = self.describe().asyncapi(title, version);
            (path.clone(), bytes::Bytes::from(document.to_string()))
        });
        let has_socket_handlers = !self.socket_routes.is_empty()
            || !routers.is_empty()
            || !self.hooks.guards.is_empty()
            || self.hooks.upgrade.is_some()
            || self.authorizer.is_some()
            || !self.hooks.lifecycle.requirements().is_empty();
        if self.websocket.is_none() && has_socket_handlers {
            let mounted = routers.iter().map(|r| r.name).collect::<Vec<_>>().join(", ");
            return Err(Error::InvalidConfig(format!(
                "socket handlers are registered{} but no WebSocket endpoint is configured; \
                 add `.websocket(WebSocketConfig::default())`",
                if mounted.is_empty() { String::new() } else { format!(" (routers: {mounted})") }
            )));
        }
        if let Some(config) = &self.websocket {
            config.validate()?;
        }
        let announced = startup::mounted(&routers, &self.socket_routes);
        // Reported after every other check: those name more precise problems.
        let routes_nothing = self.websocket.is_some()
            && routers.is_empty()
            && self.socket_routes.is_empty()
            && self.hooks.lifecycle.message.is_none();
        let no_routers_found = routes_nothing && discovery == Discovery::All && !self.allow_no_routers;
        for raw in &self.raw_websockets {
            raw.config.validate()?;
            if raw.hooks.lifecycle.raw.is_none() {
                return Err(Error::InvalidConfig(format!(
                    "the raw WebSocket endpoint at `{}` has no message handler; add `.on_message(...)`",
                    raw.config.path
                )));
            }
        }
        let configs: Vec<&WebSocketConfig> =
            self.websocket.iter().chain(self.raw_websockets.iter().map(|r| &r.config)).collect();
        if configs.len() > usize::from(u8::MAX) {
            return Err(Error::InvalidConfig("at most 255 WebSocket endpoints".to_owned()));
        }
        for (i, config) in configs.iter().enumerate() {
            if configs[..i].iter().any(|other| other.path == config.path) {
                return Err(Error::InvalidConfig(format!(
                    "two WebSocket endpoints share the path `{}`; give each its own",
                    config.path
                )));
            }
        }
        let mut backends = configs.iter().filter_map(|c| c.pubsub.clone());
        let pubsub = backends.next().unwrap_or_else(|| Arc::new(crate::pubsub::InProcess::new()));
        if backends.next().is_some() {
            return Err(Error::InvalidConfig(
                "the pub/sub backend is set on more than one WebSocket endpoint; \
                 an app has one backend: set it on one endpoint's config"
                    .to_owned(),
            ));
        }
        let grace = configs
            .iter()
            .map(|c| c.shutdown_grace)
            .max()
            .unwrap_or(WebSocketConfig::default().shutdown_grace);
        let app = AppContext::new(pubsub);

        let mut registered: Vec<_> = crate::di::registration::providers().collect();
        registered.sort_by_key(|r| (r.provides)().name());
        let roots: Vec<(Dep, &'static str)> =
            routers.iter().flat_map(|r| (r.dependencies)().into_iter().map(|dep| (dep, r.name))).collect();
        let built = self.providers.build(&app, &registered, discovery, &roots)?;

        let mut socket_routes = self.socket_routes;
        let mut hooks = self.hooks;
        {
            let resolver = Resolver::new(&built, &app);
            for router in &routers {
                for guard in (router.guards)() {
                    let dep = (guard.dep)();
                    let erased = (guard.erase)(&resolver)
                        .ok_or(Error::MissingProvider { missing: dep.name(), required_by: router.name })?;
                    if !hooks.guards.iter().any(|g| g.type_id == dep.id) {
                        hooks.guards.push(erased);
                    }
                }
                socket_routes.push((router.bind)(&resolver));
            }
        }
        app.set_providers(built);

        for wrap in &self.layers {
            socket_routes = socket_routes.into_iter().map(|set| set.wrapped(wrap)).collect();
        }
        let routes = RouteTable::build(socket_routes)?;
        check_states(&routes, &hooks)?;
        if no_routers_found {
            return Err(Error::NoRoutersFound);
        }

        let mut router = self.http.with_state(app.clone());
        if let Some((path, document)) = asyncapi {
            let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
            router = router.route(&path, axum::routing::get(move || async move { (json, document) }));
        }
        let mut endpoints = Vec::new();
        if let Some(config) = self.websocket {
            endpoints.push(Endpoint::new(
                0,
                EndpointKind::Envelopes,
                config,
                routes,
                hooks,
                self.authorizer,
                &app,
            ));
        }
        for raw in self.raw_websockets {
            check_states(&RouteTable::default(), &raw.hooks)?;
            endpoints.push(Endpoint::new(
                endpoints.len() as u8,
                EndpointKind::Raw,
                raw.config,
                RouteTable::default(),
                raw.hooks,
                None,
                &app,
            ));
        }
        let mut mounted = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let endpoint = Arc::new(endpoint);
            let upgrade = axum::Router::new()
                .route(&endpoint.config.path, any(crate::ws::upgrade::upgrade))
                .with_state(endpoint.clone());
            router = router.merge(upgrade);
            mounted.push(endpoint);
        }
        let router = router.layer(Extension(app.clone()));
        Ok(Built {
            router,
            app,
            endpoints: mounted,
            grace,
            shutdown_signal: self.shutdown_signal,
            #[cfg(feature = "tls")]
            tls: self.tls,
            mounted: announced,
        })
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

/// Every state a handler asks for must have exactly one producer.
fn check_states(routes: &RouteTable, hooks: &ConnectionHooks) -> Result<(), Error> {
    let mut produced: Vec<StateKey> = Vec::new();
    for state in hooks.produced_states() {
        if produced.contains(&state) {
            return Err(Error::DuplicateState { state: state.name });
        }
        produced.push(state);
    }
    let route_needs = routes
        .routes()
        .filter_map(|r| r.state.map(|s| (format!("handler of `{}` in `{}`", r.message_type, r.router), s)));
    let hook_needs =
        hooks.lifecycle.requirements().into_iter().filter_map(|(name, s)| s.map(|s| (name.to_owned(), s)));
    for (handler, state) in route_needs.chain(hook_needs) {
        if !produced.contains(&state) {
            return Err(Error::MissingState { state: state.name, handler });
        }
    }
    Ok(())
}

/// Pings the silent connections of endpoint `endpoint` and closes those
/// silent for the idle timeout.
fn spawn_idle_sweeper(connections: &Arc<ConnectionRegistry>, endpoint: u8, idle_timeout: Duration) {
    let connections = Arc::downgrade(connections);
    let period = idle_timeout / 2;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(connections) = connections.upgrade() else { return };
            connections.for_each(|core| {
                if core.endpoint != endpoint {
                    return;
                }
                match core.sweep() {
                    0 => {}
                    1 => core.outbox.request_ping(),
                    _ => core.outbox.request_close(CloseRequest::Idle),
                }
            });
        }
    });
}
