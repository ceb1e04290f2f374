use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("")]
    async fn nothing(&self) {}
}

fn main() {}
