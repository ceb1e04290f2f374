// `client = ...` given twice.
use ori::prelude::*;

#[injectable]
struct PresenceRouter;

#[socket_router(client = PresenceClient, client = OtherClient)]
impl PresenceRouter {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

fn main() {}
