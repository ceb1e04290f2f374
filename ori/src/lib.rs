//! # ori
//!
//! Real-time WebSocket back ends for Rust, declarative and typed: messages
//! `{"type", "data", "correlationId"}` are routed by `type` to async
//! handlers whose arguments and replies are Rust types; connections are
//! checked once by connection guards and per message by message guards;
//! topics carry pub/sub between connections (and, with a backend on Redis
//! or NATS, between server instances). The wire format is ori's protocol,
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
//! Topics can keep history ([`Ori::history`]): a client that comes back
//! subscribes with the last position it saw and gets what it missed, once.
//! Presence says who is on a topic across every instance: the server tracks
//! connections ([`Socket::track`]), clients subscribe with `"presence": true`
//! for the state and its diffs, and [`Sockets::presence`] reads it anywhere.
//!
//! Cargo features:
//! - `macros` (default): `#[socket_router]`, `#[on]`, `#[injectable]`, the guards
//!   and `#[derive(SocketMessage)]`;
//! - `redis`: [`pubsub::RedisBackend`](crate::pubsub), pub/sub across instances
//!   (with history and presence);
//! - `nats`: [`pubsub::NatsBackend`](crate::pubsub), pub/sub across instances on NATS;
//! - `client`: `client::Client`, a reconnecting client, and the typed stubs of
//!   `#[socket_router(client = Name)]`;
//! - `tls`: `wss://` served from PEM files (`Tls`), and `wss://` in the client;
//! - `schema`: JSON Schemas (via `schemars`) in [`Ori::describe`], and so in
//!   the AsyncAPI document and the generated TypeScript client;
//! - `testing`: `testing::Harness` (in process, no sockets) and
//!   `testing::TestServer` (a real server on a free loopback port; with
//!   `client`, it also connects typed stubs). Enable it in `[dev-dependencies]`;
//! - `prometheus`: ori's metrics served in Prometheus' text format
//!   (`Ori::metrics_route`); without it, [`Ori::metrics`] sends them to the
//!   `metrics` recorder the app installs.

// docs.rs (nightly) marks every item a feature gates with its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod app;
mod builder;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
mod connection;
pub mod describe;
pub mod di;
mod endpoint;
mod error;
mod handles;
mod hooks;
pub mod protocol;
pub mod pubsub;
pub mod routing;
mod server;
mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod util;
mod wire;
mod ws;

// The names an application uses every day; extension points stay in their
// public modules (`pubsub`, `routing`, `protocol`, `di`, `describe`).
pub use builder::{Ori, RawWebSocket};
pub use connection::SocketId;
pub use endpoint::compression::Compression;
pub use endpoint::config::WebSocketConfig;
pub use endpoint::rate_limit::RateLimit;
pub use error::{BoxError, Error, PubSubError};
pub use handles::{
    AppContext, ConnectionInfo, NotProvided, Presence, Provided, Socket, SocketContext, Sockets, TopicInfo,
};
pub use hooks::{
    CloseInfo, ConnectionGuard, GuardScope, IntoUpgradeOutcome, MessageGuard, Reject, TopicAuthorizer,
    UnroutedMessage, UpgradeRequest,
};
pub use protocol::{Data, IntoRawReply, IntoReply, Outbound, RawMessage, SocketError, SocketMessage};
pub use routing::SocketRoutes;
#[cfg(feature = "tls")]
pub use server::Tls;
pub use server::{Mounted, Server, ShutdownHandle};

/// Layers around socket handlers: middleware that sees each message before
/// its route and the [`Outcome`](layer::Outcome) after, and may change or
/// answer it. Added per route set
/// ([`SocketRoutes::layer`]), per router (`#[socket_router(layer = L)]`) or
/// for the whole app ([`Ori::layer`]).
pub mod layer {
    pub use crate::routing::layer::{FromFn, LayerMessage, Next, Outcome, SocketLayer, from_fn};
}

#[cfg(feature = "macros")]
#[doc(inline)]
pub use ori_macros::{SocketMessage, connection_guard, injectable, message_guard, on, socket_router};

// Lets the runtime's own tests and doctests use the macros.
#[allow(unused_extern_crates)]
extern crate self as ori;

/// The names most applications use: `use ori::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AppContext, CloseInfo, ConnectionGuard, Data, MessageGuard, Ori, Provided, RawMessage, RawWebSocket,
        Reject, Socket, SocketContext, SocketError, SocketId, SocketMessage, SocketRoutes, Sockets,
        UnroutedMessage, UpgradeRequest, WebSocketConfig,
    };
    #[cfg(feature = "macros")]
    pub use crate::{connection_guard, injectable, message_guard, on, socket_router};
}

/// The fuzz targets' entry points (`fuzz/`, FUZZING.md); only under `cargo fuzz`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

/// Not public API. Used by generated code; may change in any release.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The README's examples compile (checked by `cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
