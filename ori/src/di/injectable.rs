//! [`Injectable`]: a type the container can build from its dependencies.

use super::{Dep, Resolver};

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
