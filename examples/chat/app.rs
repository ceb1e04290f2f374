//! Chat: one room, written with lifecycle handlers (`open`, `message`,
//! `close`), an upgrade handler naming the member, and an HTTP route that
//! publishes into the room. Pub/sub is in-process; nothing to install.
//!
//! Wire protocol (besides the built-in `ping`/`subscribe`/`unsubscribe`):
//! - client -> server `{"type":"chat.say","data":{"text":"hi"},"correlationId":"1"}`,
//!   answered `{"type":"chat.say","data":{"delivered":true},"correlationId":"1"}`;
//! - server -> client `chat.welcome`, `chat.joined`, `chat.message`, `chat.left`,
//!   `chat.announcement`, each `{"type": ..., "data": {...}}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use ori::{
    AppContext, Ori, SocketContext, SocketError, SocketMessage, UnroutedMessage, UpgradeRequest,
    WebSocketConfig,
};
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

/// Sent to a member when it joins.
#[derive(Debug, Serialize)]
pub struct Welcome {
    /// The member's socket id.
    pub socket_id: String,
    /// The room's topic.
    pub room: &'static str,
}

impl SocketMessage for Welcome {
    const TYPE: &'static str = "chat.welcome";
}

/// Published to the room when a member joins.
#[derive(Debug, Serialize)]
pub struct Joined {
    /// Display name.
    pub name: String,
}

impl SocketMessage for Joined {
    const TYPE: &'static str = "chat.joined";
}

/// Published to the room when a member leaves.
#[derive(Debug, Serialize)]
pub struct Left {
    /// Display name.
    pub name: String,
}

impl SocketMessage for Left {
    const TYPE: &'static str = "chat.left";
}

/// A member's message, as the room receives it.
#[derive(Debug, Serialize)]
pub struct ChatMessage {
    /// Sender's name.
    pub from: String,
    /// The text.
    pub text: String,
}

impl SocketMessage for ChatMessage {
    const TYPE: &'static str = "chat.message";
}

/// An announcement made over HTTP.
#[derive(Debug, Serialize)]
pub struct Announcement {
    /// The text.
    pub text: String,
}

impl SocketMessage for Announcement {
    const TYPE: &'static str = "chat.announcement";
}

/// `chat.say` data.
#[derive(Debug, Deserialize)]
pub struct Say {
    /// The text to send to the room.
    pub text: String,
}

/// `chat.say` reply.
#[derive(Debug, Serialize)]
pub struct Said {
    /// Always `true`: the message went to the room.
    pub delivered: bool,
}

/// The chat application, with `config` (the default, or a Redis provider to
/// run several instances as one room).
pub fn app(config: WebSocketConfig) -> Ori {
    Ori::create()
        .websocket(config)
        .upgrade_handler(|request: UpgradeRequest| async move {
            let name = request.query("name").unwrap_or_default();
            let name = name.trim();
            // `None` refuses the upgrade with HTTP 401.
            (!name.is_empty() && name.chars().count() <= MAX_NAME).then(|| Member { name: name.to_owned() })
        })
        .on_open(|ws: SocketContext<Member>| async move {
            if ws.subscribe(ROOM).await.is_ok() {
                let _ = ws.send_message(&Welcome { socket_id: ws.id().to_string(), room: ROOM });
                let _ = ws.emit(ROOM, &Joined { name: ws.state().name.clone() });
            }
        })
        .on_message(|ws: SocketContext<Member>, message: UnroutedMessage| async move {
            match message.message_type() {
                "chat.say" => {
                    let Say { text } = message.data()?;
                    if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
                        return Err(SocketError::bad_request(format!(
                            "text must be 1..={MAX_TEXT} characters"
                        )));
                    }
                    ws.emit(ROOM, &ChatMessage { from: ws.state().name.clone(), text })?;
                    Ok(Said { delivered: true })
                }
                other => Err(SocketError::unknown_type(other)),
            }
        })
        .on_close(|ws: SocketContext<Member>, _info| async move {
            let _ = ws.sockets().emit(ROOM, &Left { name: ws.state().name.clone() });
        })
        .routes(Router::new().route("/", get(page)).route("/announce", post(announce)))
}

/// `POST /announce` with a text body: publishes a `chat.announcement` to the
/// room (every instance); answers with the members connected to this instance.
async fn announce(State(ctx): State<AppContext>, text: String) -> (StatusCode, Json<serde_json::Value>) {
    if text.trim().is_empty() {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": "empty announcement" })));
    }
    let sockets = ctx.sockets();
    match sockets.emit(ROOM, &Announcement { text }) {
        Ok(()) => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "members": sockets.subscriber_count(ROOM) })))
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({ "error": e.to_string() }))),
    }
}

/// A minimal browser client.
async fn page() -> Html<&'static str> {
    Html(include_str!("chat.html"))
}
