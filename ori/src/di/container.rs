//! The provider registry and the start-up build in dependency order.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use super::dependency::{Constructor, Dep, Resolver};
use crate::di::injectable::ProviderRegistration;
use crate::error::Error;
use crate::handles::app_context::{AppContext, ProviderMap};

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

impl ProviderEntry {
    fn from_registration(registration: &'static ProviderRegistration) -> ProviderEntry {
        ProviderEntry {
            provides: (registration.provides)(),
            deps: (registration.dependencies)(),
            build: Box::new(|resolver| (registration.build)(resolver)),
        }
    }
}

/// Which registered (`#[injectable]`) providers to build besides the explicit ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discovery {
    /// All of them.
    All,
    /// Only those the explicit providers and the roots need.
    Reachable,
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

    /// Builds every provider, dependencies first: the explicit ones, the
    /// registered ones `discovery` selects, and whatever `roots` (each with
    /// what needs it) depend on.
    pub(crate) fn build(
        self,
        app: &AppContext,
        registered: &[&'static ProviderRegistration],
        discovery: Discovery,
        roots: &[(Dep, &'static str)],
    ) -> Result<ProviderMap, Error> {
        let mut order = Vec::new();
        let mut pending = HashMap::new();
        for entry in self.entries {
            let provides = entry.provides;
            if pending.insert(provides.id, entry).is_some() {
                return Err(Error::DuplicateProvider(provides.name));
            }
            order.push(provides);
        }
        let overridden: Vec<TypeId> = self.overrides.iter().map(|o| o.provides.id).collect();
        let by_type: HashMap<TypeId, &'static ProviderRegistration> =
            registered.iter().map(|r| ((r.provides)().id, *r)).collect();
        let mut wanted: Vec<Dep> = match discovery {
            Discovery::All => registered.iter().map(|r| (r.provides)()).collect(),
            Discovery::Reachable => pending
                .values()
                .flat_map(|e: &ProviderEntry| e.deps.iter().copied())
                .chain(self.overrides.iter().flat_map(|e| e.deps.iter().copied()))
                .chain(roots.iter().map(|(dep, _)| *dep))
                .collect(),
        };
        let explicit: Vec<TypeId> = pending.keys().copied().collect();
        while let Some(dep) = wanted.pop() {
            if pending.contains_key(&dep.id) || overridden.contains(&dep.id) {
                if matches!(discovery, Discovery::All)
                    && explicit.contains(&dep.id)
                    && by_type.contains_key(&dep.id)
                {
                    return Err(Error::DuplicateProvider(dep.name));
                }
                continue;
            }
            if let Some(registration) = by_type.get(&dep.id) {
                let entry = ProviderEntry::from_registration(registration);
                wanted.extend(entry.deps.iter().copied());
                order.push(entry.provides);
                pending.insert(dep.id, entry);
            }
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
        for (dep, required_by) in roots {
            state.visit(*dep, required_by)?;
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
