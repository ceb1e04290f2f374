use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.kick", gaurd = Router)]
    async fn kick(&self) {}
}

fn main() {}
