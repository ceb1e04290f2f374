use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence_diff")]
    async fn diff(&self) {}
}

fn main() {}
