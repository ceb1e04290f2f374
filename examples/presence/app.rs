//! The seed's PresenceRouter, declarative: `#[socket_router]` routes,
//! `#[connection_guard]` / `#[message_guard]` guards and `#[injectable]`
//! providers. Nothing registers them by hand: `Ori::create()` finds every
//! router and provider in the binary.
//!
//! - Connect with `?token=...` (`alice-token`, `bob-token`, or `admin-token`);
//!   anything else is closed with 1008 by [`TokenGuard`].
//! - Each connection is tracked on the `presence` topic under its user id
//!   (ori presence: across every instance, gone when the connection closes).
//!   Subscribe to `presence` with `"presence": true` for the live list.
//! - `presence.heartbeat` `{"status": "online"}` sets the connection's status.
//! - `presence.getOnline` lists who is online, on every instance.
//! - `presence.setStatus` `{"status": "away"}` sets it and pushes
//!   `presence.changed` to subscribers of the `presence` topic.
//! - `presence.kick` `{"userId": "bob"}` (admins only) disconnects a user
//!   (their connections on every instance).
//!
//! `client = PresenceClient` also generates a typed client with one method per
//! handler; `examples/presence_client` drives this app with it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::Html;
use axum::routing::get;
use ori::prelude::*;
use ori::{AppContext, PubSubError};
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

/// What each connection is tracked with on the `presence` topic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct Status {
    /// `online`, `away`, ...
    pub status: String,
}

/// One online user, across every instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnlineUser {
    /// The user's id.
    pub user_id: String,
    /// The status of each of their connections.
    pub statuses: Vec<String>,
}

/// Pushed to the `presence` topic when a user sets a status.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, SocketMessage, JsonSchema)]
#[message(type = "presence.changed")]
#[serde(rename_all = "camelCase")]
pub struct PresenceChanged {
    /// The user.
    pub user_id: String,
    /// The new status.
    pub status: String,
}

/// Who is online (ori's presence, across every instance).
#[injectable]
pub struct PresenceService {
    ctx: AppContext,
}

impl PresenceService {
    /// Tracks a new connection of `user_id` as online.
    pub fn join(&self, socket: &Socket, user_id: &str) -> Result<(), SocketError> {
        socket.track(TOPIC, user_id, &Status { status: "online".to_owned() })?;
        Ok(())
    }

    /// Sets the status of one connection of `user_id` (no change: nothing is sent).
    pub fn set_status(&self, socket: &Socket, user_id: &str, status: &str) -> Result<(), SocketError> {
        socket.update(TOPIC, user_id, &Status { status: status.to_owned() })?;
        Ok(())
    }

    /// Everyone online, on every instance, sorted by id.
    pub async fn online(&self) -> Result<Vec<OnlineUser>, SocketError> {
        let here = self.ctx.sockets().presence::<Status>(TOPIC).await?;
        Ok(here
            .into_members()
            .into_iter()
            .map(|(user_id, metas)| OnlineUser {
                user_id,
                statuses: metas.into_iter().map(|m| m.status).collect(),
            })
            .collect())
    }

    /// Closes every connection of `user_id`, on every instance (presence
    /// knows them); returns how many.
    pub async fn kick(&self, user_id: &str) -> Result<usize, SocketError> {
        let sockets = self.ctx.sockets();
        let here = sockets.presence::<Status>(TOPIC).await?;
        let mut kicked = 0;
        for socket in here.sockets(user_id) {
            match sockets.disconnect(*socket, 4001, "kicked by an admin").await {
                Ok(()) => kicked += 1,
                Err(PubSubError::UnknownSocket(_)) => {} // closed meanwhile
                Err(error) => return Err(error.into()),
            }
        }
        Ok(kicked)
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
    /// Users online now, on every instance.
    pub online: usize,
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
    /// Sets this connection's status (watchers of `presence` see the
    /// change); replies how many users are online.
    #[on("presence.heartbeat")]
    async fn heartbeat(
        &self,
        ctx: SocketContext<AuthState>,
        data: Heartbeat,
    ) -> Result<HeartbeatAck, SocketError> {
        check_status(&data.status)?;
        self.presence.set_status(&ctx, &ctx.state().user_id, &data.status)?;
        Ok(HeartbeatAck { online: self.presence.online().await?.len() })
    }

    /// Everyone online, on every instance.
    #[on("presence.getOnline")]
    async fn get_online(&self) -> Result<Vec<OnlineUser>, SocketError> {
        self.presence.online().await
    }

    /// Sets this connection's status and tells the `presence` topic in a
    /// `presence.changed` push.
    #[on("presence.setStatus")]
    async fn set_status(&self, ctx: SocketContext<AuthState>, data: SetStatus) -> Result<(), SocketError> {
        check_status(&data.status)?;
        let user_id = &ctx.state().user_id;
        self.presence.set_status(&ctx, user_id, &data.status)?;
        let changed = PresenceChanged { user_id: user_id.clone(), status: data.status };
        ctx.sockets().emit(TOPIC, &changed)?;
        Ok(())
    }

    /// Disconnects a user's connections on every instance (admins only).
    #[on("presence.kick", guard = AdminGuard, errors = ["not_found"])]
    async fn kick(&self, _ctx: SocketContext<AuthState>, data: Kick) -> Result<Kicked, SocketError> {
        match self.presence.kick(&data.user_id).await? {
            0 => Err(SocketError::new("not_found", format!("`{}` is not online", data.user_id))),
            connections => Ok(Kicked { connections }),
        }
    }
}

fn check_status(status: &str) -> Result<(), SocketError> {
    if status.is_empty() || status.len() > 32 {
        return Err(SocketError::bad_request("status must be 1 to 32 characters"));
    }
    Ok(())
}

/// The presence application: every `#[socket_router]` and `#[injectable]`
/// of the binary is mounted; `on_open` tracks each connection on the
/// `presence` topic under its user id (ori untracks it when it closes, and
/// removes the members of an instance that dies). It serves a page at `/`
/// (a live member list, built on the generated `presence_api.js`) and its
/// AsyncAPI document at `/asyncapi.json`. With `ORI_PUBSUB_URL` set, every
/// instance shows the same members.
pub fn app() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .on_open(|ws: SocketContext<AuthState>| async move {
            if let Some(presence) = ws.app().get::<PresenceService>()
                && presence.join(&ws, &ws.state().user_id).is_err()
            {
                ws.close(1011, "could not track the connection's presence");
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
