use ori::layer::{LayerMessage, Next, Outcome, SocketLayer};
use ori::prelude::*;

struct Timing;

impl SocketLayer for Timing {
    async fn call(&self, message: LayerMessage, next: Next) -> Outcome {
        next.run(message).await
    }
}

#[injectable]
struct Router;

#[socket_router(layer = Timing)]
impl Router {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

fn main() {}
