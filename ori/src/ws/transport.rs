//! [`Transport`]: the socket under a WebSocket connection.
//!
//! Any tokio `AsyncRead + AsyncWrite` works. A TCP connection accepted by
//! ori's own server becomes a [`TcpTransport`]: it sends with `send`/`sendmsg`,
//! which skip the VFS layer that `write`/`writev` go through (measurably
//! cheaper when one publish means a write to each of thousands of sockets),
//! and it shares its sending side ([`DirectWriter`]) so that pushed frames can
//! be written without a trip through the connection's task (`ws::direct`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::scratch::with_scratch;

/// Bytes of small frames copied into one buffer for one `send`: the kernel
/// takes one contiguous buffer faster than many small iovecs, and copying a
/// few KiB costs less than the difference.
pub(crate) const GATHER: usize = 16 * 1024;

thread_local! {
    static GATHER_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this worker thread's gather buffer, empty.
pub(crate) fn with_gather_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    with_scratch(&GATHER_BUFFER, GATHER, f)
}

/// Copies frames from the front of `frames` into `buffer` while they fit in
/// [`GATHER`] bytes (the first one always); returns how many it took.
pub(crate) fn gather(frames: &VecDeque<Bytes>, buffer: &mut Vec<u8>) -> usize {
    let mut taken = 0;
    for frame in frames {
        if taken > 0 && buffer.len() + frame.len() > GATHER {
            break;
        }
        buffer.extend_from_slice(frame);
        taken += 1;
    }
    taken
}

/// Removes `written` bytes from the front of `frames`: the frames written
/// whole, and the written part of the next one. Returns whether a frame is
/// now partly written.
pub(crate) fn consume_written(frames: &mut VecDeque<Bytes>, mut written: usize) -> bool {
    while written > 0 {
        let front = frames.front_mut().expect("wrote more than was queued");
        if front.len() > written {
            front.advance(written);
            return true;
        }
        written -= front.len();
        frames.pop_front();
    }
    false
}

/// The byte stream of one connection.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Writes a prefix of `bufs`; returns how many bytes were taken.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Whether [`poll_send`](Self::poll_send) takes several buffers at once.
    fn sends_vectored(&self) -> bool;

    /// The sending side, shared, if this transport allows direct writes.
    fn direct_writer(&self) -> Option<DirectWriter> {
        None
    }
}

/// The sending side of a TCP connection, shared by its driver and the
/// direct writes of pushed frames. The socket closes when the last holder
/// lets go: the driver takes it back from the outbox when the connection ends.
#[derive(Debug, Clone)]
pub(crate) struct DirectWriter(Arc<OwnedWriteHalf>);

impl DirectWriter {
    fn stream(&self) -> &TcpStream {
        (*self.0).as_ref()
    }

    /// One non-blocking `send` (`sendmsg` for several buffers); `WouldBlock`
    /// when the socket buffer is full.
    pub(crate) fn try_send(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let stream = self.stream();
        stream.try_io(Interest::WRITABLE, || {
            let socket = socket2::SockRef::from(stream);
            match bufs {
                [one] => socket.send(one),
                many => socket.send_vectored(many),
            }
        })
    }
}

/// A TCP connection accepted by ori's server.
#[derive(Debug)]
pub(crate) struct TcpTransport {
    read: OwnedReadHalf,
    write: DirectWriter,
}

impl TcpTransport {
    pub(crate) fn new(stream: TcpStream) -> TcpTransport {
        let (read, write) = stream.into_split();
        TcpTransport { read, write: DirectWriter(Arc::new(write)) }
    }
}

impl AsyncRead for TcpTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpTransport {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[IoSlice::new(buf)])
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(self.write.stream()).shutdown(Shutdown::Write))
    }
}

impl Transport for TcpTransport {
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.write.stream().poll_write_ready(cx))?;
            match self.write.try_send(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn sends_vectored(&self) -> bool {
        true
    }

    fn direct_writer(&self) -> Option<DirectWriter> {
        Some(self.write.clone())
    }
}

impl Transport for TokioIo<Upgraded> {
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(self).poll_write_vectored(cx, bufs)
    }

    fn sends_vectored(&self) -> bool {
        self.is_write_vectored()
    }
}
