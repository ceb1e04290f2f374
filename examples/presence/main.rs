//! Presence: who is online, with a token connection guard, an admin-only
//! message guard and a provider, all wired by the macros.
//!
//! ```sh
//! cargo run -p ori-examples --example presence
//! # then, e.g. with websocat:
//! websocat 'ws://127.0.0.1:3000/ws?token=alice-token'
//! {"type":"presence.heartbeat","data":{"status":"online"},"correlationId":"1"}
//! ```
//!
//! Several instances on one Redis show the same members:
//! `ORI_PUBSUB_URL=redis://127.0.0.1:6379 cargo run -p ori-examples --features redis --example presence`
//! (again with `ORI_ADDR=127.0.0.1:3001`).
//!
//! `cargo run -p ori-examples --example presence -- generate` writes its typed
//! TypeScript client (`presence_api.ts`) and AsyncAPI document (`asyncapi.json`).

// The app's items are public for the integration tests that serve it.
#[allow(unreachable_pub)]
mod app;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = ori_examples::pubsub_from_env_needing(app::app(), &[ori::pubsub::Capability::Presence])?;
    if ori_examples::generate_if_asked(&app, "presence", "PresenceApi")? {
        return Ok(());
    }
    ori_examples::run("presence", app).await?;
    Ok(())
}
