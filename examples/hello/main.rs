//! Hello: the getting-started app of the README, one router with one route.
use ori::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Greet {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    text: String,
}

#[injectable]
struct HelloRouter;

#[socket_router]
impl HelloRouter {
    /// Greets the sender by name.
    #[on("hello.greet")]
    async fn greet(&self, data: Greet) -> Greeting {
        Greeting { text: format!("hello, {}", data.name) }
    }
}

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    Ori::create().websocket(WebSocketConfig::default()).listen("127.0.0.1:3000").await
}
