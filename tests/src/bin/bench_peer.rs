//! The benchmark example's app (`examples/bench_server/app.rs`: `bench.echo`,
//! `bench.publish`, a token required) with Prometheus metrics at `/metrics`,
//! as a process of its own, for the soak (`tests/tests/soak.rs`): its memory,
//! file descriptors and tasks are the server's alone.
//!
//! `GET /heap` answers the bytes the process holds allocated now (counted
//! by its global allocator): a leak shows there as a slope, where resident
//! memory also moves with the allocator's free lists.
//!
//! Listens on `ORI_ADDR` (default: a free port on 127.0.0.1), prints
//! `listening on ws://ADDR/ws` once it accepts connections, and serves until
//! it is killed.

use std::alloc::System;
use std::net::SocketAddr;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// The system allocator, counting what it hands out and takes back.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not freed now.
fn live_bytes() -> usize {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated.saturating_sub(stats.bytes_deallocated)
}

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/bench_server/app.rs"]
mod bench;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = addr.parse().map_err(|e| format!("ORI_ADDR={addr}: {e}"))?;
    let heap = axum::Router::new().route("/heap", axum::routing::get(|| async { live_bytes().to_string() }));
    let app = bench::app(ori::WebSocketConfig::default()).metrics_route("/metrics").routes(heap);
    let server = app.bind(addr).await?;
    let url = server.websocket_url().ok_or("the app serves a WebSocket")?;
    println!("listening on {url}");
    server.serve().await?;
    Ok(())
}
