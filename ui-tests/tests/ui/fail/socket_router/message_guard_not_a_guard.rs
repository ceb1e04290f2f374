use ori::prelude::*;

#[injectable]
struct NotAGuard;

#[injectable]
struct Router;

#[socket_router]
impl Router {
    #[on("presence.kick", guard = NotAGuard)]
    async fn kick(&self) {}
}

fn main() {}
