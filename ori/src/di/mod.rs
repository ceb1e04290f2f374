//! Dependency injection: providers registered with their constructors and
//! built once at start-up, dependencies first.

mod container;
mod dependency;

pub(crate) use container::{ProviderEntry, Providers};
pub use dependency::{Constructor, Dep, Dependency, Resolver};
