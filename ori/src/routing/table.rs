//! [`SocketRoutes`] (routes as registered) and [`RouteTable`] (the one lookup
//! the server builds from all of them at start-up).

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use super::handler::{FnHandler, Guarded, Handler, MessageHandler};
use crate::connection::state::StateKey;
use crate::error::Error;
use crate::hooks::guard::MessageGuard;
use crate::protocol::validate_handler_type;

/// One registered route.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) message_type: &'static str,
    pub(crate) handler: Arc<dyn MessageHandler>,
    pub(crate) state: Option<StateKey>,
    /// The router that registered it, for start-up errors.
    pub(crate) router: Arc<str>,
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
        self.handler(message_type, Arc::new(FnHandler::new(handler)), state)
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
        let inner = FnHandler::new(handler);
        self.handler(message_type, Arc::new(Guarded { guard: Arc::new(guard), inner }), state)
    }

    /// Adds an already-erased handler.
    pub(crate) fn handler(
        mut self,
        message_type: &'static str,
        handler: Arc<dyn MessageHandler>,
        state: Option<StateKey>,
    ) -> Self {
        self.routes.push(Route { message_type, handler, state, router: self.name.clone() });
        self
    }

    /// The set's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The message types routed, in the order added.
    pub(crate) fn message_types(&self) -> Vec<&'static str> {
        self.routes.iter().map(|r| r.message_type).collect()
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

    pub(crate) fn get(&self, message_type: &str) -> Option<&Route> {
        self.routes.get(message_type)
    }

    pub(crate) fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }
}
