use ori::prelude::*;

struct Ack {
    ok: bool,
}

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) -> Result<Ack, SocketError> {
        Ok(Ack { ok: true })
    }
}

fn main() {}
