//! [`Transport`]: the socket under a WebSocket connection.
//!
//! Any tokio `AsyncRead + AsyncWrite` works; a `TcpStream` (what ori's own
//! server hands over) sends with `send`/`sendmsg`, which skip the VFS layer
//! that `write`/`writev` go through: measurably cheaper when one publish
//! means a write to each of thousands of sockets.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::TcpStream;

/// The byte stream of one connection.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Writes a prefix of `bufs`; returns how many bytes were taken.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Whether [`poll_send`](Self::poll_send) takes several buffers at once.
    fn sends_vectored(&self) -> bool;
}

impl Transport for TcpStream {
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.poll_write_ready(cx))?;
            let sent = self.try_io(Interest::WRITABLE, || {
                let socket = socket2::SockRef::from(&*self);
                match bufs {
                    [one] => socket.send(one),
                    many => socket.send_vectored(many),
                }
            });
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn sends_vectored(&self) -> bool {
        true
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
