//! What a constructor may ask for, and how it is resolved.

use std::any::TypeId;
use std::sync::Arc;

use crate::handles::app_context::{AppContext, ProviderMap};

/// The identity of a provided type, for ordering and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dep {
    pub(crate) id: TypeId,
    pub(crate) name: &'static str,
}

impl Dep {
    /// The dependency on a provider of `T`.
    pub fn of<T: 'static>() -> Dep {
        Dep { id: TypeId::of::<T>(), name: std::any::type_name::<T>() }
    }

    /// The type's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Gives constructors the providers built so far.
#[derive(Debug)]
pub struct Resolver<'a> {
    built: &'a ProviderMap,
    app: &'a AppContext,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(built: &'a ProviderMap, app: &'a AppContext) -> Resolver<'a> {
        Resolver { built, app }
    }

    /// The provider of `T`, if built.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.built.get(&TypeId::of::<T>())?.clone().downcast::<T>().ok()
    }

    /// The provider of `T`, which the container built first because `T` is a
    /// declared dependency.
    ///
    /// # Panics
    /// If `T` was not declared as a dependency (and so may not be built yet).
    pub fn provider<T: Send + Sync + 'static>(&self) -> Arc<T> {
        self.get::<T>().unwrap_or_else(|| {
            panic!("`{}` is not built; declare it as a dependency", std::any::type_name::<T>())
        })
    }

    /// A clone of the provided value of `T` (for `#[inject(value)]` fields).
    pub fn value<T: Clone + Send + Sync + 'static>(&self) -> T {
        (*self.provider::<T>()).clone()
    }

    /// The application context.
    pub fn app(&self) -> &AppContext {
        self.app
    }

    /// Resolves one dependency (its provider was built before, by construction).
    pub fn resolve<D: Dependency>(&self) -> D {
        D::resolve(self)
    }
}

/// A constructor argument the container can supply: `Arc<T>` for a provided
/// `T`, or [`AppContext`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected",
    note = "dependencies are `Arc<T>` (with `T` provided) or `ori::AppContext`; in an `#[injectable]` struct, \
            mark other fields `#[inject(default)]` (built with `Default`) or `#[inject(value)]` (a clone of the provided `T`)"
)]
pub trait Dependency: Sized + 'static {
    /// The provider this needs (`None` when always available).
    fn dep() -> Option<Dep>;

    /// Takes the value from the built providers.
    fn resolve(resolver: &Resolver<'_>) -> Self;
}

impl<T: Send + Sync + 'static> Dependency for Arc<T> {
    fn dep() -> Option<Dep> {
        Some(Dep::of::<T>())
    }

    fn resolve(resolver: &Resolver<'_>) -> Self {
        resolver.provider::<T>()
    }
}

impl Dependency for AppContext {
    fn dep() -> Option<Dep> {
        None
    }

    fn resolve(resolver: &Resolver<'_>) -> Self {
        resolver.app().clone()
    }
}

/// A function that builds a provider from its dependencies, e.g.
/// `fn new(store: Arc<Store>, ctx: AppContext) -> Service` or a closure.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a provider constructor",
    note = "a constructor is a function or closure whose arguments are `Arc<T>` or `ori::AppContext`"
)]
pub trait Constructor<Args>: Send + 'static {
    /// The provided type.
    type Output: Send + Sync + 'static;

    /// What it needs, in argument order.
    fn dependencies() -> Vec<Dep>;

    /// Builds the value.
    fn construct(self, resolver: &Resolver<'_>) -> Self::Output;
}

macro_rules! impl_constructor {
    ($($arg:ident),*) => {
        impl<F, T, $($arg,)*> Constructor<($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> T + Send + 'static,
            T: Send + Sync + 'static,
            $($arg: Dependency,)*
        {
            type Output = T;

            fn dependencies() -> Vec<Dep> {
                #[allow(unused_mut)]
                let mut deps = Vec::new();
                $(deps.extend($arg::dep());)*
                deps
            }

            #[allow(unused_variables)]
            fn construct(self, resolver: &Resolver<'_>) -> T {
                self($(resolver.resolve::<$arg>()),*)
            }
        }
    };
}

impl_constructor!();
impl_constructor!(A1);
impl_constructor!(A1, A2);
impl_constructor!(A1, A2, A3);
impl_constructor!(A1, A2, A3, A4);
impl_constructor!(A1, A2, A3, A4, A5);
impl_constructor!(A1, A2, A3, A4, A5, A6);
impl_constructor!(A1, A2, A3, A4, A5, A6, A7);
impl_constructor!(A1, A2, A3, A4, A5, A6, A7, A8);
