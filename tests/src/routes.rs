//! Handlers shared by the pub/sub tests (in process and across instances).

use ori::{SocketContext, SocketError};
use serde::Deserialize;
use serde_json::json;

/// `room.say` data.
#[derive(Debug, Deserialize)]
pub struct Say {
    /// Where to publish.
    pub topic: String,
    /// Sent as `{"type":"room.message","data":text}`.
    pub text: String,
}

/// `room.say`: publishes `{"type":"room.message","data":text}` to `topic`,
/// except to the sender.
pub async fn say(ctx: SocketContext, data: Say) -> Result<(), SocketError> {
    ctx.publish(&data.topic, &json!({"type": "room.message", "data": data.text}))?;
    Ok(())
}

/// `id`: the connection's socket id.
pub async fn id(ctx: SocketContext) -> Result<String, SocketError> {
    Ok(ctx.id().to_string())
}

/// `presence.track` data (the benchmark server's `bench.track`, as an app would write it).
#[derive(Debug, Deserialize)]
pub struct Track {
    /// Where to track.
    pub topic: String,
    /// The member key.
    pub key: String,
    /// The meta (`null` when absent).
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// `presence.track`: tracks the calling connection as `key` with `meta` on `topic`.
pub async fn track(ctx: SocketContext, data: Track) -> Result<(), SocketError> {
    ctx.track(&data.topic, &data.key, &data.meta)?;
    Ok(())
}

/// `presence.update`: replaces the meta of a tracked `key`.
pub async fn update(ctx: SocketContext, data: Track) -> Result<(), SocketError> {
    ctx.update(&data.topic, &data.key, &data.meta)?;
    Ok(())
}

/// `presence.untrack` data.
#[derive(Debug, Deserialize)]
pub struct Untrack {
    /// Where the key is tracked.
    pub topic: String,
    /// The member key.
    pub key: String,
}

/// `presence.untrack`: untracks the calling connection as `key`; replies whether it was tracked.
pub async fn untrack(ctx: SocketContext, data: Untrack) -> Result<bool, SocketError> {
    Ok(ctx.untrack(&data.topic, &data.key))
}

/// `presence.many` data: `count` keys `k0`, `k1`, ... on `topic`.
#[derive(Debug, Deserialize)]
pub struct Many {
    /// Where to track.
    pub topic: String,
    /// How many keys.
    pub count: usize,
}

/// `presence.many`: tracks the calling connection under `count` keys.
pub async fn track_many(ctx: SocketContext, data: Many) -> Result<(), SocketError> {
    for i in 0..data.count {
        ctx.track(&data.topic, &format!("k{i:05}"), &json!({}))?;
    }
    Ok(())
}
