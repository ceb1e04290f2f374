//! `ori::__private`: what generated code names (the macros reach the
//! runtime only through here), and the compile-time checks that give their
//! mistakes readable errors. Not public API; may change in any release.

#[cfg(feature = "client")]
pub use crate::client;
pub use crate::connection::state::StateKey;
pub use crate::describe::PushRegistration;
pub use crate::di::injectable::ProviderRegistration;
pub use crate::di::{Dep, Dependency, Injectable, Resolver};
pub use crate::handles::socket::{Socket, SocketContext};
pub use crate::hooks::guard::{ConnectionGuard, MessageGuard};
pub use crate::hooks::guard_scope::GuardScope;
pub use crate::protocol::envelope::decode_data;
pub use crate::protocol::push::SocketMessage;
pub use crate::protocol::reply::{IntoReply, Reply};
pub use crate::protocol::socket_error::SocketError;
pub use crate::routing::handler::{HandlerFuture, MessageHandler, Started, guard_refusal};
pub use crate::routing::router::RouterRegistration;
pub use crate::routing::router::{
    DispatchFn, GuardRef, RouteDef, RouteInfo, SocketRouter, routes_from_table,
};
pub use crate::routing::schema::{SchemaOf, SchemaSet, ViaJsonSchema, ViaNothing, no_schema};
pub use crate::routing::shared::{SharedHandlerFn, WithShared};
pub use crate::routing::table::SocketRoutes;
pub use ::inventory;
pub use ::serde;
pub use ::serde_json;
pub use ::serde_json::value::RawValue;
pub use ::std::boxed::Box;
pub use ::std::clone::Clone;
pub use ::std::convert::From;
pub use ::std::default::Default;
pub use ::std::iter::{Extend, Iterator};
pub use ::std::option::Option::{self, None, Some};
pub use ::std::result::Result::{self, Err, Ok};
pub use ::std::sync::Arc;
pub use ::std::time::Duration;
pub use ::std::vec::Vec;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hooks::guard::Reject;
use crate::routing::layer::SocketLayer;

/// Declares traits that each stand for their bounds, implemented for every
/// type that meets them: generated code bounds on one, so that a type that
/// does not gets one error, with the message, label and note given here.
macro_rules! diagnostic_bounds {
    ($($(#[$doc:meta])* $name:ident: [$($bound:tt)+] => $message:literal, $label:literal, $note:literal;)+) => {$(
        $(#[$doc])*
        #[diagnostic::on_unimplemented(message = $message, label = $label, note = $note)]
        pub trait $name: $($bound)+ {}
        impl<T: $($bound)+> $name for T {}
    )+};
}

diagnostic_bounds! {
    /// The `data` argument of a handler.
    HandlerData: [DeserializeOwned + Send + 'static] =>
        "`{Self}` cannot be the `data` argument of a socket handler",
        "`{Self}` does not implement `serde::Deserialize`",
        "derive `serde::Deserialize` for `{Self}` (or take `serde_json::Value`)";

    /// What a handler replies with.
    HandlerReply: [Serialize + 'static] =>
        "`{Self}` cannot be the reply of a socket handler",
        "`{Self}` does not implement `serde::Serialize`",
        "derive `serde::Serialize` for `{Self}`, or return `()`";

    /// A handler's error type.
    HandlerError: [Into<SocketError>] =>
        "`{Self}` cannot become an error reply",
        "no `From<{Self}>` for `ori::SocketError`",
        "implement `From<{Self}> for ori::SocketError` (choosing the error `code`), or return `ori::SocketError`";

    /// The router type must be built by the container.
    RouterInjectable: [Injectable] =>
        "the router `{Self}` cannot be built by the container",
        "`{Self}` is not `#[injectable]`",
        "add `#[injectable]` to `struct {Self}`; its fields are its dependencies";

    /// A `guard = ..` of `#[socket_router]`.
    RouterConnectionGuard: [ConnectionGuard + Injectable] =>
        "`{Self}` is not a connection guard",
        "not a `#[connection_guard]`",
        "implement `ori::ConnectionGuard` for `{Self}` and mark the struct `#[connection_guard]`";

    /// A `guard = ..` of `#[on]`.
    RouteMessageGuard: [MessageGuard + Injectable] =>
        "`{Self}` is not a message guard",
        "not a `#[message_guard]`",
        "implement `ori::MessageGuard` for `{Self}` and mark the struct `#[message_guard]`";

    /// A `layer = ..` of `#[socket_router]`.
    RouterLayer: [SocketLayer + Injectable] =>
        "`{Self}` cannot be a router's layer",
        "not an `#[injectable]` `SocketLayer`",
        "implement `ori::layer::SocketLayer` for `{Self}` and mark the struct `#[injectable]` (the container builds it, as it builds the router)";
}

/// A handler's state is the one its router's connection guard produces.
#[diagnostic::on_unimplemented(
    message = "this handler asks for `SocketContext<{Self}>`, but the router's connection guard produces `{Expected}`",
    label = "expected `{Expected}`",
    note = "take `SocketContext<{Expected}>`, or guard the router with a guard whose `State` is `{Self}`"
)]
pub trait SameState<Expected> {}
impl<T> SameState<T> for T {}

// Generated code reaches the runtime through these functions; each bound is
// one of the traits above, so a mistake is reported once, with its fix.

/// Deserializes a handler's `data`; the error names the field.
pub fn decode_handler_data<T: HandlerData>(message_type: &str, data: &RawValue) -> Result<T, SocketError> {
    crate::protocol::envelope::decode_argument(message_type, data)
}

/// The reply to a `message_type` carrying `value` as `data` (`()` is an acknowledgement).
#[inline]
pub fn reply_value<T: HandlerReply>(message_type: &str, value: &T) -> Reply {
    Reply::json_for(message_type, value)
}

/// The error reply of a handler's `Err`.
pub fn reply_error<E: HandlerError>(error: E) -> Reply {
    Reply::Error(error.into())
}

/// The reply of a `Result`-like return type as a whole.
pub fn reply_any<R: IntoReply>(message_type: &str, value: R) -> Reply {
    value.into_reply_for(message_type)
}

/// A router's connection guard (the bound carries the diagnostic).
pub fn guard_ref<G: RouterConnectionGuard>() -> GuardRef {
    GuardRef::of::<G>()
}

/// Runs a route's message guard (the bound carries the diagnostic). The
/// future is boxed so that a type that is no guard fails this bound alone,
/// and the user reads one error.
pub fn run_message_guard<'a, G: RouteMessageGuard>(
    guard: &'a G,
    socket: &'a Socket,
    message_type: &'a str,
) -> BoxFuture<'a, Result<(), Reject>> {
    Box::pin(guard.check(socket, message_type))
}

/// Puts a router's `layer = L` in front of its routes.
pub fn layer_routes<L: RouterLayer>(routes: SocketRoutes, layer: Arc<L>) -> SocketRoutes {
    routes.wrapped(&crate::routing::layer::wrapper(layer))
}

/// Checks that a handler's state is its router's guard state.
pub fn check_state<S: SameState<G>, G>() {}
/// Checks that a router can be built.
pub fn check_router_injectable<T: RouterInjectable>() {}
/// Checks a `#[connection_guard]` type.
pub fn check_connection_guard_impl<G: ConnectionGuard>() {}
/// Checks a `#[message_guard]` type.
pub fn check_message_guard_impl<G: MessageGuard>() {}

/// The argument of a typed client stub's method.
#[cfg(feature = "client")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent by the typed client stub",
    label = "`{Self}` does not implement `serde::Serialize`",
    note = "derive `serde::Serialize` for `{Self}` as well as `Deserialize` (the stub sends what the handler receives), or drop `client = ...` from `#[socket_router]`"
)]
pub trait StubData: Serialize {}
#[cfg(feature = "client")]
impl<T: Serialize + ?Sized> StubData for T {}

/// The reply of a typed client stub's method.
#[cfg(feature = "client")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be received by the typed client stub",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "derive `serde::Deserialize` for `{Self}` as well as `Serialize` (the stub receives what the handler returns), or drop `client = ...` from `#[socket_router]`"
)]
pub trait StubReply: DeserializeOwned {}
#[cfg(feature = "client")]
impl<T: DeserializeOwned> StubReply for T {}

/// Serializes a stub's argument.
#[cfg(feature = "client")]
pub fn stub_data<D: StubData>(data: &D) -> Result<Box<RawValue>, crate::client::ClientError> {
    serde_json::value::to_raw_value(data).map_err(|e| crate::client::ClientError::Encode(e.to_string()))
}

/// Decodes a stub's reply.
#[cfg(feature = "client")]
pub fn stub_reply<R: StubReply>(
    message_type: &str,
    reply: Result<Box<RawValue>, crate::client::ClientError>,
) -> Result<R, crate::client::ClientError> {
    serde_json::from_str(reply?.get()).map_err(|e| crate::client::ClientError::Decode {
        message_type: message_type.to_owned(),
        error: e.to_string(),
    })
}

/// Expands to its input when ori's `client` feature is on, to nothing otherwise
/// (the typed client stubs of `#[socket_router(client = ...)]`).
#[cfg(feature = "client")]
#[doc(hidden)]
#[macro_export]
macro_rules! __ori_if_client {
    ($($item:tt)*) => { $($item)* };
}

/// Expands to its input when ori's `client` feature is on, to nothing otherwise.
#[cfg(not(feature = "client"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __ori_if_client {
    ($($item:tt)*) => {};
}

pub use crate::__ori_if_client as if_client;
