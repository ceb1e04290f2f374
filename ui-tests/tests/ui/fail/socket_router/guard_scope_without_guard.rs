use ori::prelude::*;

#[injectable]
struct Router;

#[socket_router(guard_scope = "router")]
impl Router {
    #[on("status.get")]
    async fn get(&self) {}
}

fn main() {}
