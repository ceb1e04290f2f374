//! [`SocketRoutes`] (routes as registered) and [`RouteTable`] (the one lookup
//! the server builds from all of them at start-up).

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use super::handler::{FnHandler, Guarded, Handler, MessageHandler, Timed};
use super::layer::{self, SocketLayer};
use super::schema::{SchemaFn, SchemaSet};
use crate::connection::state::StateKey;
use crate::error::Error;
use crate::hooks::guard::MessageGuard;
use crate::protocol::validate_handler_type;
use crate::telemetry::RouteMetrics;

/// One registered route.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) message_type: &'static str,
    pub(crate) handler: Arc<dyn MessageHandler>,
    pub(crate) state: Option<StateKey>,
    /// The router that registered it, for start-up errors.
    pub(crate) router: Arc<str>,
    /// The router-scoped guards that must have admitted a connection for it
    /// to use this route (a mask of `GuardScopeBit`s; 0 for most routes).
    pub(crate) needs: u64,
    /// Its figures, when the app turned metrics on.
    pub(crate) metrics: Option<&'static RouteMetrics>,
    /// What a hand-written route says about itself (`None` for generated
    /// routers: they describe their routes with [`RouteInfo`](super::RouteInfo)).
    pub(crate) shape: Option<RouteShape>,
}

/// The types and guards of a hand-written route, for
/// [`Ori::describe`](crate::Ori::describe).
#[derive(Clone, Debug)]
pub(crate) struct RouteShape {
    /// The Rust type of `data` (`()` for none).
    pub(crate) data: &'static str,
    /// The Rust type of the reply's `data` (`?` where unknown).
    pub(crate) reply: &'static str,
    /// The message guard's type (a tuple for several), if any.
    pub(crate) guard: Option<&'static str>,
    /// Its [timeout](SocketRoutes::timeout), if any.
    pub(crate) timeout: Option<std::time::Duration>,
    pub(crate) data_schema: SchemaFn,
    pub(crate) reply_schema: SchemaFn,
}

impl RouteShape {
    fn of<H: Handler<Args>, Args>(guard: Option<&'static str>) -> RouteShape {
        RouteShape::from_types(H::types(), guard)
    }

    /// The shape of a route whose `data` and reply are `(data, reply)`.
    pub(crate) fn from_types(
        (data, reply): (&'static str, &'static str),
        guard: Option<&'static str>,
    ) -> RouteShape {
        RouteShape { data, reply, guard, timeout: None, data_schema: no_schema, reply_schema: no_schema }
    }
}

fn no_schema(_: &mut SchemaSet) -> Option<serde_json::Value> {
    None
}

/// A set of socket routes: message `type` -> handler.
///
/// ```
/// use ori::{SocketContext, SocketError, SocketRoutes};
///
/// #[derive(serde::Deserialize)]
/// struct Add { a: i64, b: i64 }
///
/// async fn add(_ctx: SocketContext, data: Add) -> Result<i64, SocketError> {
///     Ok(data.a + data.b)
/// }
///
/// let routes = SocketRoutes::named("MathRoutes").route("math.add", add);
/// ```
#[derive(Clone)]
pub struct SocketRoutes {
    name: Arc<str>,
    routes: Vec<Route>,
}

impl Default for SocketRoutes {
    fn default() -> Self {
        SocketRoutes::new()
    }
}

impl SocketRoutes {
    /// An empty set, named `SocketRoutes` in start-up errors.
    pub fn new() -> SocketRoutes {
        SocketRoutes::named("SocketRoutes")
    }

    /// An empty set with a name for start-up errors (e.g. `"ChatRoutes"`).
    pub fn named(name: impl Into<Arc<str>>) -> SocketRoutes {
        SocketRoutes { name: name.into(), routes: Vec::new() }
    }

    /// Routes messages of `message_type` to `handler`.
    ///
    /// An invalid or reserved type (`ping`, `__x`, ...) or a type given twice
    /// is reported when the server starts.
    pub fn route<H: Handler<Args>, Args: 'static>(self, message_type: &'static str, handler: H) -> Self {
        let state = H::state();
        let shape = RouteShape::of::<H, Args>(None);
        self.handler(message_type, Arc::new(FnHandler::new(handler)), state, Some(shape))
    }

    /// Like [`route`](Self::route), with a [`MessageGuard`] run before each message
    /// (a tuple `(A, B)` runs several in order).
    pub fn guarded_route<G: MessageGuard, H: Handler<Args>, Args: 'static>(
        self,
        message_type: &'static str,
        guard: G,
        handler: H,
    ) -> Self {
        let state = H::state();
        let shape = RouteShape::of::<H, Args>(Some(std::any::type_name::<G>()));
        let inner = FnHandler::new(handler);
        self.handler(message_type, Arc::new(Guarded { guard: Arc::new(guard), inner }), state, Some(shape))
    }

    /// Gives the route added last the JSON Schemas of its `data` (`D`) and
    /// its reply's `data` (`R`), for [`Ori::describe`](crate::Ori::describe)
    /// and what is generated from it (AsyncAPI, TypeScript). Routes without
    /// it are described by their Rust type names only.
    ///
    /// ```
    /// use ori::{SocketContext, SocketError, SocketRoutes};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Add { a: i64, b: i64 }
    ///
    /// async fn add(_ctx: SocketContext, data: Add) -> Result<i64, SocketError> {
    ///     Ok(data.a + data.b)
    /// }
    ///
    /// let routes = SocketRoutes::named("MathRoutes").route("math.add", add).schema::<Add, i64>();
    /// ```
    ///
    /// # Panics
    ///
    /// If no route was added yet, or `D` and `R` are not the handler's types
    /// (the message names both).
    #[cfg(feature = "schema")]
    pub fn schema<D: schemars::JsonSchema, R: schemars::JsonSchema>(mut self) -> Self {
        let name = self.name.clone();
        let route = self.last_route("schema::<D, R>()");
        let shape = route.shape.as_mut().expect("hand-written routes have a shape");
        let (data, reply) = (std::any::type_name::<D>(), std::any::type_name::<R>());
        assert!(
            (data, reply) == (shape.data, shape.reply),
            "`{name}.schema::<{data}, {reply}>()` does not match route `{}`, whose handler takes `{}` and replies `{}`",
            route.message_type,
            shape.data,
            shape.reply,
        );
        shape.data_schema = |set| Some(set.schema_of::<D>());
        shape.reply_schema = |set| Some(set.schema_of::<R>());
        self
    }

    /// Gives the route added last a timeout: when it (its guard and handler)
    /// takes longer, the client gets a `timeout` error and the work is
    /// dropped; the connection stays.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ori::{SocketContext, SocketRoutes};
    ///
    /// async fn report(_ctx: SocketContext) {}
    ///
    /// let routes = SocketRoutes::named("Reports").route("report.build", report).timeout(Duration::from_secs(5));
    /// ```
    ///
    /// # Panics
    ///
    /// If no route was added yet.
    pub fn timeout(mut self, limit: std::time::Duration) -> Self {
        let route = self.last_route("timeout(..)");
        route.handler = Arc::new(Timed { inner: route.handler.clone(), limit });
        if let Some(shape) = route.shape.as_mut() {
            shape.timeout = Some(limit);
        }
        self
    }

    /// Puts `layer` in front of every route added so far: it sees each of
    /// their messages first and their outcome last (see
    /// [`SocketLayer`](crate::layer::SocketLayer)). Each call wraps what is
    /// there, so the layer added last runs first; routes added after it are
    /// not wrapped.
    ///
    /// ```
    /// use ori::layer::{Outcome, from_fn};
    /// use ori::{Data, SocketContext, SocketRoutes};
    ///
    /// let routes = SocketRoutes::named("Counter")
    ///     .route("count", |_ctx: SocketContext, n: u32| async move { Data(n + 1) })
    ///     .layer(from_fn(|mut message, next| async move {
    ///         // Doubles what the client sent before the route sees it.
    ///         let doubled = message.data_as::<u32>().and_then(|n| message.set_data(&(n * 2)));
    ///         match doubled {
    ///             Ok(()) => next.run(message).await,
    ///             Err(bad_request) => Outcome::error(bad_request),
    ///         }
    ///     }));
    /// ```
    pub fn layer<L: SocketLayer>(self, layer: L) -> Self {
        self.wrapped(&layer::wrapper(Arc::new(layer)))
    }

    /// Every route so far behind `wrap`.
    pub(crate) fn wrapped(mut self, wrap: &layer::Wrap) -> Self {
        for route in &mut self.routes {
            route.handler = wrap(route.handler.clone());
        }
        self
    }

    /// The route added last, which `call` (a builder method's name) applies
    /// to; none yet is a mistake of the program.
    fn last_route(&mut self, call: &str) -> &mut Route {
        let name = &self.name;
        self.routes.last_mut().unwrap_or_else(|| {
            panic!("`{name}.{call}` applies to the route added before it: add a route first")
        })
    }

    /// Adds an already-erased handler.
    pub(crate) fn handler(
        mut self,
        message_type: &'static str,
        handler: Arc<dyn MessageHandler>,
        state: Option<StateKey>,
        shape: Option<RouteShape>,
    ) -> Self {
        self.routes.push(Route {
            message_type,
            handler,
            state,
            router: self.name.clone(),
            needs: 0,
            metrics: None,
            shape,
        });
        self
    }

    /// Every route so far needs the router-scoped guards in `needs`.
    pub(crate) fn needing(mut self, needs: u64) -> Self {
        for route in &mut self.routes {
            route.needs |= needs;
        }
        self
    }

    /// The set's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The message types routed and what they declare, in the order added.
    pub(crate) fn shapes(&self) -> Vec<(&'static str, Option<RouteShape>)> {
        self.routes.iter().map(|r| (r.message_type, r.shape.clone())).collect()
    }

    pub(crate) fn into_routes(self) -> Vec<Route> {
        self.routes
    }
}

impl std::fmt::Debug for SocketRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketRoutes")
            .field("name", &self.name)
            .field("types", &self.routes.iter().map(|r| r.message_type).collect::<Vec<_>>())
            .finish()
    }
}

/// Every route of the server, keyed by message type.
#[derive(Default)]
pub(crate) struct RouteTable {
    routes: HashMap<&'static str, Route, RandomState>,
}

impl RouteTable {
    pub(crate) fn build(sets: Vec<SocketRoutes>) -> Result<RouteTable, Error> {
        let mut table = RouteTable::default();
        for route in sets.into_iter().flat_map(SocketRoutes::into_routes) {
            validate_handler_type(route.message_type).map_err(|reason| Error::InvalidMessageType {
                message_type: route.message_type.to_owned(),
                router: route.router.to_string(),
                reason,
            })?;
            if let Some(first) = table.routes.get(route.message_type) {
                return Err(Error::DuplicateMessageType {
                    message_type: route.message_type.to_owned(),
                    first: first.router.to_string(),
                    second: route.router.to_string(),
                });
            }
            table.routes.insert(route.message_type, route);
        }
        Ok(table)
    }

    /// Gives every route its figures (metrics are on; `rendered`: by ori's
    /// Prometheus route).
    pub(crate) fn enable_metrics(&mut self, rendered: bool) {
        for route in self.routes.values_mut() {
            route.metrics = Some(RouteMetrics::register(route.message_type, rendered));
        }
    }

    pub(crate) fn get(&self, message_type: &str) -> Option<&Route> {
        self.routes.get(message_type)
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }
}
