use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, ctx: SocketContext, status: String, battery: u8) {
        let _ = (ctx, status, battery);
    }
}

fn main() {}
