//! What the server says when it starts: the guards every connection must
//! pass, the routers it mounted with their message types and router-scoped
//! guards, and where it listens. Said through `tracing`
//! when the app installed a subscriber, else on stderr, so a router that is
//! missing (its crate not linked) shows without setting anything up.

use crate::describe::short_type_name;
use crate::routing::SocketRoutes;
use crate::routing::guard_plan::GuardPlan;
use crate::routing::router::RouterRegistration;

/// Says `line` at INFO: through the app's `tracing` subscriber, or on
/// stderr (`ori: ...`) when there is none.
pub(crate) fn announce(line: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::info!("{line}");
    } else {
        eprintln!("ori: {line}");
    }
}

/// The lines that say what the envelope endpoint enforces: one for the
/// connection guards every connection must pass (if any), then one per
/// router and hand-written route set, with its router-scoped guards:
/// `connection guards (every connection; a refusal closes it with 1008):
/// TokenGuard`, `router AdminRouter (router guard AdminGuard; a refusal
/// answers forbidden): admin.echo, admin.kick [AuditGuard]`.
pub(crate) fn mounted(
    guards: &GuardPlan,
    routers: &[RouterRegistration],
    route_sets: &[SocketRoutes],
) -> Vec<String> {
    let mut lines = Vec::new();
    let connection: Vec<String> = guards.connection.iter().map(|g| short_type_name(g.name)).collect();
    if !connection.is_empty() {
        lines.push(format!(
            "connection guards (every connection; a refusal closes it with 1008): {}",
            connection.join(", ")
        ));
    }
    for (router, needs) in routers.iter().zip(&guards.needs) {
        let scoped: Vec<String> =
            guards.router_guard_names(*needs).into_iter().map(short_type_name).collect();
        let routes: Vec<String> =
            (router.routes)().iter().map(|r| with_guards(r.message_type, r.guards)).collect();
        lines.push(line("router", router.name, &scoped, &routes));
    }
    for set in route_sets {
        let routes: Vec<String> = set
            .shapes()
            .into_iter()
            .map(|(message_type, shape)| {
                let guard = shape.and_then(|s| s.guard).map(short_type_name);
                with_guards(message_type, guard.as_slice())
            })
            .collect();
        lines.push(line("routes", set.name(), &[], &routes));
    }
    lines
}

fn line(kind: &str, name: &str, router_guards: &[String], routes: &[String]) -> String {
    let guards = match router_guards {
        [] => String::new(),
        [one] => format!(" (router guard {one}; a refusal answers forbidden)"),
        many => format!(" (router guards {}; a refusal answers forbidden)", many.join(", ")),
    };
    format!("{kind} {name}{guards}: {}", routes.join(", "))
}

fn with_guards(message_type: &str, guards: &[impl AsRef<str>]) -> String {
    if guards.is_empty() {
        return message_type.to_owned();
    }
    let guards: Vec<&str> = guards.iter().map(AsRef::as_ref).collect();
    format!("{message_type} [{}]", guards.join(", "))
}
