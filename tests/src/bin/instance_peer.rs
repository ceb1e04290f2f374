//! One instance of the cross-instance app ([`ori_tests::cross_instance::app`]:
//! `room.say`, `id`, `presence.track`, ...) with history on `hist:*`
//! ([`ori_tests::cross_instance::HISTORY`]), on the broker at `ORI_PUBSUB_URL`
//! (`redis://`, `redis+cluster://` or `nats://`), as a process of its own,
//! for the tests that kill it (SIGKILL) or pause it (SIGSTOP).
//!
//! Listens on `ORI_ADDR` (default: a free port on 127.0.0.1), uses
//! `ORI_PRESENCE_EXPIRY_MS` (default the library's), prints `listening on
//! ws://ADDR/ws` once it accepts connections, and serves until it is killed.

use std::net::SocketAddr;
use std::time::Duration;

use ori::pubsub::{NatsBackend, RedisBackend};
use ori_tests::cross_instance::app;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = addr.parse().map_err(|e| format!("ORI_ADDR={addr}: {e}"))?;
    let url = std::env::var("ORI_PUBSUB_URL").map_err(|_| "ORI_PUBSUB_URL is required")?;
    let expiry = match std::env::var("ORI_PRESENCE_EXPIRY_MS") {
        Ok(ms) => Some(Duration::from_millis(ms.parse()?)),
        Err(_) => None,
    };
    let app = if url.starts_with("nats://") {
        let mut nats = NatsBackend::builder(url);
        if let Some(expiry) = expiry {
            nats = nats.presence_expiry(expiry);
        }
        app(nats.build())
    } else {
        let mut redis = RedisBackend::builder(url);
        if let Some(expiry) = expiry {
            redis = redis.presence_expiry(expiry);
        }
        app(redis.build())
    };
    let (pattern, kept, ttl) = ori_tests::cross_instance::HISTORY;
    let server = app.history(pattern, kept, ttl).bind(addr).await?;
    let url = server.websocket_url().ok_or("the app serves a WebSocket")?;
    println!("listening on {url}");
    server.serve().await?;
    Ok(())
}
