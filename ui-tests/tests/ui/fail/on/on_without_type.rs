use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on(guard = Router)]
    async fn kick(&self) {}
}

fn main() {}
