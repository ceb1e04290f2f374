//! What `#[injectable]` submits with `inventory`, and the collected view the
//! container reads at start-up. A registration holds only function pointers,
//! so it is built in const context.

use std::any::Any;
use std::sync::Arc;

use crate::di::{Dep, Injectable, Resolver};

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
pub(crate) fn providers() -> impl Iterator<Item = &'static ProviderRegistration> {
    inventory::iter::<ProviderRegistration>.into_iter()
}
