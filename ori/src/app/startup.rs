//! What the server says when it starts: the routers it mounted, with their
//! message types and guards, and where it listens. Said through `tracing`
//! when the app installed a subscriber, else on stderr, so a router that is
//! missing (its crate not linked) shows without setting anything up.

use crate::describe::short_type_name;
use crate::routing::SocketRoutes;
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

/// One line per router and hand-written route set on the envelope endpoint:
/// `router PresenceRouter (connection guard TokenGuard): presence.heartbeat,
/// presence.kick [AdminGuard]`.
pub(crate) fn mounted(routers: &[RouterRegistration], route_sets: &[SocketRoutes]) -> Vec<String> {
    let mut lines = Vec::new();
    for router in routers {
        let guards: Vec<String> = (router.guards)().iter().map(|g| short_type_name(g.name())).collect();
        let routes: Vec<String> =
            (router.routes)().iter().map(|r| with_guards(r.message_type, r.guards)).collect();
        lines.push(line("router", router.name, &guards, &routes));
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

fn line(kind: &str, name: &str, connection_guards: &[String], routes: &[String]) -> String {
    let guards = match connection_guards {
        [] => String::new(),
        [one] => format!(" (connection guard {one})"),
        many => format!(" (connection guards {})", many.join(", ")),
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
