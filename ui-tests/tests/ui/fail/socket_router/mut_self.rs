use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&mut self) {}
}

fn main() {}
