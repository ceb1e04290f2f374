//! Writing a connection's queued frames to its socket: the shared sending
//! side ([`DirectWriter`]), and the gather of small frames into one buffer
//! per worker thread, used by the driver's writes and by direct writes alike.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use tokio::io::Interest;
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

/// The sending side of a TCP connection, shared by its driver and the
/// direct writes of pushed frames. The socket closes when the last holder
/// lets go: the driver takes it back from the outbox when the connection ends.
#[derive(Debug, Clone)]
pub(crate) struct DirectWriter(Arc<OwnedWriteHalf>);

impl DirectWriter {
    pub(crate) fn new(write: OwnedWriteHalf) -> DirectWriter {
        DirectWriter(Arc::new(write))
    }
}

impl DirectWriter {
    pub(crate) fn stream(&self) -> &TcpStream {
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
