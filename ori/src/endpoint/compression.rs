//! [`Compression`]: permessage-deflate settings of an endpoint.

use crate::wire::deflate::Deflate;

/// permessage-deflate (RFC 7692) for an endpoint's connections, when the
/// client offers it (browsers do). Off unless set with
/// [`WebSocketConfig::compression`](crate::WebSocketConfig::compression).
///
/// Every message is compressed on its own, both ways (the server answers
/// every offer with `server_no_context_takeover; client_no_context_takeover`):
/// a connection keeps no compressor and no window between messages, so an
/// idle connection costs what it costs without compression, and a publish
/// is compressed once for all its subscribers, not once per subscriber.
/// Messages smaller than the [threshold](Self::threshold) go out as they are.
/// Inbound, a compressed message counts against
/// [`max_message_size`](crate::WebSocketConfig::max_message_size) as it
/// inflates: a message that would inflate past it is refused (1009) after
/// at most the limit's worth of work.
///
/// ```
/// use ori::{Compression, WebSocketConfig};
///
/// let config = WebSocketConfig::default().compression(Compression::default().threshold(1024).level(6));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    pub(crate) threshold: usize,
    pub(crate) level: u32,
}

impl Default for Compression {
    /// Threshold 256 bytes, level 1 (the fastest).
    fn default() -> Self {
        Compression { threshold: 256, level: 1 }
    }
}

impl Compression {
    /// Outgoing messages smaller than `bytes` are sent uncompressed (default
    /// 256): small messages shrink little and cost a compression each.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The zlib level, 1 (fastest, the default) to 9 (smallest).
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.clamp(1, 9);
        self
    }

    /// The settings of a connection whose client allows the server a window
    /// of `window_bits`.
    pub(crate) fn for_connection(&self, window_bits: u8) -> Deflate {
        Deflate {
            threshold: u32::try_from(self.threshold).unwrap_or(u32::MAX),
            level: self.level as u8,
            window_bits,
        }
    }
}
