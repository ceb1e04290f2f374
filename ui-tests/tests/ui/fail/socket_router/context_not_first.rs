use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, status: String, ctx: SocketContext) {
        let _ = (ctx, status);
    }
}

fn main() {}
