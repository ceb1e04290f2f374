//! Writing a connection's queued frames to its socket: the sending side lent
//! to the outbox ([`DirectWriter`]), and the gather of small frames into one buffer
//! per worker thread, used by the driver's writes and by direct writes alike.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};

use bytes::{Buf, Bytes};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use crate::util::scratch::with_scratch;

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

/// The sending side of a TCP connection, lent to its outbox for direct
/// writes while its driver runs (the driver writes through the stream its
/// reading half shares). Held inline by the outbox, so a direct write reaches
/// the socket in one step. Dropping it leaves the socket open: the transport
/// shuts it down and closes it when the driver ends.
#[derive(Debug)]
pub(crate) struct DirectWriter(Option<OwnedWriteHalf>);

impl DirectWriter {
    pub(crate) fn new(write: OwnedWriteHalf) -> DirectWriter {
        DirectWriter(Some(write))
    }

    /// One non-blocking `send` (`sendmsg` for several buffers); `WouldBlock`
    /// when the socket buffer is full.
    ///
    /// Straight to the socket, without tokio's readiness (a cache line of
    /// its own per connection, cold when a publish writes to thousands):
    /// the caller leaves what was not sent to the driver, whose write then
    /// learns `WouldBlock` through tokio and waits for the socket properly.
    pub(crate) fn send_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let Some(write) = &self.0 else { return Err(io::ErrorKind::NotConnected.into()) };
        send(write.as_ref(), bufs)
    }
}

/// One non-blocking `send` of `bufs` to `stream` (`sendmsg` for several),
/// which skips the VFS layer that `write`/`writev` go through.
pub(crate) fn send(stream: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let socket = socket2::SockRef::from(stream);
    match bufs {
        [one] => socket.send(one),
        many => socket.send_vectored(many),
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        if let Some(write) = self.0.take() {
            write.forget();
        }
    }
}
