use ori::prelude::*;

#[injectable]
struct NotAGuard;

#[injectable]
struct Router;

#[socket_router(guard = NotAGuard)]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

fn main() {}
