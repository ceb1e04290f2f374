//! The app of the client tests ([`ori_tests::client_app`]) as a process of
//! its own, for the tests of clients in other languages (the TypeScript
//! client's): they start it, kill it and start it again on the same port.
//!
//! Listens on `ORI_ADDR` (default: a free port on 127.0.0.1), prints
//! `listening on ws://ADDR/ws` once it accepts connections, and serves
//! until it is killed or interrupted (SIGTERM: a graceful drain, closing
//! with `ORI_DRAIN_CLOSE_CODE`, default 1001).

use std::net::SocketAddr;
use std::sync::Arc;

use ori::WebSocketConfig;
use ori_tests::client_app::{Journal, app};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = addr.parse().map_err(|e| format!("ORI_ADDR={addr}: {e}"))?;
    let mut app = app(Arc::new(Journal::default()), WebSocketConfig::default());
    if let Ok(code) = std::env::var("ORI_DRAIN_CLOSE_CODE") {
        app = app.drain_close_code(code.parse()?);
    }
    let server = app.bind(addr).await?;
    let url = server.websocket_url().ok_or("the client app serves a WebSocket")?;
    println!("listening on {url}");
    server.serve().await?;
    Ok(())
}
