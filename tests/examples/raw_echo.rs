//! ori's wire alone, for the rpc floor: a [`RawWebSocket`] at `/ws` that
//! sends every message back unchanged. The `rpc` workload of
//! `../shared/bench` accepts it, since a `bench.echo` reply is its request
//! byte for byte; what it costs per reply is what ori's reading, framing,
//! handler call and writing cost without the envelope, the routing and the
//! reply's encoding:
//!
//! ```sh
//! cargo build --release -p ori-tests --example raw_echo
//! PEERS="ori bun-native" WORKLOADS=rpc ORI_CMD=$PWD/target/release/examples/raw_echo ../shared/bench/compare.sh
//! ```
//! Listens on `ORI_ADDR` (default `127.0.0.1:3000`), without compression.

use ori::{Ori, RawMessage, RawWebSocket, SocketContext, WebSocketConfig};

#[tokio::main]
async fn main() -> Result<(), ori::Error> {
    let echo = RawWebSocket::new(WebSocketConfig::default().path("/ws"))
        .on_message(|_: SocketContext, message: RawMessage| async move { message });
    ori_examples::run("raw_echo", Ori::create().raw_websocket(echo)).await
}
