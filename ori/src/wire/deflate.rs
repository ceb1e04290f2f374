//! permessage-deflate (RFC 7692), the codec: every message is compressed on
//! its own ("no context takeover" both ways), so a compressor holds no state
//! between messages and one per thread serves every connection. That keeps
//! an idle connection's memory what it is without compression, and lets a
//! publish compress its frame once for all its subscribers.

use std::cell::RefCell;

use bytes::Bytes;
use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};

use crate::wire::frame::{FrameBuf, OpCode, split_frame};

/// What RFC 7692 appends to and strips from every compressed message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The compression a connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deflate {
    /// Messages with a smaller payload go out uncompressed.
    pub(crate) threshold: u32,
    /// zlib level, 0..=9.
    pub(crate) level: u8,
    /// The LZ77 window the client allows the server (`server_max_window_bits`, 8..=15).
    pub(crate) window_bits: u8,
}

impl Deflate {
    /// Whether a message of `len` bytes is compressed. Messages are compressed
    /// on their own, so no back-reference reaches further than the message's
    /// length: a message that fits the window the client allows is valid under
    /// it, whatever window the compressor uses.
    pub(crate) fn applies_to(&self, len: usize) -> bool {
        len >= self.threshold as usize && (self.window_bits >= 15 || len <= 1 << self.window_bits)
    }
}

thread_local! {
    static COMPRESSOR: RefCell<Option<(u8, Compress)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// `frame` (a server frame: final, unmasked, built by `FrameBuf`) compressed,
/// when it is a text or binary frame that `deflate` applies to and
/// compression makes it smaller; `None` to send it as it is.
pub(crate) fn deflate_frame(frame: &[u8], deflate: &Deflate) -> Option<Bytes> {
    let (opcode, compressed, payload) = split_frame(frame);
    let opcode = match opcode {
        0x1 => OpCode::Text,
        0x2 => OpCode::Binary,
        _ => return None,
    };
    if compressed || !deflate.applies_to(payload.len()) {
        return None;
    }
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some((level, compressor)) if *level == deflate.level => {
                compressor.reset();
                compressor
            }
            _ => {
                let compressor = Compress::new(flate2::Compression::new(u32::from(deflate.level)), false);
                &mut slot.insert((deflate.level, compressor)).1
            }
        };
        let mut out = FrameBuf::compressed(opcode, payload.len() / 2 + 64);
        let vec = out.vec_mut();
        let start = vec.len();
        let mut consumed = 0;
        loop {
            if vec.len() == vec.capacity() {
                vec.reserve(payload.len() / 4 + 64);
            }
            let before = compressor.total_in();
            compressor.compress_vec(&payload[consumed..], vec, FlushCompress::Sync).ok()?;
            consumed += (compressor.total_in() - before) as usize;
            if consumed == payload.len() && vec.len() < vec.capacity() {
                break;
            }
        }
        if !vec.ends_with(&TAIL) {
            return None;
        }
        vec.truncate(vec.len() - TAIL.len());
        if vec.len() - start >= payload.len() {
            return None;
        }
        Some(out.finish().0)
    })
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates past the size limit (close 1009). Inflating stopped there.
    TooBig,
    /// Not a valid deflate stream (close 1007).
    Corrupt,
}

/// Inflates one whole message (its frames' payloads, joined), producing at
/// most `limit` bytes: a message that would inflate further costs no more
/// than the limit's worth of work and memory before it is refused.
pub(crate) fn inflate(compressed: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = slot.get_or_insert_with(|| Decompress::new(false));
        decompressor.reset(false);
        // Room for one byte past the limit: filling it means too big.
        let cap = limit.saturating_add(1);
        let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).max(64).min(cap));
        for input in [compressed, &TAIL[..]] {
            let mut consumed = 0;
            loop {
                if out.len() == out.capacity() {
                    if out.len() >= cap {
                        return Err(InflateError::TooBig);
                    }
                    out.reserve_exact(out.capacity().min(cap - out.len()));
                }
                let before = decompressor.total_in();
                let status = decompressor
                    .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                    .map_err(|_| InflateError::Corrupt)?;
                consumed += (decompressor.total_in() - before) as usize;
                if status == Status::StreamEnd {
                    // A final block: what follows (at most the tail) is ignored.
                    return finish(out, limit);
                }
                if consumed == input.len() && out.len() < out.capacity() {
                    break;
                }
            }
        }
        finish(out, limit)
    })
}

fn finish(out: Vec<u8>, limit: usize) -> Result<Vec<u8>, InflateError> {
    if out.len() > limit { Err(InflateError::TooBig) } else { Ok(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::frame;

    const ON: Deflate = Deflate { threshold: 16, level: 1, window_bits: 15 };

    /// Found by the `frame_stream` fuzz target: with a size limit under 63
    /// bytes, inflating any message panicked (`clamp` with its bounds reversed).
    #[test]
    fn a_limit_below_the_first_allocation_is_kept() {
        let packed = deflate_frame(&frame(OpCode::Binary, &[7; 100]), &ON).expect("compresses");
        let (_, _, payload) = split_frame(&packed);
        for limit in [0, 1, 16, 62, 63, 64, 99] {
            assert_eq!(inflate(payload, limit), Err(InflateError::TooBig), "limit {limit}");
        }
        assert_eq!(inflate(payload, 100).unwrap(), [7; 100]);
    }

    #[test]
    fn a_compressed_frame_inflates_back_and_has_rsv1() {
        let json =
            r#"{"type":"chat.message","data":{"room":"lobby","text":"hello hello hello hello"}}"#.repeat(20);
        let plain = frame(OpCode::Text, json.as_bytes());
        let packed = deflate_frame(&plain, &ON).expect("JSON compresses");
        let (opcode, rsv1, payload) = split_frame(&packed);
        assert_eq!((opcode, rsv1), (1, true));
        assert!(payload.len() < json.len() / 5, "{} bytes from {}", payload.len(), json.len());
        assert_eq!(inflate(payload, 1 << 20).unwrap(), json.as_bytes());
        // Twice in a row: the shared compressor starts each message afresh.
        assert_eq!(deflate_frame(&plain, &ON).unwrap(), packed);
    }

    #[test]
    fn small_control_and_incompressible_frames_go_out_as_they_are() {
        assert_eq!(deflate_frame(&frame(OpCode::Text, b"short"), &ON), None);
        assert_eq!(deflate_frame(&frame(OpCode::Ping, &[b'a'; 100]), &ON), None);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..4000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(deflate_frame(&frame(OpCode::Binary, &noise), &ON), None);
        let narrow = Deflate { window_bits: 9, ..ON };
        assert!(deflate_frame(&frame(OpCode::Text, &[b'a'; 512]), &narrow).is_some());
        assert_eq!(
            deflate_frame(&frame(OpCode::Text, &[b'a'; 513]), &narrow),
            None,
            "longer than the window"
        );
    }

    #[test]
    fn inflating_stops_at_the_limit_and_corrupt_input_is_an_error() {
        let bomb = deflate_frame(&frame(OpCode::Binary, &vec![0u8; 10 << 20]), &ON).unwrap();
        let (_, _, payload) = split_frame(&bomb);
        assert!(payload.len() < 100_000, "10 MiB of zeros is a small bomb: {}", payload.len());
        assert_eq!(inflate(payload, 1 << 20), Err(InflateError::TooBig));
        assert_eq!(inflate(payload, 10 << 20).unwrap().len(), 10 << 20, "exactly the limit is fine");
        assert_eq!(inflate(&[0xff, 0xff, 0xff, 0xff], 1024), Err(InflateError::Corrupt));
        assert_eq!(inflate(&[], 1024).unwrap(), b"", "an empty message");
    }
}
