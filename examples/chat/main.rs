//! A chat room with lifecycle handlers and an HTTP publish route, in one process.
//!
//! ```sh
//! cargo run -p ori-examples --example chat
//! # then open http://127.0.0.1:3000 in two browser tabs, or:
//! curl -X POST --data 'hello from HTTP' http://127.0.0.1:3000/announce
//! ```
//!
//! `cargo run -p ori-examples --example chat -- generate` writes its typed
//! client (`chat_api.ts`, and `chat_api.js`, which the page loads) and its
//! AsyncAPI document (`asyncapi.json`).
//!
//! Two instances sharing a Redis are one room (a member on :3000 talks with a
//! member on :3001):
//!
//! ```sh
//! ORI_PUBSUB_URL=redis://127.0.0.1:6379 cargo run -p ori-examples --features redis --example chat
//! ORI_PUBSUB_URL=redis://127.0.0.1:6379 ORI_ADDR=127.0.0.1:3001 cargo run -p ori-examples --features redis --example chat
//! ```

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = ori_examples::pubsub_from_env(app::app())?;
    if ori_examples::generate_if_asked(&app, "chat", "ChatApi")? {
        return Ok(());
    }
    ori_examples::run("chat", app).await?;
    Ok(())
}
