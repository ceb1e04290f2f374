use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}

    #[on("presence.heartbeat")]
    async fn heartbeat_again(&self) {}
}

fn main() {}
