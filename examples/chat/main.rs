//! A chat room with lifecycle handlers and an HTTP publish route, in one process.
//!
//! ```sh
//! cargo run -p ori-examples --example chat
//! # then open http://127.0.0.1:3000 in two browser tabs, or:
//! curl -X POST --data 'hello from HTTP' http://127.0.0.1:3000/announce
//! ```

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    ori_examples::run("chat", app::app()).await
}
