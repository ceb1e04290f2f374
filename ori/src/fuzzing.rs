//! Entry points of the fuzz targets (`fuzz/`, FUZZING.md): each runs one of
//! ori's hand-written decoders on arbitrary bytes and asserts its
//! properties, so that a failed assertion (or a panic) is a finding, not
//! only a crash. Compiled only under `cfg(fuzzing)`, which `cargo fuzz`
//! sets; not API.

#![doc(hidden)]

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::protocol::envelope;
use crate::pubsub::packet;
use crate::wire::deflate::{Deflate, deflate_frame, inflate};
use crate::wire::frame::{OpCode, frame, masked, split_frame};
use crate::wire::utf8::Utf8Stream;
use crate::ws::message_io::{MessageIo, ReadEvent};
use crate::ws::transport::Transport;
use crate::ws::{extensions, handshake};

/// A byte stream that arrives in the given pieces, then ends.
struct Pieces(VecDeque<Vec<u8>>);

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(mut piece) = self.0.pop_front() {
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            if n < piece.len() {
                self.0.push_front(piece.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pieces {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Transport for Pieces {
    fn poll_send(&mut self, _: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
    }

    fn sends_vectored(&self) -> bool {
        false
    }
}

/// What the reader reported, owned, to compare two runs.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close(String),
    TooBig,
    InvalidUtf8,
    BadCompression,
    End(String),
}

/// Everything a connection's reader reports for `stream` arriving in `pieces`.
fn read_all(pieces: Vec<Vec<u8>>, deflate: bool, max_message: usize) -> Vec<Event> {
    let mut io = MessageIo::new(Pieces(pieces.into()), &[], max_message);
    if deflate {
        io.inflate_messages();
    }
    let mut cx = Context::from_waker(Waker::noop());
    let mut events = Vec::new();
    loop {
        let read = io.poll_read(&mut cx, |event| {
            events.push(match event {
                ReadEvent::Text(text) => Event::Text(text.to_owned()),
                ReadEvent::Binary(bytes) => Event::Binary(bytes.to_vec()),
                ReadEvent::Ping(bytes) => Event::Ping(bytes.to_vec()),
                ReadEvent::Pong => Event::Pong,
                ReadEvent::Close(close) => Event::Close(format!("{close:?}")),
                ReadEvent::TooBig => Event::TooBig,
                ReadEvent::InvalidUtf8 => Event::InvalidUtf8,
                ReadEvent::BadCompression => Event::BadCompression,
            })
        });
        match read {
            Poll::Ready(Ok(())) => continue,
            Poll::Ready(Err(end)) => {
                events.push(Event::End(format!("{end:?}")));
                return events;
            }
            Poll::Pending => unreachable!("the pieces are always ready"),
        }
    }
}

/// `data` cut into pieces whose sizes follow `seed` (1 byte up to a few KiB).
fn cut(data: &[u8], seed: u16) -> Vec<Vec<u8>> {
    let mut state = u32::from(seed) | 1;
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = match state % 4 {
            0 => 1,
            1 => (state >> 8) as usize % 8 + 1,
            2 => (state >> 8) as usize % 200 + 1,
            _ => (state >> 8) as usize % 9000 + 1,
        };
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        pieces.push(piece.to_vec());
        rest = tail;
    }
    pieces
}

/// The frame reader on any byte stream: it never panics, and what it
/// reports does not depend on where the stream was split.
///
/// `data`: a flags byte (bit 0: permessage-deflate; bits 1-3: the size
/// limit), two bytes of split seed, then the stream.
pub fn frame_stream(data: &[u8]) {
    let [flags, a, b, stream @ ..] = data else { return };
    let deflate = flags & 1 == 1;
    let max_message = [16, 125, 126, 1000, 65_535, 65_536, 1 << 20, 16 << 20][usize::from(flags >> 1 & 7)];
    let whole = read_all(vec![stream.to_vec()], deflate, max_message);
    let split = read_all(cut(stream, u16::from_le_bytes([*a, *b])), deflate, max_message);
    assert_eq!(whole, split, "the events depend on how the stream was split");
}

/// Client frames built from `data` (valid ones: masked, fragmented at
/// will, controls between fragments) decode to the messages they carry,
/// however they are split; and each message, framed by the server,
/// splits back into the same opcode and payload.
pub fn frame_roundtrip(data: &[u8]) {
    let mut input = data.iter().copied();
    let mut next = move || input.next();
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    while let (Some(op), Some(len)) = (next(), next()) {
        let payload: Vec<u8> = (0..len as usize % 200).map(|_| next().unwrap_or(0)).collect();
        let mask = [next().unwrap_or(1), next().unwrap_or(2), next().unwrap_or(3), next().unwrap_or(4)];
        match op % 3 {
            0 => {
                let text = String::from_utf8_lossy(&payload).into_owned();
                let pieces = usize::from(op >> 2 & 3) + 1;
                let bytes = text.as_bytes();
                let size = bytes.len().div_ceil(pieces).max(1);
                let chunks: Vec<&[u8]> =
                    if bytes.is_empty() { vec![&[][..]] } else { bytes.chunks(size).collect() };
                for (i, chunk) in chunks.iter().enumerate() {
                    let opcode = if i == 0 { 0x1 } else { 0x0 };
                    stream.extend(masked(opcode, i + 1 == chunks.len(), chunk, mask));
                    if i == 0 && chunks.len() > 1 && op & 0x40 != 0 {
                        // A ping between fragments is allowed and comes first.
                        stream.extend(masked(0x9, true, b"p", mask));
                        expected.push(Event::Ping(b"p".to_vec()));
                    }
                }
                expected.push(Event::Text(text));
            }
            1 => {
                stream.extend(masked(0x2, true, &payload, mask));
                expected.push(Event::Binary(payload));
            }
            _ => {
                let payload = &payload[..payload.len().min(125)];
                stream.extend(masked(0x9, true, payload, mask));
                expected.push(Event::Ping(payload.to_vec()));
            }
        }
    }
    expected.push(Event::End("Gone".to_owned()));
    let seed = u16::from(data.first().copied().unwrap_or(0)) << 8 | u16::from(data.len() as u8);
    assert_eq!(read_all(cut(&stream, seed), false, 1 << 20), expected);
    for event in &expected {
        let (opcode, payload) = match event {
            Event::Text(text) => (OpCode::Text, text.as_bytes()),
            Event::Binary(bytes) => (OpCode::Binary, &bytes[..]),
            Event::Ping(bytes) => (OpCode::Ping, &bytes[..]),
            _ => continue,
        };
        let framed = frame(opcode, payload);
        assert_eq!(split_frame(&framed), (opcode.bits(), false, payload), "a server frame splits back");
    }
}

/// The UTF-8 check of a text message fed in pieces agrees with
/// `std::str::from_utf8` on the whole, wherever it is cut.
///
/// `data`: two bytes of split seed, then the text.
pub fn utf8_stream(data: &[u8]) {
    let [a, b, text @ ..] = data else { return };
    let mut check = Utf8Stream::default();
    let mut valid = true;
    for piece in cut(text, u16::from_le_bytes([*a, *b])) {
        if !check.feed(&piece) {
            valid = false;
            break;
        }
    }
    let valid = valid && check.is_complete();
    assert_eq!(valid, std::str::from_utf8(text).is_ok(), "the streamed check disagrees");
}

/// Inflating arbitrary bytes never yields more than the limit; and a
/// message the server compressed inflates back to itself.
///
/// `data`: one byte for the limit, then the bytes.
pub fn inflate_any(data: &[u8]) {
    let [limit, bytes @ ..] = data else { return };
    let limit = 1usize << (limit % 21);
    if let Ok(out) = inflate(bytes, limit) {
        assert!(out.len() <= limit, "{} bytes inflated past the limit {limit}", out.len());
    }
    let deflate = Deflate { threshold: 0, level: 1 + bytes.len() as u8 % 9, window_bits: 15 };
    if let Some(packed) = deflate_frame(&frame(OpCode::Binary, bytes), &deflate) {
        let (_, compressed, payload) = split_frame(&packed);
        assert!(compressed);
        assert_eq!(inflate(payload, bytes.len()).as_deref(), Ok(bytes), "a round trip changed the message");
    }
}

/// Inflates `bytes` with the given limit (what `fuzz/` measures the
/// allocations of); the length produced, if any.
pub fn inflate_only(bytes: &[u8], limit: usize) -> Option<usize> {
    inflate(bytes, limit).ok().map(|out| out.len())
}

/// The envelope's fast path and its thorough path agree on every message
/// the fast path accepts (it never refuses: it hands the message over).
pub fn envelope_paths(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (fast, thorough) = envelope::both_paths(text);
    let Some(fast) = fast else { return };
    let Ok(thorough) = thorough else {
        panic!("the fast path accepted what the thorough path refuses: {text}");
    };
    assert_eq!(fast.message_type, thorough.message_type, "{text}");
    assert_eq!(fast.data.get(), thorough.data.get(), "{text}");
    assert_eq!(fast.correlation_id, thorough.correlation_id, "{text}");
}

/// MessagePack in, JSON out, MessagePack again: what the codec accepts
/// keeps its value (the JSON read back is the same JSON value: a 32-bit
/// float is written as its shortest decimal, read back as a 64-bit one),
/// and from the second MessagePack on, the bytes do not change.
pub fn msgpack(data: &[u8]) {
    use crate::protocol::codec::{json_to_msgpack, msgpack_to_json};
    let Ok(json) = msgpack_to_json(data) else { return };
    let mut packed = Vec::new();
    assert!(json_to_msgpack(json.as_bytes(), &mut packed), "its own JSON: {json}");
    let again = msgpack_to_json(&packed).expect("its own MessagePack");
    let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("JSON it wrote");
    assert_eq!(value(&json), value(&again), "the value changed through MessagePack");
    let mut repacked = Vec::new();
    assert!(json_to_msgpack(again.as_bytes(), &mut repacked));
    assert_eq!(packed, repacked, "MessagePack not stable: {again}");
}

/// A packet between instances: decoding any bytes never panics, and a
/// packet without a position (publish, direct, command, count, answer)
/// encodes back to the same bytes.
pub fn packet(data: &[u8]) {
    let Some(packet) = packet::decode(data) else { return };
    if packet.position.is_none() {
        let again = packet::encode(packet.kind, &packet.instance, packet.socket, &packet.message);
        assert_eq!(again, data, "{packet:?}");
    }
}

/// The upgrade request's headers (one `name: value` per line) read by the
/// handshake checks never panic, and the permessage-deflate answer agreed
/// on is itself an offer the server accepts, with the same window.
pub fn upgrade_headers(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(line[colon + 1..].trim_ascii()))
        else {
            continue;
        };
        headers.append(name, value);
    }
    let _ = handshake::accept(&headers);
    if let Ok(Some(chosen)) = handshake::negotiate_subprotocol(&headers, &["ori.json", "ori.msgpack"]) {
        assert!(chosen < 2);
    }
    if let Some(agreed) = extensions::negotiate_deflate(&headers) {
        let mut answer = HeaderMap::new();
        answer.insert(header::SEC_WEBSOCKET_EXTENSIONS, agreed.response.clone());
        let again = extensions::negotiate_deflate(&answer).expect("the server's own answer is acceptable");
        assert_eq!(again.server_window_bits, agreed.server_window_bits);
    }
}
