//! The seed's PresenceRouter, declarative: `#[socket_router]` routes,
//! `#[connection_guard]` / `#[message_guard]` guards and `#[injectable]`
//! providers. Nothing registers them by hand: `Ori::create()` finds every
//! router and provider in the binary.
//!
//! - Connect with `?token=...` (`alice-token`, `bob-token`, or `admin-token`);
//!   anything else is closed with 1008 by [`TokenGuard`].
//! - `presence.heartbeat` `{"status": "online"}` marks the sender online.
//! - `presence.getOnline` lists who is online.
//! - `presence.setStatus` `{"status": "away"}` changes the sender's status and
//!   pushes `presence.changed` to subscribers of the `presence` topic.
//! - `presence.kick` `{"userId": "bob"}` (admins only) disconnects a user.
//!
//! `client = PresenceClient` also generates a typed client with one method per
//! handler; `examples/presence_client` drives this app with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::Html;
use axum::routing::get;
use ori::prelude::*;
use ori::{AppContext, CloseInfo, SocketId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The topic that receives `presence.changed`.
pub const TOPIC: &str = "presence";

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May use everything but `presence.kick`.
    Member,
    /// May also kick.
    Admin,
}

/// Who a connection belongs to: the state [`TokenGuard`] produces.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// The user's id.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
}

/// The users and their tokens (replace with your identity provider).
#[injectable]
pub struct UserDirectory {
    #[inject(default)]
    users: DemoUsers,
}

/// A fixed set of demo users.
pub struct DemoUsers(HashMap<&'static str, AuthState>);

impl Default for DemoUsers {
    fn default() -> Self {
        let user = |id: &str, role| AuthState { user_id: id.to_owned(), role };
        DemoUsers(HashMap::from([
            ("alice-token", user("alice", Role::Member)),
            ("bob-token", user("bob", Role::Member)),
            ("admin-token", user("admin", Role::Admin)),
        ]))
    }
}

impl UserDirectory {
    /// A directory of the given tokens (the tests override the demo users with it).
    #[allow(dead_code)]
    pub fn with_users(users: impl IntoIterator<Item = (&'static str, AuthState)>) -> Self {
        UserDirectory { users: DemoUsers(users.into_iter().collect()) }
    }

    fn find(&self, token: &str) -> Option<AuthState> {
        self.users.0.get(token).cloned()
    }
}

/// Turns the `token` query parameter (or `Authorization: Bearer ...`) into
/// [`AuthState`]; runs once per connection.
#[connection_guard]
pub struct TokenGuard {
    users: Arc<UserDirectory>,
}

impl ConnectionGuard for TokenGuard {
    type State = AuthState;

    async fn check(&self, request: &UpgradeRequest) -> Result<AuthState, Reject> {
        let bearer =
            request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).map(str::to_owned);
        let token = request.query("token").or(bearer).unwrap_or_default();
        self.users.find(&token).ok_or_else(|| Reject::new("invalid or missing token"))
    }
}

/// Lets only admins through; runs before each guarded message.
#[message_guard]
pub struct AdminGuard;

impl MessageGuard for AdminGuard {
    async fn check(&self, socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        match socket.try_state::<AuthState>() {
            Some(auth) if auth.role == Role::Admin => Ok(()),
            _ => Err(Reject::new("admin role required")),
        }
    }
}

/// One online user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnlineUser {
    /// The user's id.
    pub user_id: String,
    /// Their status (`online`, `away`, ...).
    pub status: String,
    /// Heartbeats received.
    pub heartbeats: u64,
}

/// Pushed to the `presence` topic when a status changes.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, SocketMessage, JsonSchema)]
#[message(type = "presence.changed")]
#[serde(rename_all = "camelCase")]
pub struct PresenceChanged {
    /// The user.
    pub user_id: String,
    /// The new status (`offline` when they left).
    pub status: String,
}

/// Who is online, and on which sockets.
#[injectable]
pub struct PresenceService {
    ctx: AppContext,
    #[inject(default)]
    online: Mutex<HashMap<String, (OnlineUser, Vec<SocketId>)>>,
}

impl PresenceService {
    /// Records a heartbeat from `socket`; returns the heartbeat count.
    pub fn heartbeat(&self, user_id: &str, socket: SocketId, status: &str) -> u64 {
        let mut online = self.online.lock().unwrap();
        let (user, sockets) = online.entry(user_id.to_owned()).or_insert_with(|| {
            let user = OnlineUser { user_id: user_id.to_owned(), status: status.to_owned(), heartbeats: 0 };
            (user, Vec::new())
        });
        user.heartbeats += 1;
        user.status = status.to_owned();
        if !sockets.contains(&socket) {
            sockets.push(socket);
        }
        user.heartbeats
    }

    /// Changes a user's status and tells the `presence` topic.
    pub fn set_status(&self, user_id: &str, socket: SocketId, status: &str) -> Result<(), SocketError> {
        self.heartbeat(user_id, socket, status);
        let changed = PresenceChanged { user_id: user_id.to_owned(), status: status.to_owned() };
        self.ctx.sockets().emit(TOPIC, &changed)?;
        Ok(())
    }

    /// Everyone online, sorted by id.
    pub fn online(&self) -> Vec<OnlineUser> {
        let mut users: Vec<_> = self.online.lock().unwrap().values().map(|(u, _)| u.clone()).collect();
        users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        users
    }

    /// Forgets `socket`; when it was the user's last one, the user goes offline.
    pub fn leave(&self, user_id: &str, socket: SocketId) {
        let gone = {
            let mut online = self.online.lock().unwrap();
            let Some((_, sockets)) = online.get_mut(user_id) else { return };
            sockets.retain(|s| *s != socket);
            sockets.is_empty() && online.remove(user_id).is_some()
        };
        if gone {
            let changed = PresenceChanged { user_id: user_id.to_owned(), status: "offline".to_owned() };
            let _ = self.ctx.sockets().emit(TOPIC, &changed);
        }
    }

    /// Closes every connection of `user_id`; returns how many.
    pub fn kick(&self, user_id: &str) -> usize {
        let sockets = self.online.lock().unwrap().get(user_id).map(|(_, s)| s.clone()).unwrap_or_default();
        for id in &sockets {
            if let Some(socket) = self.ctx.sockets().get(*id) {
                socket.close(4001, "kicked by an admin");
            }
        }
        sockets.len()
    }
}

/// `presence.heartbeat` data.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Heartbeat {
    /// The sender's status.
    pub status: String,
}

/// `presence.heartbeat` reply.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HeartbeatAck {
    /// Heartbeats received from this user.
    pub heartbeats: u64,
}

/// `presence.setStatus` data.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SetStatus {
    /// The new status.
    pub status: String,
}

/// `presence.kick` data.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Kick {
    /// Who to disconnect.
    pub user_id: String,
}

/// `presence.kick` reply.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Kicked {
    /// Connections closed.
    pub connections: usize,
}

/// The presence routes.
#[injectable]
pub struct PresenceRouter {
    presence: Arc<PresenceService>,
}

#[socket_router(guard = TokenGuard, client = PresenceClient)]
impl PresenceRouter {
    /// Marks the sender online with a status.
    #[on("presence.heartbeat")]
    async fn heartbeat(
        &self,
        ctx: SocketContext<AuthState>,
        data: Heartbeat,
    ) -> Result<HeartbeatAck, SocketError> {
        if data.status.is_empty() || data.status.len() > 32 {
            return Err(SocketError::bad_request("status must be 1 to 32 characters"));
        }
        let heartbeats = self.presence.heartbeat(&ctx.state().user_id, ctx.id(), &data.status);
        Ok(HeartbeatAck { heartbeats })
    }

    /// Everyone online.
    #[on("presence.getOnline")]
    async fn get_online(&self) -> Vec<OnlineUser> {
        self.presence.online()
    }

    /// Changes the sender's status and tells the `presence` topic.
    #[on("presence.setStatus")]
    async fn set_status(&self, ctx: SocketContext<AuthState>, data: SetStatus) -> Result<(), SocketError> {
        self.presence.set_status(&ctx.state().user_id, ctx.id(), &data.status)
    }

    /// Disconnects a user (admins only).
    #[on("presence.kick", guard = AdminGuard, errors = ["not_found"])]
    async fn kick(&self, _ctx: SocketContext<AuthState>, data: Kick) -> Result<Kicked, SocketError> {
        match self.presence.kick(&data.user_id) {
            0 => Err(SocketError::new("not_found", format!("`{}` is not online", data.user_id))),
            connections => Ok(Kicked { connections }),
        }
    }
}

/// The presence application: every `#[socket_router]` and `#[injectable]`
/// of the binary is mounted; `on_close` marks users offline. It serves a
/// page at `/` (built on the generated `presence_api.js`) and its AsyncAPI
/// document at `/asyncapi.json`.
pub fn app() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .on_close(|ws: SocketContext<AuthState>, _info: CloseInfo| async move {
            if let Some(presence) = ws.app().get::<PresenceService>() {
                presence.leave(&ws.state().user_id, ws.id());
            }
        })
        .serve_asyncapi("/asyncapi.json", "presence", env!("CARGO_PKG_VERSION"))
        .routes(
            axum::Router::new()
                .route("/", get(|| async { Html(include_str!("presence.html")) }))
                .route(
                    "/examples/presence/presence_api.js",
                    get(|| async { ori_examples::javascript(include_str!("presence_api.js")) }),
                )
                .merge(ori_examples::client_runtime()),
        )
}
