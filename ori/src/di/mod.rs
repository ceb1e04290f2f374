//! Dependency injection: providers registered with their constructors and
//! built once at start-up, dependencies first.

mod container;
mod dependency;
mod injectable;

pub(crate) use container::{Discovery, ProviderEntry, Providers};
pub use dependency::{Constructor, Dep, Dependency, Resolver};
pub use injectable::Injectable;
