//! Drives the presence example through the typed client that
//! `#[socket_router(client = PresenceClient)]` generates.
//!
//! ```sh
//! cargo run -p ori-examples --example presence          # in one terminal
//! cargo run -p ori-examples --example presence_client   # in another
//! ```
//! `ORI_URL` points it elsewhere (default `ws://127.0.0.1:3000/ws`).

// The presence app's types and its generated `PresenceClient` (a real
// project would share them through a crate).
#[allow(dead_code, unreachable_pub)]
#[path = "../presence/app.rs"]
mod app;
#[allow(unreachable_pub)]
mod tour;

#[tokio::main]
async fn main() -> Result<(), ori::client::ClientError> {
    let url = std::env::var("ORI_URL").unwrap_or_else(|_| "ws://127.0.0.1:3000/ws".to_owned());
    let tour = tour::tour(&url).await?;
    println!("users online: {}", tour.online_count);
    for user in &tour.online {
        println!("online: {} ({})", user.user_id, user.statuses.join(", "));
    }
    for (user, statuses) in tour.seen_by_bob.members() {
        println!("bob's client sees {user} on {} connection(s)", statuses.len());
    }
    println!("bob was told: {} is now {}", tour.change.user_id, tour.change.status);
    println!("alice tried to kick bob: {}", tour.kick_refused);
    Ok(())
}
