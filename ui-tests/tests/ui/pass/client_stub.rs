//! A typed client stub compiles without warnings, with private request and
//! reply types, and exposes one method per handler with the handler's types.
#![deny(warnings, missing_docs, unreachable_pub, private_interfaces)]

use ori::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Heartbeat {
    at: u64,
}

#[derive(Serialize, Deserialize)]
struct Ack {
    seen: u64,
}

#[injectable]
struct PresenceRouter;

#[socket_router(client = PresenceClient)]
impl PresenceRouter {
    /// Records a heartbeat.
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, beat: Heartbeat) -> Result<Ack, SocketError> {
        Ok(Ack { seen: beat.at })
    }

    #[on("presence.count")]
    async fn count(&self) -> usize {
        0
    }

    #[on("presence.leave")]
    async fn leave(&self, _ctx: SocketContext) {}
}

#[allow(dead_code)]
async fn caller(presence: PresenceClient) -> Result<u64, ori::client::ClientError> {
    let ack: Ack = presence.heartbeat(Heartbeat { at: 1 }).await?;
    let count: usize = presence.count().await?;
    let (): () = presence.leave().await?;
    Ok(ack.seen + count as u64)
}

fn main() {}
