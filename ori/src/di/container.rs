//! The provider registry and the start-up build in dependency order.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use super::dependency::{Constructor, Dep, Resolver};
use crate::context::ProviderMap;
use crate::{AppContext, Error};

type Build = Box<dyn FnOnce(&Resolver<'_>) -> Arc<dyn Any + Send + Sync> + Send>;

/// One registered provider.
pub(crate) struct ProviderEntry {
    provides: Dep,
    deps: Vec<Dep>,
    build: Build,
}

impl ProviderEntry {
    pub(crate) fn from_constructor<Args, C: Constructor<Args>>(constructor: C) -> ProviderEntry {
        ProviderEntry {
            provides: Dep::of::<C::Output>(),
            deps: C::dependencies(),
            build: Box::new(move |resolver| Arc::new(constructor.construct(resolver))),
        }
    }

    pub(crate) fn from_value<T: Send + Sync + 'static>(value: T) -> ProviderEntry {
        ProviderEntry {
            provides: Dep::of::<T>(),
            deps: Vec::new(),
            build: Box::new(move |_| Arc::new(value)),
        }
    }
}

/// Providers as registered, built at start-up.
#[derive(Default)]
pub(crate) struct Providers {
    entries: Vec<ProviderEntry>,
    overrides: Vec<ProviderEntry>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &Vec<ProviderEntry>| v.iter().map(|e| e.provides.name).collect::<Vec<_>>();
        f.debug_struct("Providers")
            .field("entries", &names(&self.entries))
            .field("overrides", &names(&self.overrides))
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    InProgress,
    Done,
}

struct Builder<'a> {
    pending: HashMap<TypeId, ProviderEntry>,
    visits: HashMap<TypeId, Visit>,
    stack: Vec<Dep>,
    built: ProviderMap,
    app: &'a AppContext,
}

impl Providers {
    pub(crate) fn add(&mut self, entry: ProviderEntry) {
        self.entries.push(entry);
    }

    /// Replaces the provider of the same type (or adds one).
    pub(crate) fn add_override(&mut self, entry: ProviderEntry) {
        self.overrides.retain(|o| o.provides.id != entry.provides.id);
        self.overrides.push(entry);
    }

    /// Builds every provider, dependencies first.
    pub(crate) fn build(self, app: &AppContext) -> Result<ProviderMap, Error> {
        let mut order = Vec::new();
        let mut pending = HashMap::new();
        for entry in self.entries {
            let provides = entry.provides;
            if pending.insert(provides.id, entry).is_some() {
                return Err(Error::DuplicateProvider(provides.name));
            }
            order.push(provides);
        }
        for entry in self.overrides {
            let provides = entry.provides;
            if pending.insert(provides.id, entry).is_none() {
                order.push(provides);
            }
        }
        let mut state =
            Builder { pending, visits: HashMap::new(), stack: Vec::new(), built: ProviderMap::new(), app };
        for dep in order {
            state.visit(dep, dep.name)?;
        }
        Ok(state.built)
    }
}

impl Builder<'_> {
    fn visit(&mut self, dep: Dep, required_by: &'static str) -> Result<(), Error> {
        match self.visits.get(&dep.id) {
            Some(Visit::Done) => return Ok(()),
            Some(Visit::InProgress) => {
                let start = self.stack.iter().position(|d| d.id == dep.id).unwrap_or(0);
                let mut path: Vec<_> = self.stack[start..].iter().map(|d| d.name).collect();
                path.push(dep.name);
                return Err(Error::DependencyCycle(path));
            }
            None => {}
        }
        let Some(entry) = self.pending.remove(&dep.id) else {
            return Err(Error::MissingProvider { missing: dep.name, required_by });
        };
        self.visits.insert(dep.id, Visit::InProgress);
        self.stack.push(dep);
        for needed in &entry.deps {
            self.visit(*needed, dep.name)?;
        }
        self.stack.pop();
        let value = (entry.build)(&Resolver::new(&self.built, self.app));
        self.built.insert(dep.id, value);
        self.visits.insert(dep.id, Visit::Done);
        Ok(())
    }
}
