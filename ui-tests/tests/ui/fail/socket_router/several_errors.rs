// Every mistake of an impl is reported in one build.
use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("ping")]
    async fn ping(&self) {}

    #[on("presence.heartbeat")]
    fn heartbeat(&self) {}

    #[on("presence.kick")]
    async fn kick(&mut self) {}
}

fn main() {}
