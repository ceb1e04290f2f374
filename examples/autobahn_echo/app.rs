//! An echo server on ori's public API: every message comes back unchanged,
//! text as text and binary as binary, at path `/`, with 16 MiB limits.

use ori::{Ori, RawMessage, RawWebSocket, SocketContext, WebSocketConfig};

/// Largest message echoed (Autobahn's 9.* cases send up to 16 MiB).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The echo app.
pub fn app() -> Ori {
    let config = WebSocketConfig::default()
        .path("/")
        .max_message_size(MAX_MESSAGE)
        .outbound_queue_bytes(4 * MAX_MESSAGE);
    let echo =
        RawWebSocket::new(config).on_message(|_: SocketContext, message: RawMessage| async move { message });
    Ori::create().raw_websocket(echo)
}
