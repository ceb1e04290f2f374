//! Dependency injection: providers registered with their constructors and
//! built once at start-up, dependencies first.
//!
//! With the macros, `#[injectable]` writes the [`Injectable`] impl; without
//! them, [`Ori::provide`](crate::Ori::provide) takes a constructor (an async
//! or plain fn whose arguments are `Arc<T>` providers or [`AppContext`](crate::AppContext)).

mod container;
mod dependency;
pub(crate) mod injectable;

pub(crate) use container::{Discovery, ProviderEntry, Providers};
pub use dependency::{Constructor, Dep, Dependency, Resolver};
pub use injectable::Injectable;
