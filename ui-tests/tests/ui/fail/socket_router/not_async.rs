use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    fn heartbeat(&self) {}
}

fn main() {}
