//! [`MessageIo`]: one socket's messages: reads client frames and
//! reassembles them into messages (unmasked, UTF-8 checked, inflated), and
//! writes queued server frames.
//!
//! Memory is spent only while there is traffic: reads land in a buffer on the
//! stack and complete frames are handled in place; only the tail of an
//! unfinished frame is kept on the heap, and the heap buffer is released once
//! it is consumed. Writes send many frames per syscall: small frames are
//! copied into one buffer owned by the worker thread (the kernel takes one
//! contiguous buffer faster than many small iovecs), large ones go out
//! uncopied in one vectored write.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use tokio::io::ReadBuf;

use super::transport::Transport;
use crate::connection::outbox::{Drained, Outbox};
use crate::connection::write::{GATHER, consume_written, gather, with_gather_buffer};
use crate::wire::deflate::{InflateError, inflate};
use crate::wire::frame::{
    ClosePayloadError, OpCode, PeerClose, close_frame, parse_close, parse_header, unmask,
};
use crate::wire::utf8::Utf8Stream;

/// Bytes read per syscall into the stack buffer.
const READ_CHUNK: usize = 8 * 1024;
/// Frames handed to one vectored write.
const MAX_IOVECS: usize = 64;
/// Bytes gathered into one write when the socket has no vectored writes.
const COALESCE: usize = 64 * 1024;

/// A complete message or control frame from the client.
///
/// After `TooBig` or `InvalidUtf8` the reader only looks for a close frame:
/// the connection is to be closed (1009, 1007), and the rest of the stream is
/// skipped frame by frame so the closing handshake still works.
#[derive(Debug)]
pub(crate) enum ReadEvent<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong,
    Close(Result<PeerClose, ClosePayloadError>),
    /// A message exceeded the size limit: close 1009.
    TooBig,
    /// A text message was not UTF-8: close 1007.
    InvalidUtf8,
    /// A compressed message was not a valid deflate stream: close 1007.
    BadCompression,
}

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum ReadEnd {
    /// The client closed the TCP connection (or it failed).
    Gone,
    /// A frame broke RFC 6455 (close 1002); the stream cannot be followed further.
    Protocol(&'static str),
}

/// Message-level I/O for one connection.
#[derive(Debug)]
pub(crate) struct MessageIo<IO> {
    io: IO,
    /// Bytes of an unfinished frame (empty, and unallocated, between frames).
    partial: Vec<u8>,
    /// `partial` holds bytes not yet parsed (handed over by the HTTP layer).
    unparsed: bool,
    /// A fragmented message being reassembled.
    fragment: Option<(OpCode, Vec<u8>)>,
    /// The message being received is compressed (its first frame had RSV1).
    fragment_compressed: bool,
    /// permessage-deflate was negotiated: RSV1 marks compressed messages.
    deflate: bool,
    /// Payload bytes still to skip (closing: data frames are discarded).
    skip: u64,
    /// UTF-8 state of the text message being received, checked piece by
    /// piece so that an invalid byte fails the connection on arrival.
    utf8: Utf8Stream,
    /// Payload bytes of the unfinished frame at the head of `partial`
    /// already unmasked (and, for text, checked). Below `max_message`.
    unmasked: u32,
    /// Closing: only close frames matter, no size limit applies.
    discard: bool,
    /// Size of the unfinished frame at the head of `partial`, to reserve at once.
    want: usize,
    max_message: usize,
    /// Frames being written; the front one may be partly written.
    writing: VecDeque<Bytes>,
    /// Bytes in `writing`.
    unwritten: usize,
    front_started: bool,
}

impl<IO: Transport> MessageIo<IO> {
    /// `read_ahead` holds bytes the HTTP layer read past the upgrade request.
    pub(crate) fn new(io: IO, read_ahead: &[u8], max_message: usize) -> MessageIo<IO> {
        MessageIo {
            io,
            unparsed: !read_ahead.is_empty(),
            // Copy, never adopt: hyper's leftover bytes are a view into its
            // whole read buffer (8 KiB), which would then live as long as the
            // connection.
            partial: read_ahead.to_vec(),
            fragment: None,
            fragment_compressed: false,
            deflate: false,
            skip: 0,
            utf8: Utf8Stream::default(),
            unmasked: 0,
            discard: false,
            want: 0,
            max_message,
            writing: VecDeque::new(),
            unwritten: 0,
            front_started: false,
        }
    }

    /// Accepts messages compressed with permessage-deflate (negotiated at the upgrade).
    pub(crate) fn inflate_messages(&mut self) {
        self.deflate = true;
    }

    /// Reads once and reports each complete frame to `on_event`.
    /// `Ready(Ok(()))` means something was read; call again.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        mut on_event: impl FnMut(ReadEvent<'_>),
    ) -> Poll<Result<(), ReadEnd>> {
        if self.unparsed {
            self.unparsed = false;
            let mut buf = std::mem::take(&mut self.partial);
            let used = self.process(&mut buf, &mut on_event)?;
            self.keep_tail(buf, used);
            return Poll::Ready(Ok(()));
        }
        let mut storage = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read_buf = ReadBuf::uninit(&mut storage);
        if ready!(Pin::new(&mut self.io).poll_read(cx, &mut read_buf)).is_err() {
            return Poll::Ready(Err(ReadEnd::Gone));
        }
        let n = read_buf.filled().len();
        if n == 0 {
            return Poll::Ready(Err(ReadEnd::Gone));
        }
        if self.partial.is_empty() {
            let data = read_buf.filled_mut();
            let used = self.process(data, &mut on_event)?;
            if used < n {
                self.partial.reserve_exact(self.want.max(n - used));
                self.partial.extend_from_slice(&data[used..]);
            }
        } else {
            let mut buf = std::mem::take(&mut self.partial);
            buf.extend_from_slice(read_buf.filled());
            let used = self.process(&mut buf, &mut on_event)?;
            self.keep_tail(buf, used);
        }
        Poll::Ready(Ok(()))
    }

    /// Keeps the unconsumed tail of `buf`; drops the allocation when nothing is left.
    fn keep_tail(&mut self, mut buf: Vec<u8>, used: usize) {
        if used < buf.len() {
            buf.drain(..used);
            if self.want > buf.len() {
                buf.reserve_exact(self.want - buf.len());
            }
            self.partial = buf;
        }
    }

    /// Handles every complete frame at the start of `data`; returns the bytes consumed.
    fn process(
        &mut self,
        data: &mut [u8],
        on_event: &mut impl FnMut(ReadEvent<'_>),
    ) -> Result<usize, ReadEnd> {
        let mut pos = 0;
        self.want = 0;
        loop {
            if self.skip > 0 {
                let step = self.skip.min((data.len() - pos) as u64);
                pos += step as usize;
                self.skip -= step;
                if self.skip > 0 {
                    return Ok(pos);
                }
            }
            let header = match parse_header(&data[pos..], self.deflate) {
                Ok(Some(header)) => header,
                Ok(None) => return Ok(pos),
                Err(e) => return Err(ReadEnd::Protocol(e.reason())),
            };
            let is_data = !header.opcode.is_control();
            if is_data && !self.discard {
                let so_far = self.fragment.as_ref().map_or(0, |(_, m)| m.len()) as u64;
                if so_far + header.payload_len > self.max_message as u64 {
                    on_event(ReadEvent::TooBig);
                    self.start_discarding();
                }
            }
            let start = pos + header.header_len;
            let available = (data.len() - start) as u64;
            // Compressed text is checked once inflated.
            let text = !self.discard && !header.compressed && self.is_text(header.opcode);
            if available < header.payload_len {
                if text {
                    // Check what has arrived of the text so far.
                    let payload = &mut data[start..];
                    let unmasked = self.unmasked as usize;
                    unmask(&mut payload[unmasked..], header.mask, unmasked);
                    self.unmasked = u32::try_from(payload.len()).unwrap_or(u32::MAX);
                    if !self.utf8.feed(&payload[unmasked..]) {
                        on_event(ReadEvent::InvalidUtf8);
                        self.start_discarding();
                    }
                }
                if is_data && self.discard {
                    self.skip = header.payload_len - available;
                    self.unmasked = 0;
                    return Ok(data.len());
                }
                // The caller keeps the tail; let it reserve room for the whole frame.
                self.want = header.header_len + header.payload_len as usize;
                return Ok(pos);
            }
            let end = start + header.payload_len as usize;
            let payload = &mut data[start..end];
            let unmasked = std::mem::take(&mut self.unmasked) as usize;
            unmask(&mut payload[unmasked..], header.mask, unmasked);
            pos = end;
            // A whole text message in one frame is checked when it is emitted.
            if text && !(header.opcode == OpCode::Text && header.fin && unmasked == 0) {
                let valid = self.utf8.feed(&payload[unmasked..]) && (!header.fin || self.utf8.is_complete());
                if !valid {
                    on_event(ReadEvent::InvalidUtf8);
                    self.start_discarding();
                    continue;
                }
                if header.fin {
                    self.utf8 = Utf8Stream::default();
                }
            }
            self.on_frame(header.opcode, header.compressed, header.fin, payload, on_event)?;
        }
    }

    /// Whether a data frame with `opcode` carries text: a text frame that
    /// starts a message, or a continuation of a text message.
    fn is_text(&self, opcode: OpCode) -> bool {
        match opcode {
            OpCode::Text => self.fragment.is_none(),
            OpCode::Continuation => {
                !self.fragment_compressed && matches!(self.fragment, Some((OpCode::Text, _)))
            }
            _ => false,
        }
    }

    /// From now on only close frames are reported; data frames are skipped.
    fn start_discarding(&mut self) {
        self.discard = true;
        self.fragment = None;
        self.fragment_compressed = false;
        self.utf8 = Utf8Stream::default();
    }

    fn on_frame(
        &mut self,
        opcode: OpCode,
        compressed: bool,
        fin: bool,
        payload: &mut [u8],
        on_event: &mut impl FnMut(ReadEvent<'_>),
    ) -> Result<(), ReadEnd> {
        if self.discard {
            if opcode == OpCode::Close {
                on_event(ReadEvent::Close(parse_close(payload)));
            }
            return Ok(());
        }
        match opcode {
            OpCode::Text | OpCode::Binary => {
                if self.fragment.is_some() {
                    return Err(ReadEnd::Protocol("a new message started before the previous one ended"));
                }
                if fin {
                    self.emit(opcode, compressed, payload, on_event);
                } else {
                    self.fragment = Some((opcode, payload.to_vec()));
                    self.fragment_compressed = compressed;
                }
            }
            OpCode::Continuation => {
                let Some((_, message)) = self.fragment.as_mut() else {
                    return Err(ReadEnd::Protocol("continuation frame without a message to continue"));
                };
                message.extend_from_slice(payload);
                if fin {
                    let (opcode, mut message) = self.fragment.take().expect("checked above");
                    let compressed = std::mem::take(&mut self.fragment_compressed);
                    self.emit(opcode, compressed, &mut message, on_event);
                }
            }
            OpCode::Ping => on_event(ReadEvent::Ping(payload)),
            OpCode::Pong => on_event(ReadEvent::Pong),
            OpCode::Close => on_event(ReadEvent::Close(parse_close(payload))),
        }
        Ok(())
    }

    fn emit(
        &mut self,
        opcode: OpCode,
        compressed: bool,
        payload: &mut [u8],
        on_event: &mut impl FnMut(ReadEvent<'_>),
    ) {
        if compressed {
            match inflate(payload, self.max_message) {
                Ok(mut message) => self.emit(opcode, false, &mut message, on_event),
                Err(InflateError::TooBig) => {
                    on_event(ReadEvent::TooBig);
                    self.start_discarding();
                }
                Err(InflateError::Corrupt) => {
                    on_event(ReadEvent::BadCompression);
                    self.start_discarding();
                }
            }
            return;
        }
        if opcode == OpCode::Binary {
            return on_event(ReadEvent::Binary(payload));
        }
        match std::str::from_utf8(payload) {
            Ok(text) => on_event(ReadEvent::Text(text)),
            Err(_) => {
                on_event(ReadEvent::InvalidUtf8);
                self.start_discarding();
            }
        }
    }

    /// Queues frames to write, after those already queued.
    pub(crate) fn queue(&mut self, frames: impl IntoIterator<Item = Bytes>) {
        for frame in frames {
            self.unwritten += frame.len();
            self.writing.push_back(frame);
        }
    }

    /// Queues replies, whose frames are cut from this thread's chunks
    /// (`wire::arena`). Behind frames still waiting (the socket is full), a
    /// reply whose memory is shared is copied into memory of its own: a
    /// reader that does not keep up holds its own bytes, which
    /// `outbound_queue_bytes` bounds, and never a chunk other connections'
    /// replies share. (A reply re-encoded for the connection, MessagePack or
    /// compressed, already has its own.)
    pub(crate) fn queue_replies(&mut self, frames: impl IntoIterator<Item = Bytes>) {
        if self.writing.is_empty() {
            self.queue(frames);
        } else {
            let own = |frame: Bytes| if frame.is_unique() { frame } else { Bytes::copy_from_slice(&frame) };
            self.queue(frames.into_iter().map(own));
        }
    }

    /// Queues everything waiting in `outbox` (see [`Outbox::drain`]).
    pub(crate) fn queue_from(&mut self, outbox: &Outbox, waker: &Waker) -> Drained {
        let drained = outbox.drain(&mut self.writing, waker);
        self.unwritten += drained.bytes;
        drained
    }

    /// Frees the write queue's buffer if nothing is queued.
    pub(crate) fn release_if_idle(&mut self) {
        if self.writing.is_empty() {
            self.writing = VecDeque::new();
        }
    }

    /// The socket's sending side, if it allows direct writes (once).
    pub(crate) fn direct_writer(&mut self) -> Option<crate::connection::write::DirectWriter> {
        self.io.direct_writer()
    }

    /// Nothing is waiting to be written.
    pub(crate) fn is_idle(&self) -> bool {
        self.writing.is_empty()
    }

    /// Bytes queued and not yet written.
    pub(crate) fn unwritten(&self) -> usize {
        self.unwritten
    }

    /// Writes queued frames until the queue is empty (then flushes) or the socket is full.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.writing.is_empty() {
            let written = if self.writing.len() > 1 && self.writing[0].len() < GATHER / 2 {
                ready!(self.send_gathered(cx))?
            } else if self.io.sends_vectored() {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = self.writing.len().min(MAX_IOVECS);
                for (slot, frame) in slices.iter_mut().zip(self.writing.iter()) {
                    *slot = IoSlice::new(frame);
                }
                ready!(self.io.poll_send(cx, &slices[..count]))?
            } else {
                self.coalesce_front();
                ready!(self.io.poll_send(cx, &[IoSlice::new(&self.writing[0])]))?
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance(written);
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Copies the small frames at the front into this thread's gather
    /// buffer and sends them with one `send` (see [`GATHER`]).
    fn send_gathered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        with_gather_buffer(|buffer| {
            gather(&self.writing, buffer);
            self.io.poll_send(cx, &[IoSlice::new(buffer)])
        })
    }

    fn advance(&mut self, written: usize) {
        self.unwritten -= written;
        self.front_started = consume_written(&mut self.writing, written);
        if self.writing.is_empty() && self.writing.capacity() > 64 {
            self.writing = VecDeque::new();
        }
    }

    /// Merges small frames at the front into one buffer (for sockets without vectored writes).
    fn coalesce_front(&mut self) {
        if self.writing.len() < 2 || self.writing[0].len() >= COALESCE {
            return;
        }
        let mut merged = BytesMut::new();
        while let Some(frame) = self.writing.front() {
            if !merged.is_empty() && merged.len() + frame.len() > COALESCE {
                break;
            }
            merged.extend_from_slice(frame);
            self.writing.pop_front();
        }
        self.writing.push_front(merged.freeze());
    }

    /// Drops queued frames, except one already partly written (which must be
    /// finished to keep the stream valid). Returns the bytes dropped.
    pub(crate) fn discard_queued(&mut self) {
        let keep = usize::from(self.front_started);
        let dropped: usize = self.writing.drain(keep..).map(|f| f.len()).sum();
        self.unwritten -= dropped;
    }

    /// The closing handshake: writes what is queued and a close frame, then
    /// (unless the client already sent its close frame) waits for the
    /// client's close frame or EOF, discarding anything else. Bounded by `timeout`.
    /// Boxed: it runs once, and its timer should not enlarge every connection.
    pub(crate) fn close(
        self,
        code: u16,
        reason: &str,
        peer_closed: bool,
        timeout: Duration,
    ) -> BoxFuture<'static, ()> {
        let reason = reason.to_owned();
        Box::pin(self.close_inner(code, reason, peer_closed, timeout))
    }

    async fn close_inner(mut self, code: u16, reason: String, peer_closed: bool, timeout: Duration) {
        self.queue([close_frame(code, &reason)]);
        let handshake = async {
            std::future::poll_fn(|cx| self.poll_write(cx)).await.map_err(|_| ())?;
            if peer_closed {
                // Both close frames are out: dropping the socket ends the TCP connection.
                return Ok(());
            }
            // Tell a client that stops reading for our close frame that we are done writing.
            std::future::poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await.map_err(|_| ())?;
            self.start_discarding();
            let mut got_close = false;
            while !got_close {
                std::future::poll_fn(|cx| {
                    self.poll_read(cx, |event| got_close |= matches!(event, ReadEvent::Close(_)))
                })
                .await
                .map_err(|_| ())?;
            }
            Ok::<(), ()>(())
        };
        let _ = tokio::time::timeout(timeout, handshake).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::transport::TcpTransport;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    /// Frames of every size class, in an order that mixes gathered writes
    /// (small frames) with vectored ones (a large frame at the front), over a
    /// real socket whose reader is slow, so sends are often partial.
    #[tokio::test]
    async fn queued_frames_arrive_whole_and_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (mut client, server) = (client.unwrap(), accepted.unwrap().0);

        let mut frames = Vec::new();
        for i in 0..3000usize {
            let len = match i % 100 {
                0 => 200_000,
                1..=3 => GATHER / 2 + i % 7,
                _ => 1 + (i * 37) % 300,
            };
            frames.push(Bytes::from((0..len).map(|j| (i + j) as u8).collect::<Vec<_>>()));
        }
        let expected: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();

        let reader = tokio::spawn(async move {
            let mut received = Vec::with_capacity(expected.len());
            let mut chunk = vec![0u8; 4096];
            while received.len() < expected.len() {
                let n = client.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the writer closed early");
                received.extend_from_slice(&chunk[..n]);
                if received.len() % 7 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            assert!(received == expected, "bytes differ from the queued frames");
        });

        let mut io = MessageIo::new(TcpTransport::new(server), &[], 1 << 20);
        for batch in frames.chunks(250) {
            io.queue(batch.iter().cloned());
            std::future::poll_fn(|cx| io.poll_write(cx)).await.unwrap();
            assert!(io.is_idle());
            assert_eq!(io.unwritten(), 0);
        }
        reader.await.unwrap();
    }

    /// A reply queued behind a waiting frame no longer shares its chunk.
    #[tokio::test]
    async fn replies_that_must_wait_are_copied_out_of_their_chunk() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (_client, server) = (client.unwrap(), accepted.unwrap().0);
        let reply = || crate::wire::frame::reply_frame(OpCode::Text, b"reply");
        let mut io = MessageIo::new(TcpTransport::new(server), &[], 1 << 20);
        let first = reply();
        io.queue_replies([first.clone()]);
        assert_eq!(io.writing[0].as_ptr(), first.as_ptr(), "onto an empty queue: as it is");
        let second = reply();
        io.queue_replies([second.clone()]);
        assert_ne!(io.writing[1].as_ptr(), second.as_ptr(), "behind a waiting frame: copied");
        assert_eq!(io.writing[1], second);
        assert_eq!(io.unwritten(), first.len() + second.len());
        // A frame with memory of its own (re-encoded for the connection) is not copied.
        let own = crate::wire::frame::frame(OpCode::Binary, b"own");
        let at = own.as_ptr();
        io.queue_replies([own]);
        assert_eq!(io.writing[2].as_ptr(), at);
    }
}
