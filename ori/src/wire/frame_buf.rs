//! [`FrameBuf`]: one server frame built in a single allocation (RFC 6455
//! framing, unmasked). Every encoder writes its payload into one.

use bytes::{Buf, Bytes};

use crate::wire::frame::{OpCode, RSV1};

/// Room reserved in front of a payload for the largest server frame header.
pub(crate) const MAX_HEADER: usize = 10;

/// Builds one server frame in a single allocation: the payload is written after
/// room for the header, which is filled in by [`FrameBuf::finish`].
#[derive(Debug, Clone)]
pub(crate) struct FrameBuf {
    buf: Vec<u8>,
    opcode: OpCode,
    /// RSV1: the payload is compressed (permessage-deflate).
    compressed: bool,
}

impl FrameBuf {
    pub(crate) fn new(opcode: OpCode, payload_capacity: usize) -> FrameBuf {
        let mut buf = Vec::with_capacity(MAX_HEADER + payload_capacity);
        buf.resize(MAX_HEADER, 0);
        FrameBuf { buf, opcode, compressed: false }
    }

    /// A frame whose payload is compressed with permessage-deflate (RSV1 set).
    pub(crate) fn compressed(opcode: OpCode, payload_capacity: usize) -> FrameBuf {
        FrameBuf { compressed: true, ..FrameBuf::new(opcode, payload_capacity) }
    }

    /// The whole buffer (room for the header, then the payload), for
    /// encoders that write into its spare capacity.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The payload written so far.
    pub(crate) fn written(&self) -> &[u8] {
        &self.buf[MAX_HEADER..]
    }

    /// Fills in the header and returns the frame and the header's length.
    pub(crate) fn finish(mut self) -> (Bytes, usize) {
        let len = self.buf.len() - MAX_HEADER;
        let mut header = [0u8; MAX_HEADER];
        let header_len = encode_header(&mut header, self.opcode, len);
        if self.compressed {
            header[0] |= RSV1;
        }
        let start = MAX_HEADER - header_len;
        self.buf[start..MAX_HEADER].copy_from_slice(&header[..header_len]);
        // `advance`, not `slice`: slicing would turn the buffer into a
        // separately allocated shared one.
        let mut bytes = Bytes::from(self.buf);
        bytes.advance(start);
        (bytes, header_len)
    }
}

impl std::io::Write for FrameBuf {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes an unmasked, final frame header for `len` payload bytes; returns its length.
fn encode_header(out: &mut [u8; MAX_HEADER], opcode: OpCode, len: usize) -> usize {
    out[0] = 0x80 | opcode.bits();
    if len < 126 {
        out[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        out[1] = 126;
        out[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// A complete frame holding `payload`.
pub(crate) fn frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    frame_with_header(opcode, payload).0
}

/// A complete frame holding `payload`, and the length of its header.
pub(crate) fn frame_with_header(opcode: OpCode, payload: &[u8]) -> (Bytes, usize) {
    let mut buf = FrameBuf::new(opcode, payload.len());
    buf.push(payload);
    buf.finish()
}
