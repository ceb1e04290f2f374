use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.kick", errors = "not_found")]
    async fn kick(&self) {}
}

fn main() {}
