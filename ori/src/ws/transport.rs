//! [`Transport`]: the socket under a WebSocket connection.
//!
//! Any tokio `AsyncRead + AsyncWrite` works. A TCP connection accepted by
//! ori's own server becomes a [`TcpTransport`]: it sends with `send`/`sendmsg`,
//! which skip the VFS layer that `write`/`writev` go through (measurably
//! cheaper when one publish means a write to each of thousands of sockets),
//! and it lends its sending side ([`DirectWriter`]) to the connection's outbox
//! so that pushed frames can be written without a trip through the
//! connection's task (`connection::direct`).

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use crate::connection::write::{DirectWriter, send};

/// The byte stream of one connection.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Writes a prefix of `bufs`; returns how many bytes were taken.
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Whether [`poll_send`](Self::poll_send) takes several buffers at once.
    fn sends_vectored(&self) -> bool;

    /// The sending side, for direct writes, if this transport allows them
    /// (once: the writer is taken).
    fn direct_writer(&mut self) -> Option<DirectWriter> {
        None
    }
}

/// A TCP connection accepted by ori's server. It reads through its reading
/// half and writes through the stream that half shares; the writing half
/// is only lent to the outbox ([`Transport::direct_writer`]).
#[derive(Debug)]
pub(crate) struct TcpTransport {
    read: OwnedReadHalf,
    write: Option<DirectWriter>,
}

impl TcpTransport {
    pub(crate) fn new(stream: TcpStream) -> TcpTransport {
        let (read, write) = stream.into_split();
        TcpTransport { read, write: Some(DirectWriter::new(write)) }
    }

    fn stream(&self) -> &TcpStream {
        self.read.as_ref()
    }

    /// Shuts the socket down for writing: a FIN after the last byte sent.
    fn shutdown_write(&self) -> io::Result<()> {
        socket2::SockRef::from(self.stream()).shutdown(Shutdown::Write)
    }
}

/// The connection is over: the socket is shut down for writing (a FIN after
/// the last frame) before it closes, as tokio's writing half does when it
/// is dropped. A socket closed with unread input sends a reset instead,
/// which can make the peer lose the close frame still in its buffer.
impl Drop for TcpTransport {
    fn drop(&mut self) {
        let _ = self.shutdown_write();
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
        Poll::Ready(self.shutdown_write())
    }
}

impl Transport for TcpTransport {
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let stream = self.stream();
        loop {
            ready!(stream.poll_write_ready(cx))?;
            match stream.try_io(Interest::WRITABLE, || send(stream, bufs)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn sends_vectored(&self) -> bool {
        true
    }

    fn direct_writer(&mut self) -> Option<DirectWriter> {
        self.write.take()
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A transport on the accepted side of a loopback connection, and the client's side.
    async fn pair() -> (TcpTransport, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        (TcpTransport::new(accepted), client)
    }

    /// What the client reads until the server's side ends it (or 2 s pass).
    async fn read_to_end(client: &mut TcpStream) -> io::Result<Vec<u8>> {
        let mut read = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut read))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        Ok(read)
    }

    /// The writer lent to the outbox does not end the socket when it is
    /// dropped (the driver may still write its close frame).
    #[tokio::test]
    async fn dropping_the_lent_writer_leaves_the_socket_writable() {
        let (mut transport, mut client) = pair().await;
        let writer = transport.direct_writer().expect("a TCP transport lends its writer");
        assert_eq!(writer.send_now(&[IoSlice::new(b"direct ")]).unwrap(), 7);
        drop(writer);
        transport.write_all(b"then the driver").await.unwrap();
        drop(transport);
        assert_eq!(read_to_end(&mut client).await.unwrap(), b"direct then the driver");
    }

    /// Dropping the transport sends a FIN even while the lent writer still
    /// holds the socket open, and before a close with unread input (which
    /// would send a reset, and the peer could lose what it has not read).
    #[tokio::test]
    async fn dropping_the_transport_shuts_the_socket_down_for_writing() {
        let (mut transport, mut client) = pair().await;
        let writer = transport.direct_writer().expect("a TCP transport lends its writer");
        transport.write_all(b"last words").await.unwrap();
        drop(transport);
        assert_eq!(read_to_end(&mut client).await.unwrap(), b"last words", "EOF while the writer lives");
        drop(writer);
    }
}
