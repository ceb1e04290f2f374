//! What `#[derive(SocketMessage)]` submits with `inventory`: the typed
//! pushes of the binary, for its [`ApiDescription`](super::ApiDescription).

use crate::routing::SchemaFn;

/// A typed push registered by `#[derive(SocketMessage)]` (not public API).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct PushRegistration {
    /// The message `type`.
    pub message_type: &'static str,
    /// The Rust type's name.
    pub rust: &'static str,
    /// Its doc comment.
    pub doc: &'static str,
    /// The module that declares it (`module_path!()`).
    pub module: &'static str,
    /// Its JSON Schema.
    pub schema: SchemaFn,
}

inventory::collect!(PushRegistration);

/// The registered pushes declared in one of `crates`, by message type (one per type).
pub(crate) fn registered(crates: &[&str]) -> Vec<PushRegistration> {
    let mut pushes: Vec<_> = inventory::iter::<PushRegistration>
        .into_iter()
        .filter(|push| crates.contains(&crate_of(push.module)))
        .copied()
        .collect();
    pushes.sort_by_key(|p| (p.message_type, p.rust));
    pushes.dedup_by_key(|p| p.message_type);
    pushes
}

/// The crate of a `module_path!()`.
pub(crate) fn crate_of(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}
