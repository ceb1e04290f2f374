use ori::prelude::*;

struct Heartbeat {
    status: String,
}

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, data: Heartbeat) {
        let _ = data.status;
    }
}

fn main() {}
