//! Attribute macros of [ori](https://docs.rs/ori). Use them through the `ori`
//! crate (`use ori::prelude::*` or `ori::socket_router`); generated code names
//! the runtime only as `::ori::__private` (or the path given with `crate = ..`).
//!
//! The crate is organised parse → model → expand, one file per macro in each
//! (`entry.rs` runs the pipeline): `parse/` reads the attributes' grammar
//! with spans, `model/` checks every rule that needs no types and collects
//! all errors (`ctxt.rs`), and `expand/` only emits tokens.
//! Set `ORI_MACROS_DEBUG=1` to print every expansion to stderr.

use proc_macro::TokenStream;

use crate::model::injectable::Kind;

mod ctxt;
mod entry;
mod expand;
mod model;
mod names;
mod parse;
mod paths;

fn debug(name: &str, tokens: proc_macro2::TokenStream) -> TokenStream {
    if std::env::var_os("ORI_MACROS_DEBUG").is_some() {
        eprintln!("---- ori-macros: #[{name}] ----\n{tokens}");
    }
    tokens.into()
}

/// Turns the `#[on("type")]` methods of an inherent impl into socket routes.
///
/// The router's struct is built by the container: mark it `#[injectable]`
/// (its fields are its dependencies). Every `#[socket_router]` in the binary
/// is mounted by `Ori::create()`; `.only_socket_router::<R>()` mounts only `R`.
///
/// ```
/// use std::sync::Arc;
/// use ori::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone)]
/// struct Auth { user: String }
///
/// #[connection_guard]
/// struct TokenGuard;
/// impl ConnectionGuard for TokenGuard {
///     type State = Auth;
///     async fn check(&self, req: &UpgradeRequest) -> Result<Auth, Reject> {
///         req.query("token").map(|user| Auth { user }).ok_or_else(|| Reject::new("token required"))
///     }
/// }
///
/// #[injectable]
/// struct Presence;
///
/// #[derive(Deserialize)]
/// struct Heartbeat { status: String }
/// #[derive(Serialize)]
/// struct Ack { ok: bool }
///
/// #[injectable]
/// struct PresenceRouter { presence: Arc<Presence> }
///
/// #[socket_router(guard = TokenGuard)]
/// impl PresenceRouter {
///     /// Doc comments become route metadata.
///     #[on("presence.heartbeat")]
///     async fn heartbeat(&self, ctx: SocketContext<Auth>, data: Heartbeat) -> Result<Ack, SocketError> {
///         Ok(Ack { ok: !ctx.state().user.is_empty() && !data.status.is_empty() })
///     }
///
///     #[on("presence.ping")]
///     async fn ping(&self) -> &'static str {
///         "pong"
///     }
/// }
/// ```
///
/// Arguments: `guard = G` (repeatable; connection guards, run in order, each a
/// `#[connection_guard]`), `guard_scope = "router"` (what the guards decide:
/// by default every connection of the endpoint must pass them, and a refusal
/// closes it with 1008, whichever router declared them; with `"router"` they
/// decide this router's routes only, and a connection they refuse gets
/// `forbidden` there and keeps every other route), `layer = L` (repeatable; an `#[injectable]`
/// `ori::layer::SocketLayer` around every route, the first written outermost),
/// `timeout = "30s"` (for the routes without their
/// own: past it, a `timeout` error and the handler dropped), `client = Name` (a typed client stub with one async
/// method per handler, when ori's `client` feature is on; handlers may not be
/// named `new`, `connect` or `client`), `crate = path` (where `ori` is, if
/// renamed).
///
/// Handler forms: `async fn(&self [, ctx: SocketContext<S>] [, data: T]) -> R`
/// where `T: Deserialize`, `R` is `()`, any `Serialize`, or `Result<T, E>`
/// with `E: Into<SocketError>`. To relay `data` without parsing it, take and
/// return `Box<serde_json::value::RawValue>`: it arrives as the client wrote
/// it (checked once, as the message was read) and is copied into the reply. With one router guard, `S` must be its
/// `State` (or `()`). Each `#[on]` takes the message type first, then
/// `guard = G` (repeatable; `#[message_guard]`s run before the handler) and
/// `errors = ["code", ...]` (the error codes the handler itself answers, for
/// `Ori::describe` and the clients generated from it) and `timeout = "5s"`
/// (`ms`, `s` or `m`; past it, guards included, the client gets a `timeout`
/// error and the handler is dropped).
///
/// Mistakes are compile errors on the offending token, all reported at once:
///
/// ```compile_fail
/// use ori::prelude::*;
///
/// #[injectable]
/// struct Router;
///
/// #[socket_router]
/// impl Router {
///     #[on("ping")] // reserved by the protocol
///     async fn ping(&self) {}
/// }
/// ```
#[proc_macro_attribute]
pub fn socket_router(args: TokenStream, input: TokenStream) -> TokenStream {
    debug("socket_router", entry::socket_router(args.into(), input.into()))
}

/// Marks a method of a `#[socket_router]` impl as the handler of a message
/// type: `#[on("presence.heartbeat")]`, optionally `guard = G` (repeatable)
/// and `errors = ["not_found"]` (the codes its `SocketError`s use, listed in
/// the app's description, AsyncAPI document and TypeScript client).
/// Anywhere else it is a compile error.
#[proc_macro_attribute]
pub fn on(_args: TokenStream, input: TokenStream) -> TokenStream {
    entry::stray_on(input.into()).into()
}

/// Makes a struct buildable by the container and registers it as a provider:
/// every field is a dependency.
///
/// Fields are `Arc<T>` (another provider), `AppContext`, `#[inject(default)]`
/// (built with `Default`), or `#[inject(value)]` (a clone of the provided `T`).
/// A missing provider or a cycle stops start-up with an error naming the types.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use ori::{AppContext, injectable};
///
/// #[derive(Clone)]
/// struct Settings { max_users: usize }
///
/// #[injectable]
/// struct Store;
///
/// #[injectable]
/// struct PresenceService {
///     store: Arc<Store>,
///     ctx: AppContext,
///     #[inject(default)]
///     online: Mutex<HashMap<String, String>>,
///     #[inject(value)]
///     settings: Settings,
/// }
/// ```
#[proc_macro_attribute]
pub fn injectable(args: TokenStream, input: TokenStream) -> TokenStream {
    debug("injectable", entry::injectable(Kind::Injectable, args.into(), input.into()))
}

/// `#[injectable]` for a type that implements `ConnectionGuard`, so routers
/// can name it with `#[socket_router(guard = ..)]`.
#[proc_macro_attribute]
pub fn connection_guard(args: TokenStream, input: TokenStream) -> TokenStream {
    debug("connection_guard", entry::injectable(Kind::ConnectionGuard, args.into(), input.into()))
}

/// `#[injectable]` for a type that implements `MessageGuard`, so routes can
/// name it with `#[on("type", guard = ..)]`.
#[proc_macro_attribute]
pub fn message_guard(args: TokenStream, input: TokenStream) -> TokenStream {
    debug("message_guard", entry::injectable(Kind::MessageGuard, args.into(), input.into()))
}

/// Implements `ori::SocketMessage` from `#[message(type = "...")]`, for
/// typed pushes (`sockets.emit(topic, &message)`).
///
/// ```
/// #[derive(serde::Serialize, ori::SocketMessage)]
/// #[message(type = "monitor.statusChanged")]
/// struct StatusChanged { id: u64, status: String }
/// ```
#[proc_macro_derive(SocketMessage, attributes(message))]
pub fn derive_socket_message(input: TokenStream) -> TokenStream {
    debug("derive(SocketMessage)", entry::socket_message(input.into()))
}
