// A caller passes the wrong request type to a generated stub method.
use ori::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Heartbeat {
    at: u64,
}

#[injectable]
struct PresenceRouter;

#[socket_router(client = PresenceClient)]
impl PresenceRouter {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, beat: Heartbeat) -> u64 {
        beat.at
    }
}

async fn caller(presence: PresenceClient) {
    let _ = presence.heartbeat("2024-01-15T10:30:00Z").await;
}

fn main() {
    let _ = caller;
}
