//! Chat: one room, written with a `#[socket_router]` for `chat.say`, a
//! connection guard naming the member, lifecycle handlers (`on_open`,
//! `on_close`) that announce arrivals and departures, and an HTTP route that
//! publishes into the room. The room keeps its last 100 messages (history):
//! a member joins it with the last position it saw (`subscribe` with
//! `since`), so a reloaded page or a dropped connection gets what it missed,
//! once. Pub/sub is in-process; nothing to install. Its page
//! (`chat.html`) is built on the generated JavaScript client (`chat_api.js`,
//! `cargo run -p ori-examples --example chat -- generate`), served with the
//! client runtime as they are: no bundler.
//!
//! Wire protocol (besides the built-in `ping`/`subscribe`/`unsubscribe`):
//! - client -> server `{"type":"chat.say","data":{"text":"hi"},"correlationId":"1"}`,
//!   answered `{"type":"chat.say","data":{"delivered":true},"correlationId":"1"}`;
//! - server -> client `chat.welcome` (naming the room to join), then, once
//!   the client subscribed to the room, `chat.joined`, `chat.message` (the
//!   sender's own too: everyone sees the room in one order), `chat.left`,
//!   `chat.announcement`, each `{"type": ..., "data": {...}, "topic": ...,
//!   "offset": n}`.
//! - Without a `name` (1 to 32 characters) the connection is closed with 1008.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use ori::prelude::*;
use ori::{AppContext, CloseInfo};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The topic every member joins.
pub const ROOM: &str = "chat:lobby";
/// Longest accepted member name and message, in characters.
const MAX_NAME: usize = 32;
const MAX_TEXT: usize = 2000;

/// Who is on a connection (from the `name` query parameter).
#[derive(Debug, Clone)]
pub struct Member {
    /// Display name.
    pub name: String,
}

/// Names the member from the `name` query parameter; without one (or with
/// one too long) the connection is closed with 1008 and the reason.
#[connection_guard]
pub struct NameGuard;

impl ConnectionGuard for NameGuard {
    type State = Member;

    async fn check(&self, request: &UpgradeRequest) -> Result<Member, Reject> {
        let name = request.query("name").unwrap_or_default();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(Reject::new(format!("a name of 1 to {MAX_NAME} characters is required (?name=...)")));
        }
        Ok(Member { name: name.to_owned() })
    }
}

/// Sent to a member when it connects: the room to subscribe to.
#[derive(Debug, Serialize, Deserialize, JsonSchema, SocketMessage)]
#[message(type = "chat.welcome")]
pub struct Welcome {
    /// The member's socket id.
    pub socket_id: String,
    /// The room's topic.
    pub room: String,
}

/// Published to the room when a member joins.
#[derive(Debug, Serialize, Deserialize, JsonSchema, SocketMessage)]
#[message(type = "chat.joined")]
pub struct Joined {
    /// Display name.
    pub name: String,
}

/// Published to the room when a member leaves.
#[derive(Debug, Serialize, Deserialize, JsonSchema, SocketMessage)]
#[message(type = "chat.left")]
pub struct Left {
    /// Display name.
    pub name: String,
}

/// A member's message, as the room receives it.
#[derive(Debug, Serialize, Deserialize, JsonSchema, SocketMessage)]
#[message(type = "chat.message")]
pub struct ChatMessage {
    /// Sender's name.
    pub from: String,
    /// The text.
    pub text: String,
}

/// An announcement made over HTTP.
#[derive(Debug, Serialize, Deserialize, JsonSchema, SocketMessage)]
#[message(type = "chat.announcement")]
pub struct Announcement {
    /// The text.
    pub text: String,
}

/// `chat.say` data.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Say {
    /// The text to send to the room.
    pub text: String,
}

/// `chat.say` reply.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Said {
    /// Always `true`: the message went to the room.
    pub delivered: bool,
}

/// The room's one route.
#[injectable]
pub struct ChatRouter;

#[socket_router(guard = NameGuard)]
impl ChatRouter {
    /// Sends a message to the room (the sender receives it too, in the
    /// room's order).
    #[on("chat.say")]
    async fn say(&self, ws: SocketContext<Member>, data: Say) -> Result<Said, SocketError> {
        if data.text.trim().is_empty() || data.text.chars().count() > MAX_TEXT {
            return Err(SocketError::bad_request(format!("text must be 1..={MAX_TEXT} characters")));
        }
        ws.sockets().emit(ROOM, &ChatMessage { from: ws.state().name.clone(), text: data.text })?;
        Ok(Said { delivered: true })
    }
}

/// The chat application (add a Redis backend with `.pubsub(..)` to run
/// several instances as one room): the room keeps its last 100 messages for
/// an hour.
pub fn app() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .history(ROOM, 100, std::time::Duration::from_secs(3600))
        .on_open(|ws: SocketContext<Member>| async move {
            let _ = ws.send_message(&Welcome { socket_id: ws.id().to_string(), room: ROOM.to_owned() });
            let _ = ws.emit(ROOM, &Joined { name: ws.state().name.clone() });
        })
        .on_close(|ws: SocketContext<Member>, _info: CloseInfo| async move {
            let _ = ws.sockets().emit(ROOM, &Left { name: ws.state().name.clone() });
        })
        .routes(
            Router::new()
                .route("/", get(page))
                .route("/announce", post(announce))
                .route(
                    "/examples/chat/chat_api.js",
                    get(|| async { ori_examples::javascript(include_str!("chat_api.js")) }),
                )
                .merge(ori_examples::client_runtime()),
        )
}

/// `POST /announce` with a text body: publishes a `chat.announcement` to the
/// room (every instance); answers `{"membersHere": n}`, the members connected
/// to this instance (not those of other instances).
async fn announce(State(ctx): State<AppContext>, text: String) -> (StatusCode, Json<serde_json::Value>) {
    if text.trim().is_empty() {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": "empty announcement" })));
    }
    let sockets = ctx.sockets();
    match sockets.emit(ROOM, &Announcement { text }) {
        Ok(()) => {
            // This instance's members only: counts across instances come with presence
            // (`Sockets::presence`), which this example does not track.
            let here = sockets.subscriber_count(ROOM);
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "membersHere": here })))
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({ "error": e.to_string() }))),
    }
}

/// The page: a browser client built on the generated `chat_api.js`.
async fn page() -> Html<&'static str> {
    Html(include_str!("chat.html"))
}
