use ori::prelude::*;

#[injectable]
struct NotALayer;

#[injectable]
struct Router;

#[socket_router(layer = NotALayer)]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

fn main() {}
