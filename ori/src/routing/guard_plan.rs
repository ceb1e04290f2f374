//! [`GuardPlan`]: the one place that works out, from the app's guards and
//! the mounted routers, which connection guard runs in which
//! [`GuardScope`]. The server runs that plan, and `describe()`, AsyncAPI,
//! the TypeScript client and the start-up lines say it.

use std::any::TypeId;

use crate::connection::state::GuardScopeBit;
use crate::error::Error;
use crate::hooks::guard_scope::GuardScope;
use crate::routing::router::RouterRegistration;

/// A guard as the plan knows it: its type, and its name for descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GuardName {
    pub(crate) id: TypeId,
    pub(crate) name: &'static str,
}

/// Which guard runs in which scope, for one endpoint.
#[derive(Debug, Default)]
pub(crate) struct GuardPlan {
    /// Every connection must pass these, in the order they run: the app's
    /// own, then each router's connection-scoped ones (routers in order),
    /// each type once.
    pub(crate) connection: Vec<GuardName>,
    /// The router-scoped guards that are not connection guards, each type
    /// once; a guard's position is its [`GuardScopeBit`].
    pub(crate) router: Vec<GuardName>,
    /// Per router (in the order given): the mask of the router-scoped
    /// guards its routes need.
    pub(crate) needs: Vec<u64>,
}

impl GuardPlan {
    /// The plan for the app's own guards and `routers` (in mount order).
    pub(crate) fn new(app_guards: &[GuardName], routers: &[RouterRegistration]) -> Result<GuardPlan, Error> {
        let mut plan = GuardPlan { connection: app_guards.to_vec(), ..GuardPlan::default() };
        let guards_of = |router: &RouterRegistration| {
            (router.guards)().into_iter().map(|g| {
                let dep = (g.dep)();
                GuardName { id: dep.id, name: dep.name() }
            })
        };
        for router in routers.iter().filter(|r| r.guard_scope == GuardScope::Connection) {
            for guard in guards_of(router) {
                if !plan.connection.iter().any(|g| g.id == guard.id) {
                    plan.connection.push(guard);
                }
            }
        }
        for router in routers {
            let mut needs = 0;
            if router.guard_scope == GuardScope::Router {
                for guard in guards_of(router) {
                    if plan.connection.iter().any(|g| g.id == guard.id) {
                        continue;
                    }
                    let position = match plan.router.iter().position(|g| g.id == guard.id) {
                        Some(position) => position,
                        None => {
                            plan.router.push(guard);
                            plan.router.len() - 1
                        }
                    };
                    if position >= GuardScopeBit::MAX {
                        return Err(Error::InvalidConfig(format!(
                            "more than {} router-scoped guards on one endpoint (at `{}` of `{}`); \
                             combine some into one guard",
                            GuardScopeBit::MAX,
                            guard.name,
                            router.name
                        )));
                    }
                    needs |= GuardScopeBit(position as u8).mask();
                }
            }
            plan.needs.push(needs);
        }
        Ok(plan)
    }

    /// The names of the router-scoped guards in `needs`, in plan order.
    pub(crate) fn router_guard_names(&self, needs: u64) -> Vec<&'static str> {
        self.router.iter().enumerate().filter(|(i, _)| needs & (1 << i) != 0).map(|(_, g)| g.name).collect()
    }

    /// The names of the connection guards, in the order they run.
    pub(crate) fn connection_guard_names(&self) -> Vec<&'static str> {
        self.connection.iter().map(|g| g.name).collect()
    }
}
