//! What `#[socket_router]` submits with `inventory`, and the collected view
//! the server reads at start-up.
//!
//! Registrations hold only `&'static str`s and function pointers, so they are
//! built in const context; the server never relies on their order (it sorts
//! routers by name and checks for duplicates once, at start-up).

use std::any::TypeId;

use crate::di::{Dep, Resolver};
use crate::routing::SocketRoutes;
use crate::routing::router::{GuardRef, RouteInfo, SocketRouter};

/// A router registered by `#[socket_router]` (not public API).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct RouterRegistration {
    pub(crate) name: &'static str,
    pub(crate) module: &'static str,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) dependencies: fn() -> Vec<Dep>,
    pub(crate) guards: fn() -> Vec<GuardRef>,
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
            routes: R::routes,
            bind: R::bind,
        }
    }
}

inventory::collect!(RouterRegistration);

/// Every router registered in the binary, sorted by name.
pub(crate) fn routers() -> Vec<RouterRegistration> {
    let mut routers: Vec<_> = inventory::iter::<RouterRegistration>.into_iter().copied().collect();
    routers.sort_by_key(|r| r.name);
    routers
}
