// A router with a client stub replies with a type the stub cannot receive.
use ori::prelude::*;
use serde::Serialize;

#[derive(Serialize)]
struct Ack {
    ok: bool,
}

#[injectable]
struct PresenceRouter;

#[socket_router(client = PresenceClient)]
impl PresenceRouter {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) -> Result<Ack, SocketError> {
        Ok(Ack { ok: true })
    }
}

fn main() {}
