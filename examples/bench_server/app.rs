//! The benchmark app: `bench.echo`, `bench.publish`, `bench.track` and
//! `bench.untrack` on a `#[socket_router]`, history on the topics `hist:*`
//! (1,000 messages, 5 minutes), an upgrade handler that answers 401 without
//! a `token`, and a connection guard that turns the token into connection
//! state (run on every connection). Beside them, `bench.admin.echo` on a
//! router whose guard is router-scoped: it admits tokens that begin with
//! `admin`, and any other connection gets `forbidden` there while every
//! other route keeps working.

use ori::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

/// What the connection guard makes of the token: an authenticated client
/// (a stand-in for a real token lookup).
#[derive(Debug, Clone)]
pub struct Client;

/// Turns the upgrade's token into [`Client`] state.
#[connection_guard]
pub struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = Client;

    async fn check(&self, request: &UpgradeRequest) -> Result<Client, Reject> {
        match request.query("token") {
            Some(token) if !token.is_empty() => Ok(Client),
            _ => Err(Reject::new("a token is required")),
        }
    }
}

/// What the admin guard makes of an admin token.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The token it was given.
    pub token: String,
}

/// Admits tokens that begin with `admin`, for [`AdminRouter`]'s routes only.
#[connection_guard]
pub struct AdminGuard;

impl ConnectionGuard for AdminGuard {
    type State = Admin;

    async fn check(&self, request: &UpgradeRequest) -> Result<Admin, Reject> {
        match request.query("token") {
            Some(token) if token.starts_with("admin") => Ok(Admin { token }),
            _ => Err(Reject::new("admin token required")),
        }
    }
}

/// `bench.publish` data.
#[derive(Debug, Deserialize)]
pub struct Publish {
    /// Where to publish.
    pub topic: String,
    /// What subscribers receive as `data`.
    pub payload: Box<RawValue>,
}

/// `bench.track` data.
#[derive(Debug, Deserialize)]
pub struct Track {
    /// Where to track.
    pub topic: String,
    /// The member key.
    pub key: String,
    /// The meta (`null` when absent).
    #[serde(default)]
    pub meta: Box<RawValue>,
}

/// `bench.untrack` data.
#[derive(Debug, Deserialize)]
pub struct Untrack {
    /// Where the key is tracked.
    pub topic: String,
    /// The member key.
    pub key: String,
}

/// The benchmark routes.
#[injectable]
pub struct BenchRouter;

#[socket_router(guard = TokenGuard)]
impl BenchRouter {
    /// Replies with `data` unchanged.
    #[on("bench.echo")]
    async fn echo(&self, data: Box<RawValue>) -> Box<RawValue> {
        data
    }

    /// Publishes `{"type":"bench.message","data":payload}` to `topic`, except to the sender.
    #[on("bench.publish")]
    async fn publish(&self, ctx: SocketContext<Client>, data: Publish) -> Result<(), SocketError> {
        if ori::protocol::is_reserved_topic(&data.topic) {
            return Err(SocketError::forbidden("topics beginning with `__` are reserved"));
        }
        let message = ori::Outbound::json("bench.message", &data.payload)
            .map_err(|e| SocketError::bad_request(e.to_string()))?;
        ctx.publish(&data.topic, message)?;
        Ok(())
    }

    /// Tracks the calling connection as `key` with `meta` on `topic`.
    #[on("bench.track")]
    async fn track(&self, ctx: SocketContext<Client>, data: Track) -> Result<(), SocketError> {
        ctx.track(&data.topic, &data.key, &data.meta)?;
        Ok(())
    }

    /// Untracks the calling connection as `key` on `topic`.
    #[on("bench.untrack")]
    async fn untrack(&self, ctx: SocketContext<Client>, data: Untrack) {
        ctx.untrack(&data.topic, &data.key);
    }
}

/// The admin routes: public and guarded routes side by side on one
/// connection. Its guard decides these routes only (`guard_scope =
/// "router"`): a connection without an admin token is not closed, and gets
/// `forbidden` here.
#[injectable]
pub struct AdminRouter;

#[socket_router(guard = AdminGuard, guard_scope = "router")]
impl AdminRouter {
    /// Replies with `data` unchanged, to admins.
    #[on("bench.admin.echo")]
    async fn echo(&self, ctx: SocketContext<Admin>, data: Box<RawValue>) -> Box<RawValue> {
        debug_assert!(ctx.state().token.starts_with("admin"));
        data
    }
}

/// Applies `ORI_MAX_MESSAGE_BYTES` (the inbound message limit) from the environment.
pub fn limits_from_env(config: WebSocketConfig) -> Result<WebSocketConfig, String> {
    match std::env::var("ORI_MAX_MESSAGE_BYTES") {
        Ok(bytes) => {
            let bytes = bytes.parse().map_err(|e| format!("ORI_MAX_MESSAGE_BYTES={bytes}: {e}"))?;
            Ok(config.max_message_size(bytes))
        }
        Err(_) => Ok(config),
    }
}

/// The benchmark application: the upgrade handler answers HTTP 401 before
/// any WebSocket is opened when the `token` query parameter is missing or
/// empty; topics `hist:*` keep their last 1,000 messages for 5 minutes.
pub fn app(config: WebSocketConfig) -> Ori {
    Ori::create()
        .websocket(config)
        .history("hist:*", 1_000, std::time::Duration::from_secs(300))
        .upgrade_handler(|request: UpgradeRequest| async move {
            request.query("token").is_some_and(|t| !t.is_empty()).then_some(())
        })
}
