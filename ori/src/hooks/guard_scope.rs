//! [`GuardScope`]: what a connection guard decides. Connection-scoped
//! guards (the default, and every guard added with `Ori::connection_guard`)
//! decide the connection: every connection of the endpoint must pass them.
//! Router-scoped guards decide access to their router's routes only.

/// What a router's connection guards decide (`#[socket_router(guard = G,
/// guard_scope = "router")]`).
///
/// Either way the guards run once per connection, at connect time, and a
/// state they produce reaches the handlers of the routers they guard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GuardScope {
    /// Every connection of the endpoint must pass the guard: a refusal
    /// closes it with 1008, whichever router it came from. The default.
    #[default]
    Connection,
    /// The guard decides access to this router's routes only: a connection
    /// it refuses stays open, keeps every other route, and each of its
    /// messages on this router's routes is answered `forbidden` (with the
    /// guard's reason). A guard some other router (or the app) runs in
    /// connection scope is passed by every connection anyway.
    Router,
}
