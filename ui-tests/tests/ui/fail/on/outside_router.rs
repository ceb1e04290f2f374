use ori::prelude::*;

struct Router;

impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

fn main() {}
