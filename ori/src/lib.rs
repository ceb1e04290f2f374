//! # ori
//!
//! Real-time WebSocket back ends for Rust, declarative and typed: messages
//! `{"type", "data", "correlationId"}` are routed by `type` to async
//! handlers whose arguments and replies are Rust types; connections are
//! checked once by connection guards and per message by message guards;
//! topics carry pub/sub between connections (and, with a provider such as
//! Redis, between server instances). The wire format is ori's protocol,
//! version 1 (`PROTOCOL.md` in the repository).
//!
//! ```no_run
//! use ori::{Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Say { room: String, text: String }
//!
//! #[derive(Serialize)]
//! struct Said { delivered: bool }
//!
//! async fn say(ctx: SocketContext, data: Say) -> Result<Said, SocketError> {
//!     let message = serde_json::json!({ "type": "chat.message", "data": data.text });
//!     ctx.publish(&data.room, &message)?; // everyone in the room but the sender
//!     Ok(Said { delivered: true })
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ori::Error> {
//!     Ori::create()
//!         .websocket(WebSocketConfig::default()) // at /ws
//!         .socket_routes(SocketRoutes::new().route("chat.say", say))
//!         .listen("127.0.0.1:3000")
//!         .await
//! }
//! ```
//!
//! Clients join topics with the built-in `subscribe` control message
//! (`{"type":"subscribe","data":{"topic":"room:1"}}`), check liveness with
//! `ping`, and receive replies carrying their `correlationId`.
//!
//! Cargo features:
//! - `macros` (default): `#[socket_router]`, `#[on]`, `#[injectable]`, the guards
//!   and `#[derive(SocketMessage)]`;
//! - `redis`: `RedisProvider`, pub/sub across instances;
//! - `client`: `client::Client`, a reconnecting client, the typed stubs of
//!   `#[socket_router(client = Name)]`, and `testing::TestServer`.

mod app;
mod authorizer;
#[cfg(any(feature = "redis", feature = "client"))]
mod backoff;
mod config;
mod connection;
mod context;
mod di;
mod dispatch;
mod error;
mod guard;
mod hub;
mod lifecycle;
mod message;
mod private;
pub mod protocol;
mod pubsub;
mod registry;
mod router;
mod routing;
mod runtime;
mod scratch;
mod server;
mod socket;
mod socket_id;
mod sockets;
mod state;
mod sync;
pub mod testing;
mod tracker;
mod upgrade;
mod ws;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;

pub use app::Ori;
pub use authorizer::TopicAuthorizer;
pub use config::WebSocketConfig;
pub use context::AppContext;
pub use di::{Constructor, Dep, Dependency, Injectable, Resolver};
pub use error::{BoxError, Error, PubSubError, SocketError};
pub use guard::{ConnectionGuard, MessageGuard, Reject};
pub use lifecycle::{CloseInfo, Message};
pub use message::SocketMessage;
pub use protocol::BROADCAST_TOPIC;
pub use pubsub::{InProcess, Outbound, ProviderContext, PubSubProvider, Subscribed, Subscriber};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use pubsub::{RedisProvider, RedisProviderBuilder, RedisStats};
pub use router::{DispatchFn, GuardRef, RouteDef, RouteInfo, SocketRouter};
pub use routing::{Handler, HandlerFuture, IntoReply, MessageHandler, Reply, SocketRoutes};
pub use server::{Server, ShutdownHandle};
pub use socket::{Socket, SocketContext};
pub use socket_id::SocketId;
pub use sockets::Sockets;
pub use upgrade::{IntoUpgradeOutcome, UpgradeRequest};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use ori_macros::{SocketMessage, connection_guard, injectable, message_guard, on, socket_router};

// Lets the runtime's own tests and doctests use the macros.
#[allow(unused_extern_crates)]
extern crate self as ori;

/// The names most applications use.
pub mod prelude {
    pub use crate::{
        AppContext, ConnectionGuard, MessageGuard, Ori, Reject, Socket, SocketContext, SocketError,
        SocketMessage, SocketRoutes, UpgradeRequest, WebSocketConfig,
    };
    #[cfg(feature = "macros")]
    pub use crate::{connection_guard, injectable, message_guard, on, socket_router};
}

/// Not public API. Used by generated code; may change in any release.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "client")]
    pub use crate::client;
    pub use crate::private::*;
    pub use crate::protocol::envelope::decode_data;
    pub use crate::registry::{ProviderRegistration, RouterRegistration};
    pub use crate::routing::guard_refusal;
    pub use crate::state::StateKey;
    pub use crate::{
        ConnectionGuard, Dep, Dependency, GuardRef, HandlerFuture, Injectable, IntoReply, MessageGuard,
        Reply, Resolver, RouteDef, RouteInfo, Socket, SocketContext, SocketError, SocketMessage,
        SocketRouter, SocketRoutes,
    };
    pub use ::inventory;
    pub use ::serde;
    pub use ::serde_json;
    pub use ::serde_json::value::RawValue;
    pub use ::std::boxed::Box;
    pub use ::std::clone::Clone;
    pub use ::std::convert::From;
    pub use ::std::default::Default;
    pub use ::std::iter::{Extend, Iterator};
    pub use ::std::result::Result::{self, Err, Ok};
    pub use ::std::sync::Arc;
    pub use ::std::vec::Vec;
}

/// The README's examples compile (checked by `cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
