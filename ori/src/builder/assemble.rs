//! Assembly: how an [`Ori`] becomes a [`BuiltApp`], in named steps that
//! each find one kind of mistake before the port is bound:
//!
//! 1. [`check_endpoints`]: each endpoint's configuration (and the drain's
//!    close code), and that socket handlers have an endpoint to serve them;
//! 2. [`history_rules`]: the topics that keep history, on a backend that
//!    keeps it;
//! 3. [`build_providers`]: the container builds every provider the mounted
//!    routers (and the app) need, dependencies first;
//! 4. [`bind_routers`]: each router is bound to its built self and its
//!    connection guards join the endpoint's;
//! 5. [`route_table`]: the app's layers wrap every route set, and the sets
//!    become one table (one handler per message type);
//! 6. [`check_states`]: every connection state a handler asks for has
//!    exactly one producer;
//! 7. [`endpoints`] and [`http_router`]: the endpoints, mounted beside the
//!    app's HTTP routes on one axum router.

use std::sync::Arc;

use axum::Extension;
use axum::routing::any;
use bytes::Bytes;

use crate::app::drain::Drain;
use crate::app::metrics::{self, MetricsMode};
use crate::app::near_miss::NearMissLayer;
use crate::app::{BuiltApp, startup};
use crate::builder::ori::Ori;
use crate::builder::raw_websocket::RawWebSocket;
use crate::connection::state::StateKey;
use crate::di::{Dep, Discovery, Providers, Resolver};
use crate::endpoint::config::WebSocketConfig;
use crate::endpoint::{Endpoint, EndpointKind};
use crate::error::Error;
use crate::handles::app_context::{AppContext, ProviderMap};
use crate::hooks::ConnectionHooks;
use crate::hooks::authorizer::ErasedAuthorizer;
use crate::hooks::guard::ErasedConnectionGuard;
use crate::pubsub::history::HistoryRules;
use crate::pubsub::{Capability, InProcess, PubSubBackend, Retention};
use crate::routing::SocketRoutes;
use crate::routing::guard_plan::GuardPlan;
use crate::routing::layer::Wrap;
use crate::routing::router::RouterRegistration;
use crate::routing::table::RouteTable;

impl Ori {
    /// Builds the application (see the module docs for the steps).
    pub(crate) fn build(self) -> Result<BuiltApp, Error> {
        let (discovery, routers) = self.mounted_routers();
        let asyncapi = self.asyncapi.as_ref().map(|(path, title, version)| {
            let document = self.describe().asyncapi(title, version);
            (path.clone(), Bytes::from(document.to_string()))
        });
        self.check_endpoints(&routers)?;
        let guards = GuardPlan::new(&self.app_guards(), &routers)?;
        let announced = startup::mounted(&guards, &routers, &self.socket_routes);
        // Reported after every other check: those name more precise problems.
        let routes_nothing = self.websocket.is_some()
            && routers.is_empty()
            && self.socket_routes.is_empty()
            && self.hooks.lifecycle.message.is_none();
        let no_routers_found = routes_nothing && discovery == Discovery::All && !self.allow_no_routers;

        let pubsub = self.pubsub.unwrap_or_else(|| Arc::new(InProcess::new()));
        let mut announced = announced;
        announced.push(format!("pub/sub: {}", pubsub.name()));
        let history = history_rules(&self.history, &*pubsub)?;
        let app = AppContext::new(pubsub, history);
        let providers = build_providers(&app, self.providers, discovery, &routers)?;
        let mut hooks = self.hooks;
        let mut route_sets = self.socket_routes;
        let resolver = Resolver::new(&providers, &app);
        route_sets.extend(bind_routers(&routers, &guards, &resolver, &mut hooks)?);
        app.set_providers(providers);
        let mut routes = route_table(route_sets, &self.layers)?;
        check_states(&routes, &hooks)?;
        for raw in &self.raw_websockets {
            check_states(&RouteTable::default(), &raw.hooks)?;
        }
        if no_routers_found {
            return Err(Error::NoRoutersFound);
        }

        let http = if self.health_routes { self.http.merge(crate::app::health::routes()) } else { self.http };
        let http = match self.metrics {
            MetricsMode::Off => http,
            MetricsMode::Recorder => {
                metrics::enable(&mut routes, declared_errors(&routers), false);
                metrics::spawn_sampler(app.clone());
                http
            }
            #[cfg(feature = "prometheus")]
            MetricsMode::Prometheus(path) => {
                metrics::prometheus::install()?;
                metrics::enable(&mut routes, declared_errors(&routers), true);
                http.merge(metrics::prometheus::route(&path))
            }
        };
        let envelopes = self.websocket.map(|config| (config, routes, hooks, self.authorizer));
        let endpoints = endpoints(envelopes, self.raw_websockets, &app);
        let router = http_router(http, asyncapi, &endpoints, &app);
        Ok(BuiltApp {
            router,
            app,
            endpoints,
            drain: Drain {
                grace: self.shutdown_grace,
                close_code: self.drain_close_code,
                pause: self.drain_pause,
            },
            shutdown_signal: self.shutdown_signal,
            mounted: announced,
        })
    }

    /// Step 1: every endpoint's configuration is valid, paths are distinct,
    /// raw endpoints have a handler, and socket handlers (`routers` among
    /// them) have an envelope endpoint to serve them.
    fn check_endpoints(&self, routers: &[RouterRegistration]) -> Result<(), Error> {
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
        if !matches!(self.drain_close_code, 1001 | 1012) {
            return Err(Error::InvalidConfig(format!(
                "drain close code {} is neither 1001 (going away) nor 1012 (service restart)",
                self.drain_close_code
            )));
        }
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
        Ok(())
    }
}

/// The error codes the routers' handlers declare (`#[on("x", errors = [..])]`):
/// the `code` labels of `ori_errors_total` besides ori's own.
fn declared_errors(routers: &[RouterRegistration]) -> Vec<&'static str> {
    routers.iter().flat_map(|r| (r.routes)()).flat_map(|route| route.errors.iter().copied()).collect()
}

/// Step 2: the topics that keep history, on a backend that can keep it.
fn history_rules(rules: &[(String, Retention)], pubsub: &dyn PubSubBackend) -> Result<HistoryRules, Error> {
    let mut history = HistoryRules::default();
    for (pattern, retention) in rules {
        history.add(pattern, *retention).map_err(Error::InvalidConfig)?;
    }
    if !history.is_empty() && !pubsub.capabilities().has(Capability::History) {
        return Err(Error::InvalidConfig(format!(
            "history is configured (`{}`) but the pub/sub backend keeps none (it lacks \
             `Capability::History`); use a backend that keeps history, or remove `.history(...)`",
            rules[0].0
        )));
    }
    Ok(history)
}

/// Step 3: the providers the app registered and, as `discovery` says, the
/// `#[injectable]`s of the binary, with what `routers` depend on as roots.
fn build_providers(
    app: &AppContext,
    registered_here: Providers,
    discovery: Discovery,
    routers: &[RouterRegistration],
) -> Result<ProviderMap, Error> {
    let mut registered: Vec<_> = crate::di::injectable::registered_providers().collect();
    registered.sort_by_key(|r| (r.provides)().name());
    let roots: Vec<(Dep, &'static str)> =
        routers.iter().flat_map(|r| (r.dependencies)().into_iter().map(|dep| (dep, r.name))).collect();
    registered_here.build(app, &registered, discovery, &roots)
}

/// Step 4: each router's routes, bound to the built router and its message
/// guards, and needing its router-scoped guards; its connection guards join
/// `hooks` where `plan` puts them (each guard type once).
fn bind_routers(
    routers: &[RouterRegistration],
    plan: &GuardPlan,
    resolver: &Resolver<'_>,
    hooks: &mut ConnectionHooks,
) -> Result<Vec<SocketRoutes>, Error> {
    let mut router_guards: Vec<Option<ErasedConnectionGuard>> = plan.router.iter().map(|_| None).collect();
    let mut bound = Vec::with_capacity(routers.len());
    for (router, needs) in routers.iter().zip(&plan.needs) {
        for guard in (router.guards)() {
            let dep = (guard.dep)();
            let erase = || {
                (guard.erase)(resolver)
                    .ok_or(Error::MissingProvider { missing: dep.name(), required_by: router.name })
            };
            if plan.connection.iter().any(|g| g.id == dep.id) {
                if !hooks.guards.iter().any(|g| g.type_id == dep.id) {
                    hooks.guards.push(erase()?);
                }
            } else if let Some(position) = plan.router.iter().position(|g| g.id == dep.id)
                && router_guards[position].is_none()
            {
                router_guards[position] = Some(erase()?);
            }
        }
        bound.push((router.bind)(resolver).needing(*needs));
    }
    hooks.router_guards = router_guards.into_iter().flatten().collect();
    Ok(bound)
}

/// Step 5: every set behind the app's `layers` (the one added last
/// outermost), then one table: a type routed twice, or invalid, is an error.
fn route_table(mut sets: Vec<SocketRoutes>, layers: &[Wrap]) -> Result<RouteTable, Error> {
    for wrap in layers {
        sets = sets.into_iter().map(|set| set.wrapped(wrap)).collect();
    }
    RouteTable::build(sets)
}

/// Step 6: on each endpoint, every state a handler asks for must have
/// exactly one producer: the upgrade handler or a connection guard, or, for
/// the routes of a router-scoped guard, that guard (a raw endpoint has no
/// routes, only hooks).
fn check_states(routes: &RouteTable, hooks: &ConnectionHooks) -> Result<(), Error> {
    let mut produced: Vec<StateKey> = Vec::new();
    let scoped = hooks.router_guards.iter().filter_map(|g| g.state);
    for state in hooks.produced_states().chain(scoped) {
        if produced.contains(&state) {
            return Err(Error::DuplicateState { state: state.name });
        }
        produced.push(state);
    }
    let for_everyone: Vec<StateKey> = hooks.produced_states().collect();
    let produced_for = |needs: u64, state: &StateKey| {
        for_everyone.contains(state)
            || hooks
                .router_guards
                .iter()
                .enumerate()
                .any(|(i, g)| needs & (1 << i) != 0 && g.state == Some(*state))
    };
    let route_needs = routes.routes().filter_map(|r| {
        r.state.map(|s| (format!("handler of `{}` in `{}`", r.message_type, r.router), s, r.needs))
    });
    let hook_needs =
        hooks.lifecycle.requirements().into_iter().filter_map(|(name, s)| s.map(|s| (name.to_owned(), s, 0)));
    for (handler, state, needs) in route_needs.chain(hook_needs) {
        if !produced_for(needs, &state) {
            return Err(Error::MissingState { state: state.name, handler });
        }
    }
    Ok(())
}

/// What the envelope endpoint is made of.
type EnvelopeParts = (WebSocketConfig, RouteTable, ConnectionHooks, Option<ErasedAuthorizer>);

/// Step 7: the envelope endpoint first (if any), then the raw ones, each at
/// its position among the server's endpoints.
fn endpoints(
    envelopes: Option<EnvelopeParts>,
    raw: Vec<RawWebSocket>,
    app: &AppContext,
) -> Vec<Arc<Endpoint>> {
    let mut endpoints = Vec::with_capacity(raw.len() + 1);
    if let Some((config, routes, hooks, authorizer)) = envelopes {
        endpoints.push(Endpoint::new(0, EndpointKind::Envelopes, config, routes, hooks, authorizer, app));
    }
    for raw in raw {
        let index = endpoints.len() as u8;
        let routes = RouteTable::default();
        endpoints.push(Endpoint::new(index, EndpointKind::Raw, raw.config, routes, raw.hooks, None, app));
    }
    endpoints.into_iter().map(Arc::new).collect()
}

/// Step 7: the app's HTTP routes, the AsyncAPI document if asked for, and an
/// upgrade route per endpoint; every request carries the [`AppContext`].
fn http_router(
    http: axum::Router<AppContext>,
    asyncapi: Option<(String, Bytes)>,
    endpoints: &[Arc<Endpoint>],
    app: &AppContext,
) -> axum::Router {
    let mut router = http.with_state(app.clone());
    if let Some((path, document)) = asyncapi {
        let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
        router = router.route(&path, axum::routing::get(move || async move { (json, document) }));
    }
    for endpoint in endpoints {
        let upgrade = axum::Router::new()
            .route(&endpoint.config.path, any(crate::ws::upgrade::upgrade))
            .with_state(endpoint.clone());
        router = router.merge(upgrade);
    }
    let paths = endpoints.iter().map(|endpoint| endpoint.config.path.clone()).collect();
    router.layer(NearMissLayer::new(paths)).layer(Extension(app.clone()))
}
