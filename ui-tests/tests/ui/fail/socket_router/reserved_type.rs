use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("subscribe")]
    async fn subscribe(&self) {}
}

fn main() {}
