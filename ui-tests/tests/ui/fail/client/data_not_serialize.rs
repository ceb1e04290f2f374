// A router with a client stub takes data the stub cannot send.
use ori::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
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

fn main() {}
