//! What `#[injectable]` and `#[socket_router]` submit with `inventory`, and
//! the collected view the server reads at start-up.
//!
//! Registrations hold only `&'static str`s and function pointers, so they are
//! built in const context; the server never relies on their order (it sorts
//! routers by name and checks for duplicates once, at start-up).

use std::any::{Any, TypeId};
use std::sync::Arc;

use crate::di::{Dep, Injectable, Resolver};
use crate::router::{GuardRef, SocketRouter};
use crate::routing::SocketRoutes;

/// A provider registered by `#[injectable]` (not public API).
#[doc(hidden)]
#[derive(Debug)]
pub struct ProviderRegistration {
    pub(crate) provides: fn() -> Dep,
    pub(crate) dependencies: fn() -> Vec<Dep>,
    pub(crate) build: fn(&Resolver<'_>) -> Arc<dyn Any + Send + Sync>,
}

impl ProviderRegistration {
    /// The registration of `T`.
    pub const fn of<T: Injectable>() -> ProviderRegistration {
        ProviderRegistration {
            provides: Dep::of::<T>,
            dependencies: T::dependencies,
            build: build_shared::<T>,
        }
    }
}

fn build_shared<T: Injectable>(resolver: &Resolver<'_>) -> Arc<dyn Any + Send + Sync> {
    Arc::new(T::build(resolver))
}

/// A router registered by `#[socket_router]` (not public API).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct RouterRegistration {
    pub(crate) name: &'static str,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) dependencies: fn() -> Vec<Dep>,
    pub(crate) guards: fn() -> Vec<GuardRef>,
    pub(crate) bind: fn(&Resolver<'_>) -> SocketRoutes,
}

impl RouterRegistration {
    /// The registration of `R`.
    pub const fn of<R: SocketRouter>() -> RouterRegistration {
        RouterRegistration {
            name: R::NAME,
            type_id: TypeId::of::<R>,
            dependencies: <R as SocketRouter>::dependencies,
            guards: R::connection_guards,
            bind: R::bind,
        }
    }
}

inventory::collect!(ProviderRegistration);
inventory::collect!(RouterRegistration);

/// Every provider registered in the binary.
pub(crate) fn providers() -> impl Iterator<Item = &'static ProviderRegistration> {
    inventory::iter::<ProviderRegistration>.into_iter()
}

/// Every router registered in the binary, sorted by name.
pub(crate) fn routers() -> Vec<RouterRegistration> {
    let mut routers: Vec<_> = inventory::iter::<RouterRegistration>.into_iter().copied().collect();
    routers.sort_by_key(|r| r.name);
    routers
}
