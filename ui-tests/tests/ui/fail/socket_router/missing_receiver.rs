use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(ctx: SocketContext) {
        let _ = ctx;
    }
}

fn main() {}
