use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router(gaurd = Router)]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

fn main() {}
