use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.kick", errors = ["not_found", "gone", "not_found"])]
    async fn kick(&self) {}

    #[on("presence.ban", errors = ["not found"])]
    async fn ban(&self) {}
}

fn main() {}
