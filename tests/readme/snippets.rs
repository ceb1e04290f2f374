//! The README's Rust fragments (its `rust,ignore` blocks: parts of an app, not
//! whole programs), each in the smallest app around it. `readme_snippets.rs`
//! checks that every such block appears here line for line, so each one
//! compiles; CI's fresh-crate stage compiles this file again against the
//! packaged crates, with the dependencies README names.
#![allow(dead_code, unused_variables, clippy::unused_async)]

use std::sync::Arc;
use std::time::Duration;

use ori::client::{Client, Credentials};
use ori::prelude::*;
use ori::{ConnectionGuard, Presence, Reject, UpgradeRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;

// ---- "Rust clients"

/// Who a connection is.
#[derive(Debug, Clone)]
struct AuthState {
    user_id: String,
}

/// Admits `?token=alice-token`.
#[connection_guard]
struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = AuthState;

    async fn check(&self, request: &UpgradeRequest) -> Result<AuthState, Reject> {
        match request.query("token").as_deref() {
            Some("alice-token") => Ok(AuthState { user_id: "alice".into() }),
            _ => Err(Reject::new("invalid or missing token")),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Heartbeat {
    status: String,
}

#[derive(Serialize, Deserialize)]
struct HeartbeatAck {
    online: usize,
}

#[derive(Debug, Serialize, Deserialize, SocketMessage)]
#[message(type = "presence.changed")]
struct PresenceChanged {
    user_id: String,
    status: String,
}

#[injectable]
struct PresenceRouter;

// In the crate that holds the router (shared by server and clients):
#[socket_router(guard = TokenGuard, client = PresenceClient)]
impl PresenceRouter {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, ctx: SocketContext<AuthState>, data: Heartbeat) -> Result<HeartbeatAck, SocketError> {
        ctx.sockets().emit("presence", &PresenceChanged { user_id: ctx.state().user_id.clone(), status: data.status })?;
        Ok(HeartbeatAck { online: ctx.sockets().connections().len() })
    }
}

async fn rust_client() -> Result<(), Box<dyn std::error::Error>> {
    // In a client:
    let client = ori::client::Client::builder("ws://127.0.0.1:3000/ws")
        .query("token", "alice-token")   // or .header("authorization", "Bearer ...")
        .connect().await?;               // fails on 401 / close 1008, never retried
    let presence = PresenceClient::from(client.clone());
    let ack: HeartbeatAck = presence.heartbeat(Heartbeat { status: "online".into() }).await?;
    let mut changes = client.on::<PresenceChanged>();   // typed pushes
    client.subscribe("presence").await?;
    while let Some(change) = changes.recv().await { println!("{:?}", change?); }
    Ok(())
}

// ---- "TLS"

async fn tls() -> Result<(), ori::Error> {
    let tls = ori::Tls::from_pem_files("cert.pem", "key.pem")?;
    let reloader = tls.clone();              // reloader.reload() after a renewal: no restart
    Ori::create().websocket_at("/ws").tls(tls).listen("0.0.0.0:443").await
}

// ---- "Operating ori": health and planned restarts

fn health() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .health_routes()                      // GET /healthz, GET /readyz
        .drain_pause(Duration::from_secs(5))  // /readyz fails 5 s before connections are closed
        .drain_close_code(1012)               // "service restart" instead of 1001 "going away"
}

// ---- "Operating ori": tracing

fn tracing() {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::filter::{LevelFilter, Targets};

    tracing_subscriber::registry()
        .with(Targets::new().with_default(LevelFilter::INFO).with_target("ori", LevelFilter::DEBUG))
        .with(tracing_subscriber::fmt::layer())
        // .with(tracing_opentelemetry::layer().with_tracer(tracer))   // to OpenTelemetry
        .init();
}

// ---- "Operating ori": guard scope

/// An admin, as `AdminGuard` admits them.
#[derive(Debug, Clone)]
struct Admin {
    name: String,
}

/// Admits `?admin=...`.
#[connection_guard]
struct AdminGuard;

impl ConnectionGuard for AdminGuard {
    type State = Admin;

    async fn check(&self, request: &UpgradeRequest) -> Result<Admin, Reject> {
        request.query("admin").map(|name| Admin { name }).ok_or_else(|| Reject::new("admins only"))
    }
}

#[derive(Deserialize)]
struct Kick {
    user: String,
}

#[injectable]
struct AdminRouter;

#[socket_router(guard = AdminGuard, guard_scope = "router")]
impl AdminRouter {
    #[on("admin.kick")]
    async fn kick(&self, ctx: SocketContext<Admin>, data: Kick) -> Result<(), SocketError> {
        ctx.sockets().publish("kicks", &json!({"user": data.user, "by": ctx.state().name}))?;
        Ok(())
    }
}

// ---- "Operating ori": re-authentication

async fn reauthenticate(client: Client, fresh: String) -> Result<(), ori::client::ClientError> {
    // Rust client: now, and for every reconnection after.
    client.reauthenticate(Credentials::new().query("token", fresh)).await?;
    Ok(())
}

// ---- "Scaling out with Redis"

fn redis() -> Ori {
    let redis = ori::pubsub::RedisBackend::builder("redis://127.0.0.1:6379")
        .channel_prefix("chat:")   // default "ori:"
        .outage_buffer(1024)       // publishes kept while Redis is down (default)
        .build();
    Ori::create().websocket(WebSocketConfig::default()).pubsub(redis)
}

// ---- "Scaling out": on a Redis Cluster

fn redis_cluster() -> Ori {
    let cluster = ori::pubsub::RedisBackend::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
        .build();
    // Or as one URL (ORI_PUBSUB_URL, from_url): "redis+cluster://10.0.0.1:7000,10.0.0.2:7000"
    Ori::create().websocket(WebSocketConfig::default()).pubsub(cluster)
}

// ---- "Scaling out": on NATS

fn nats() -> Ori {
    let nats = ori::pubsub::NatsBackend::builder("nats://127.0.0.1:4222")
        .subject_prefix("chat")    // default "ori"
        .outage_buffer(1024)       // publishes kept while NATS is down (default)
        .build();
    Ori::create().websocket(WebSocketConfig::default()).pubsub(nats)
}

// ---- "History and recovery"

fn history() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .history("room:*", 1_000, Duration::from_secs(300)) // last 1,000 messages, 5 minutes each
}

// ---- "Presence"

#[derive(Deserialize)]
struct Device {
    device: String,
}

struct User {
    id: String,
}

async fn presence(ctx: SocketContext, user: Arc<User>) -> Result<(), SocketError> {
    // In a handler or `on_open`: this connection is `alice` on `room:1`.
    ctx.track("room:1", &user.id, &json!({"device": "phone"}))?;
    ctx.update("room:1", &user.id, &json!({"device": "phone", "away": true}))?; // one diff: leave + join
    ctx.untrack("room:1", &user.id);            // or let the connection close
    let here: Presence<Device> = ctx.sockets().presence("room:1").await?; // anywhere: handlers, HTTP routes
    Ok(())
}
