//! [`SocketRouter`]: what `#[socket_router]` generates for an impl block: a
//! static route table, route metadata, and how to bind it to the built
//! router; and [`RouterRegistration`], what it submits with `inventory`
//! (only `&'static str`s and function pointers, built in const context; the
//! server sorts routers by name and never relies on their order).

use std::any::TypeId;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::connection::state::StateKey;
use crate::di::{Dep, Injectable, Resolver};
use crate::handles::socket::Socket;
use crate::hooks::guard::{ConnectionGuard, ErasedConnectionGuard};
use crate::hooks::guard_scope::GuardScope;
use crate::routing::SocketRoutes;
use crate::routing::handler::{MessageHandler, Started, Timed};
use crate::routing::schema::SchemaFn;

/// Dispatches one message with the router (and its message guards) in `B`.
pub type DispatchFn<B> = fn(&B, Socket, &'static str, &RawValue) -> Started;

/// One entry of a router's static route table.
#[derive(Debug)]
pub struct RouteDef<B: 'static> {
    /// The message `type`.
    pub message_type: &'static str,
    /// The monomorphic dispatch function.
    pub dispatch: DispatchFn<B>,
    /// The connection state the handler asks for.
    pub state: fn() -> Option<StateKey>,
    /// What the route is, for documentation, clients and errors.
    pub info: RouteInfo,
}

/// Metadata of one route, as written in the source.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// The message `type`.
    pub message_type: &'static str,
    /// The handler method's name.
    pub handler: &'static str,
    /// The Rust type of `data` (`()` when the handler takes none).
    pub request: &'static str,
    /// The Rust type the handler returns.
    pub reply: &'static str,
    /// The message guards, in order.
    pub guards: &'static [&'static str],
    /// The error codes the handler declares it may answer
    /// (`#[on("room.join", errors = ["room_full"])]`).
    pub errors: &'static [&'static str],
    /// How long the route may take (guards and handler) before it is
    /// answered `timeout` and its work dropped (`#[on("x", timeout = "5s")]`,
    /// or the router's `timeout`).
    pub timeout: Option<std::time::Duration>,
    /// The handler's doc comment.
    pub doc: &'static str,
    /// The JSON Schema of `data` (`None` without the feature `schema`, or
    /// for a type that does not implement `schemars::JsonSchema`).
    pub data_schema: SchemaFn,
    /// The JSON Schema of the reply's `data` (as `data_schema`).
    pub reply_schema: SchemaFn,
}

/// Compares what the source says; the schema functions are not compared.
impl PartialEq for RouteInfo {
    fn eq(&self, other: &Self) -> bool {
        let source =
            |r: &Self| (r.message_type, r.handler, r.request, r.reply, r.guards, r.errors, r.timeout, r.doc);
        source(self) == source(other)
    }
}

impl Eq for RouteInfo {}

/// A connection guard a router declares (built by the container, then erased
/// so the server can run it at connect time).
#[derive(Clone, Copy)]
pub struct GuardRef {
    pub(crate) dep: fn() -> Dep,
    pub(crate) erase: fn(&Resolver<'_>) -> Option<ErasedConnectionGuard>,
}

impl GuardRef {
    /// The reference to guard `G`.
    pub const fn of<G: ConnectionGuard + Injectable>() -> GuardRef {
        GuardRef { dep: Dep::of::<G>, erase: erase_guard::<G> }
    }
}

impl std::fmt::Debug for GuardRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("GuardRef").field(&(self.dep)().name()).finish()
    }
}

fn erase_guard<G: ConnectionGuard + Injectable>(resolver: &Resolver<'_>) -> Option<ErasedConnectionGuard> {
    resolver.get::<G>().map(ErasedConnectionGuard::new)
}

/// A socket router: an impl block whose `#[on("type")]` methods are routes.
///
/// Implemented by `#[socket_router]`; see the macro for the handler forms.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket router",
    note = "add `#[socket_router]` to an `impl {Self}` block whose methods carry `#[on(\"type\")]`"
)]
pub trait SocketRouter: Send + Sync + 'static {
    /// The router's name in start-up errors (the type's name).
    const NAME: &'static str;

    /// The module that declares the router (`module_path!()`): its app's
    /// description lists the typed pushes of the same crate.
    const MODULE: &'static str = "";

    /// What the router's connection guards decide: the connection (the
    /// default), or access to this router's routes only
    /// (`#[socket_router(guard = G, guard_scope = "router")]`).
    const GUARD_SCOPE: GuardScope = GuardScope::Connection;

    /// Metadata of every route, in source order.
    fn routes() -> Vec<RouteInfo>;

    /// The router's connection guards, in order (run once per connection,
    /// in [`GUARD_SCOPE`](Self::GUARD_SCOPE)).
    fn connection_guards() -> Vec<GuardRef>;

    /// What must be built before [`bind`](Self::bind): the router and its message guards.
    fn dependencies() -> Vec<Dep>;

    /// The routes, bound to the built router and guards.
    fn bind(resolver: &Resolver<'_>) -> SocketRoutes;
}

/// A route of a static table, bound to its router. `B` is a tuple of `Arc`s
/// (the router and its message guards), held by value: one pointer hop to
/// the router, as in a hand-written closure.
struct TableRoute<B: 'static> {
    bound: B,
    dispatch: DispatchFn<B>,
}

impl<B: Send + Sync + 'static> MessageHandler for TableRoute<B> {
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started {
        (self.dispatch)(&self.bound, socket, message_type, data)
    }
}

/// The routes of a generated router: its static table, bound to the router
/// and its message guards (generated code calls it through `__private`).
pub fn routes_from_table<B: Clone + Send + Sync + 'static>(
    name: &'static str,
    bound: B,
    table: &'static [RouteDef<B>],
) -> SocketRoutes {
    table.iter().fold(SocketRoutes::named(name), |routes, def| {
        let mut handler: Arc<dyn MessageHandler> =
            Arc::new(TableRoute { bound: bound.clone(), dispatch: def.dispatch });
        if let Some(limit) = def.info.timeout {
            handler = Arc::new(Timed { inner: handler, limit });
        }
        routes.handler(def.message_type, handler, (def.state)(), None)
    })
}

/// A router registered by `#[socket_router]` (not public API).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct RouterRegistration {
    pub(crate) name: &'static str,
    pub(crate) module: &'static str,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) dependencies: fn() -> Vec<Dep>,
    pub(crate) guards: fn() -> Vec<GuardRef>,
    pub(crate) guard_scope: GuardScope,
    pub(crate) routes: fn() -> Vec<RouteInfo>,
    pub(crate) bind: fn(&Resolver<'_>) -> SocketRoutes,
}

impl RouterRegistration {
    /// The registration of `R`.
    pub const fn of<R: SocketRouter>() -> RouterRegistration {
        RouterRegistration {
            name: R::NAME,
            module: R::MODULE,
            type_id: TypeId::of::<R>,
            dependencies: <R as SocketRouter>::dependencies,
            guards: R::connection_guards,
            guard_scope: R::GUARD_SCOPE,
            routes: R::routes,
            bind: R::bind,
        }
    }
}

inventory::collect!(RouterRegistration);

/// Every router registered in the binary, sorted by name.
pub(crate) fn registered_routers() -> Vec<RouterRegistration> {
    let mut routers: Vec<_> = inventory::iter::<RouterRegistration>.into_iter().copied().collect();
    routers.sort_by_key(|r| r.name);
    routers
}
