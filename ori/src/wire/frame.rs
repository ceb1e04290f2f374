//! The RFC 6455 frame: opcodes; server frames (never masked) built in one
//! piece of memory ([`FrameBuf`]) and read back; client frame headers (always
//! masked) and unmasking; close frames both ways.

use bytes::{Buf, Bytes, BytesMut};

use super::arena;

/// Frame opcodes (RFC 6455 section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    pub(crate) fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    pub(crate) fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    pub(crate) fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The RSV1 bit of a frame's first byte: permessage-deflate's "compressed".
pub(crate) const RSV1: u8 = 0x40;

/// Room reserved in front of a payload for the largest server frame header.
pub(crate) const MAX_HEADER: usize = 10;

/// The memory a frame is built in.
pub(crate) trait FrameMemory: std::ops::DerefMut<Target = [u8]> + Sized {
    /// Empty, with room for `capacity` bytes.
    fn with_room(capacity: usize) -> Self;
    /// Appends `bytes`, growing when there is no room.
    fn append(&mut self, bytes: &[u8]);
    /// The bytes, shared.
    fn into_bytes(self) -> Bytes;
}

/// A frame's own allocation, for frames that are shared and kept (a
/// publish, history): the allocation is exactly the frame.
impl FrameMemory for Vec<u8> {
    fn with_room(capacity: usize) -> Self {
        Vec::with_capacity(capacity)
    }

    #[inline]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn into_bytes(self) -> Bytes {
        Bytes::from(self)
    }
}

/// A piece of the thread's reply memory ([`arena`](super::arena)), for
/// frames that go to one connection and are dropped once written.
#[derive(Debug, Clone)]
pub(crate) struct ReplyMemory(BytesMut);

impl std::ops::Deref for ReplyMemory {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::DerefMut for ReplyMemory {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl ReplyMemory {
    #[cold]
    fn move_to_larger(&mut self, more: usize) {
        let mut larger = arena::piece(2 * (self.0.len() + more));
        larger.extend_from_slice(&self.0);
        self.0 = larger;
    }
}

impl FrameMemory for ReplyMemory {
    fn with_room(capacity: usize) -> Self {
        ReplyMemory(arena::piece(capacity))
    }

    /// Grows by moving to a piece twice the size (growing a piece in place
    /// would allocate, as its chunk is shared).
    #[inline]
    fn append(&mut self, bytes: &[u8]) {
        if self.0.capacity() - self.0.len() < bytes.len() {
            self.move_to_larger(bytes.len());
        }
        self.0.extend_from_slice(bytes);
    }

    fn into_bytes(self) -> Bytes {
        self.0.freeze()
    }
}

/// Builds one server frame in one piece of memory: the payload is written
/// after room for the header, which is filled in by [`FrameBuf::finish`].
/// `M` is where: an allocation of its own ([`FrameBuf::new`]), or the
/// thread's reply memory ([`FrameBuf::reply`]).
#[derive(Debug, Clone)]
pub(crate) struct FrameBuf<M: FrameMemory = Vec<u8>> {
    buf: M,
    opcode: OpCode,
    /// RSV1: the payload is compressed (permessage-deflate).
    compressed: bool,
}

impl FrameBuf {
    /// A frame in an allocation of its own, for frames that are shared and kept.
    pub(crate) fn new(opcode: OpCode, payload_capacity: usize) -> FrameBuf {
        FrameBuf::in_memory(opcode, payload_capacity)
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
}

impl FrameBuf<ReplyMemory> {
    /// A frame in the thread's reply memory, for a frame that goes to one
    /// connection and is dropped once written (a reply).
    pub(crate) fn reply(opcode: OpCode, payload_capacity: usize) -> FrameBuf<ReplyMemory> {
        FrameBuf::in_memory(opcode, payload_capacity)
    }
}

impl<M: FrameMemory> FrameBuf<M> {
    /// A frame in memory `M`.
    pub(crate) fn in_memory(opcode: OpCode, payload_capacity: usize) -> FrameBuf<M> {
        let mut buf = M::with_room(MAX_HEADER + payload_capacity);
        buf.append(&[0; MAX_HEADER]);
        FrameBuf { buf, opcode, compressed: false }
    }

    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.append(bytes);
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
        // `advance`, not `slice`: slicing would turn an own allocation into
        // a separately allocated shared one.
        let mut bytes = self.buf.into_bytes();
        bytes.advance(start);
        (bytes, header_len)
    }
}

impl<M: FrameMemory> std::io::Write for FrameBuf<M> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.append(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buf.append(bytes);
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
    frame_in::<Vec<u8>>(opcode, payload)
}

/// A complete reply frame holding `payload`, in the thread's reply memory.
pub(crate) fn reply_frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    frame_in::<ReplyMemory>(opcode, payload).0
}

fn frame_in<M: FrameMemory>(opcode: OpCode, payload: &[u8]) -> (Bytes, usize) {
    let mut buf = FrameBuf::<M>::in_memory(opcode, payload.len());
    buf.push(payload);
    buf.finish()
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) fin: bool,
    pub(crate) opcode: OpCode,
    /// RSV1 on the first frame of a message: permessage-deflate compressed it.
    pub(crate) compressed: bool,
    pub(crate) mask: [u8; 4],
    pub(crate) payload_len: u64,
    /// Bytes taken by the header itself (2..=14).
    pub(crate) header_len: usize,
}

/// A frame that breaks RFC 6455; the connection is closed with 1002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    ReservedBits,
    UnknownOpcode(u8),
    Unmasked,
    FragmentedControl,
    ControlTooLong,
    LengthOverflow,
}

impl FrameError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            FrameError::ReservedBits => {
                "reserved bits set without a negotiated extension (or RSV1 on a continuation or control frame)"
            }
            FrameError::UnknownOpcode(_) => "unknown opcode",
            FrameError::Unmasked => "client frames must be masked",
            FrameError::FragmentedControl => "control frames must not be fragmented",
            FrameError::ControlTooLong => "control frame payload longer than 125 bytes",
            FrameError::LengthOverflow => "payload length has the most significant bit set",
        }
    }
}

/// The opcode and payload of a complete server frame (as built by [`FrameBuf`]).
pub(crate) fn split_frame(frame: &[u8]) -> (u8, bool, &[u8]) {
    let header_len = match frame[1] & 0x7F {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    (frame[0] & 0x0F, frame[0] & RSV1 != 0, &frame[header_len..])
}

/// Parses the header at the start of `buf`. `Ok(None)` means more bytes are
/// needed. `deflate`: permessage-deflate was negotiated, so RSV1 may mark the
/// first frame of a text or binary message as compressed.
pub(crate) fn parse_header(buf: &[u8], deflate: bool) -> Result<Option<FrameHeader>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    let allowed = if deflate { RSV1 } else { 0 };
    if b0 & 0x70 & !allowed != 0 {
        return Err(FrameError::ReservedBits);
    }
    let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(FrameError::UnknownOpcode(b0 & 0x0F))?;
    let compressed = b0 & RSV1 != 0;
    if compressed && !matches!(opcode, OpCode::Text | OpCode::Binary) {
        return Err(FrameError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    if b1 & 0x80 == 0 {
        return Err(FrameError::Unmasked);
    }
    let (payload_len, len_bytes) = match b1 & 0x7F {
        126 => {
            let Some(ext) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([ext[0], ext[1]])), 2)
        }
        127 => {
            let Some(ext) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(ext.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(FrameError::LengthOverflow);
            }
            (len, 8)
        }
        short => (u64::from(short), 0),
    };
    if opcode.is_control() {
        if !fin {
            return Err(FrameError::FragmentedControl);
        }
        if payload_len > 125 {
            return Err(FrameError::ControlTooLong);
        }
    }
    let mask_at = 2 + len_bytes;
    let Some(mask) = buf.get(mask_at..mask_at + 4) else {
        return Ok(None);
    };
    Ok(Some(FrameHeader {
        fin,
        opcode,
        compressed,
        mask: mask.try_into().expect("4 bytes"),
        payload_len,
        header_len: mask_at + 4,
    }))
}

/// Unmasks `data` in place; `offset` is the position of `data[0]` within the payload.
pub(crate) fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut rotated = [0u8; 4];
    for (i, byte) in rotated.iter_mut().enumerate() {
        *byte = mask[(offset + i) % 4];
    }
    let word = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2], rotated[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let value = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= rotated[i % 4];
    }
}

/// A close frame with `code` and a reason cut to the 123 bytes a control frame allows.
pub(crate) fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut buf = FrameBuf::new(OpCode::Close, 2 + end);
    buf.push(&code.to_be_bytes());
    buf.push(&reason.as_bytes()[..end]);
    buf.finish().0
}

/// The status of a close frame received from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerClose {
    /// Code and reason as sent.
    Status(u16, String),
    /// An empty close frame (reported as 1005, "no status received").
    NoStatus,
}

/// Why a client's close frame is itself a protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosePayloadError {
    /// Code missing a byte, or a code not allowed on the wire: close with 1002.
    Protocol,
    /// Reason is not UTF-8: close with 1007.
    InvalidUtf8,
}

/// Parses an (unmasked) close frame payload.
pub(crate) fn parse_close(payload: &[u8]) -> Result<PeerClose, ClosePayloadError> {
    match payload {
        [] => Ok(PeerClose::NoStatus),
        [_] => Err(ClosePayloadError::Protocol),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            let allowed = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !allowed {
                return Err(ClosePayloadError::Protocol);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ClosePayloadError::InvalidUtf8)?;
            Ok(PeerClose::Status(code, reason.to_owned()))
        }
    }
}

/// A client's frame: `opcode` (bits), final or not, `payload` masked with
/// `mask`, in the shortest length form (what the tests and the fuzz
/// targets feed the reader).
#[cfg(any(test, fuzzing))]
pub(crate) fn masked(opcode: u8, fin: bool, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unmasks_all_length_forms() {
        for len in [0usize, 5, 125, 126, 1000, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mask = [0x37, 0xfa, 0x21, 0x3d];
            let mut wire = masked(0x1, true, &payload, mask);
            let header = parse_header(&wire, false).unwrap().unwrap();
            assert_eq!(header.payload_len, len as u64);
            assert_eq!(header.opcode, OpCode::Text);
            assert!(header.fin);
            // Unmask in two uneven pieces to exercise the offset.
            let body = &mut wire[header.header_len..];
            let split = len / 3;
            let (a, b) = body.split_at_mut(split);
            unmask(a, header.mask, 0);
            unmask(b, header.mask, split);
            assert_eq!(body, &payload[..]);
            // Every proper prefix of the header is incomplete, never an error.
            for cut in 0..header.header_len {
                assert_eq!(parse_header(&wire[..cut], false), Ok(None));
            }
        }
    }

    #[test]
    fn rejects_rule_breaking_frames() {
        let mask = [1, 2, 3, 4];
        let mut rsv = masked(0x1, true, b"x", mask);
        rsv[0] |= 0x40;
        assert_eq!(parse_header(&rsv, false), Err(FrameError::ReservedBits));
        let compressed = masked(0x1, true, b"x", mask)
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i == 0 { b | RSV1 } else { b })
            .collect::<Vec<_>>();
        assert_eq!(parse_header(&compressed, false), Err(FrameError::ReservedBits));
        assert!(parse_header(&compressed, true).unwrap().unwrap().compressed);
        let continuation = masked(0x0, true, b"x", mask)
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i == 0 { b | RSV1 } else { b })
            .collect::<Vec<_>>();
        assert_eq!(
            parse_header(&continuation, true),
            Err(FrameError::ReservedBits),
            "RSV1 only on a first frame"
        );
        assert_eq!(parse_header(&masked(0x3, true, b"", mask), false), Err(FrameError::UnknownOpcode(3)));
        assert_eq!(parse_header(&[0x81, 0x01, b'x'], false), Err(FrameError::Unmasked));
        assert_eq!(parse_header(&masked(0x9, false, b"", mask), false), Err(FrameError::FragmentedControl));
        assert_eq!(parse_header(&masked(0x9, true, &[0; 126], mask), false), Err(FrameError::ControlTooLong));
        let mut huge = vec![0x82, 0x80 | 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&mask);
        assert_eq!(parse_header(&huge, false), Err(FrameError::LengthOverflow));
    }

    #[test]
    fn encodes_server_frames() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let payload = vec![7u8; len];
            let bytes = frame(OpCode::Binary, &payload);
            let expected_header = if len < 126 {
                2
            } else if len <= 0xFFFF {
                4
            } else {
                10
            };
            assert_eq!(bytes.len(), expected_header + len);
            assert_eq!(bytes[0], 0x82);
            assert_eq!(&bytes[expected_header..], &payload[..]);
        }
    }

    #[test]
    fn close_frames_round_trip_and_cut_reasons_on_char_boundaries() {
        let bytes = close_frame(1009, &"é".repeat(100));
        assert_eq!(bytes[0], 0x88);
        let len = bytes[1] as usize;
        assert!(len <= 125);
        let parsed = parse_close(&bytes[2..]).unwrap();
        let PeerClose::Status(code, reason) = parsed else { panic!() };
        assert_eq!(code, 1009);
        assert_eq!(reason.chars().count(), 61);
        assert_eq!(parse_close(&[]), Ok(PeerClose::NoStatus));
        assert_eq!(parse_close(&[3]), Err(ClosePayloadError::Protocol));
        assert_eq!(parse_close(&1005u16.to_be_bytes()), Err(ClosePayloadError::Protocol));
        assert_eq!(parse_close(&[0x03, 0xE8, 0xff]), Err(ClosePayloadError::InvalidUtf8));
    }
}
