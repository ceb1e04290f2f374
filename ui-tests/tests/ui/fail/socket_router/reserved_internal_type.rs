use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("__admin")]
    async fn admin(&self) {}
}

fn main() {}
