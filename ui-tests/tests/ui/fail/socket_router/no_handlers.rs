use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    async fn not_a_route(&self) {}
}

fn main() {}
