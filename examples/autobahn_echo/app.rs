//! An echo server on ori's public API: every message comes back unchanged,
//! text as text and binary as binary, at path `/`, with 16 MiB limits, and
//! permessage-deflate for clients that offer it (unless turned off).

use ori::{Compression, Ori, RawMessage, RawWebSocket, SocketContext, WebSocketConfig};

/// Largest message echoed (Autobahn's 9.* cases send up to 16 MiB).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The echo app; `compression: false` declines permessage-deflate offers.
pub fn app(compression: bool) -> Ori {
    let mut config = WebSocketConfig::default()
        .path("/")
        .max_message_size(MAX_MESSAGE)
        .outbound_queue_bytes(4 * MAX_MESSAGE);
    if compression {
        // Every message compressed (no threshold), to exercise the codec.
        config = config.compression(Compression::default().threshold(0));
    }
    let echo =
        RawWebSocket::new(config).on_message(|_: SocketContext, message: RawMessage| async move { message });
    Ori::create().raw_websocket(echo)
}
