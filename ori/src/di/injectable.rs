//! [`Injectable`]: a type the container can build from its dependencies,
//! and [`ProviderRegistration`], what `#[injectable]` submits with
//! `inventory` so that the container finds it. A registration holds only
//! function pointers, so it is built in const context.

use std::any::Any;
use std::sync::Arc;

use crate::di::{Dep, Resolver};

/// A type the container builds from its dependencies: a provider, a router,
/// or a guard. `#[injectable]` (and `#[connection_guard]`, `#[message_guard]`)
/// implement it; every field is a dependency.
///
/// Written by hand it looks like this:
///
/// ```
/// use std::sync::Arc;
/// use ori::di::{Dep, Injectable, Resolver};
///
/// struct Store;
/// struct Presence { store: Arc<Store> }
///
/// impl Injectable for Presence {
///     fn dependencies() -> Vec<Dep> {
///         vec![Dep::of::<Store>()]
///     }
///     fn build(resolver: &Resolver<'_>) -> Self {
///         Presence { store: resolver.resolve() }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built by the container",
    note = "add `#[injectable]` to `{Self}` (`#[connection_guard]` or `#[message_guard]` for a guard)"
)]
pub trait Injectable: Sized + Send + Sync + 'static {
    /// The providers this needs.
    fn dependencies() -> Vec<Dep>;

    /// Builds the value; every dependency is built already.
    fn build(resolver: &Resolver<'_>) -> Self;
}

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

inventory::collect!(ProviderRegistration);

/// Every provider registered in the binary.
pub(crate) fn registered_providers() -> impl Iterator<Item = &'static ProviderRegistration> {
    inventory::iter::<ProviderRegistration>.into_iter()
}
