//! The presence example's app (`examples/presence/app.rs`, its page and
//! generated client included) as a process of its own, for the browser tests
//! (`clients/typescript/test/browser`): they start two on one Redis and kill
//! one.
//!
//! Listens on `ORI_ADDR` (default: a free port on 127.0.0.1); with
//! `ORI_REDIS_URL`, shares presence through that Redis (and reads
//! `ORI_PRESENCE_EXPIRY_MS`); prints `listening on http://ADDR` once it
//! accepts connections, and serves until it is killed.

use std::net::SocketAddr;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/presence/app.rs"]
mod presence;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = addr.parse().map_err(|e| format!("ORI_ADDR={addr}: {e}"))?;
    let app = ori_examples::pubsub_from_env(presence::app())?;
    let server = app.bind(addr).await?;
    println!("listening on http://{}", server.local_addr());
    server.serve().await?;
    Ok(())
}
