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
