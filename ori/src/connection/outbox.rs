//! The per-connection outbound queue, bounded in bytes.
//!
//! Publishers push shared frames. The connection's driver drains everything
//! queued in one go and writes it with as few syscalls as the socket allows;
//! or, when the driver has nothing of its own being written, pushes made on
//! the connection's own worker thread are written directly ([`Outbox::write_direct`],
//! see `connection::direct`), without waking the driver.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Mutex;
use std::task::Waker;

use bytes::Bytes;

use crate::connection::write::{DirectWriter, GATHER, consume_written, gather};
use crate::util::sync::lock;

/// A request, from outside the driver, to end the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseRequest {
    /// Graceful shutdown: finish in-flight handlers, flush, close with
    /// `code` (1001, or 1012 for a planned restart).
    Shutdown { code: u16 },
    /// The shutdown grace is over: drop in-flight handlers, close with `code` now.
    ShutdownNow { code: u16 },
    /// Nothing received for the idle timeout: close with 1000.
    Idle,
    /// The application closed the connection.
    App { code: u16, reason: String },
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Bytes>,
    /// Bytes in `frames`: pushed, not yet taken by the driver.
    bytes: usize,
    waker: Option<Waker>,
    /// No more frames are accepted.
    closed: bool,
    /// The queue overflowed; queued frames were discarded.
    overflowed: bool,
    /// Boxed: rare, and every connection has a queue.
    close: Option<Box<CloseRequest>>,
    ping: bool,
    /// The socket's sending side while direct writes are allowed.
    direct: Option<DirectWriter>,
}

impl Queue {
    fn discard(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }
}

/// Outbound frames of one connection.
#[derive(Debug)]
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    limit: usize,
}

/// What the driver finds when it drains the outbox.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    /// Bytes moved out of the queue.
    pub(crate) bytes: usize,
    pub(crate) overflowed: bool,
    pub(crate) close: Option<CloseRequest>,
    pub(crate) ping: bool,
}

impl Outbox {
    pub(crate) fn new(limit: usize) -> Outbox {
        Outbox { queue: Mutex::new(Queue::default()), limit }
    }

    /// Queues a frame. Someone must then write it: when the frame is the
    /// first in the queue, `wake_driver` is asked (under the lock, and told
    /// whether direct writes are allowed) whether to wake the driver; if not,
    /// the caller writes the queue itself ([`write_direct`](Self::write_direct))
    /// or wakes the driver later.
    ///
    /// Returns `false` if the frame was refused: the connection is closing,
    /// or this frame overflowed the queue, which then discards everything
    /// queued and closes the connection (1013). A frame always fits in an
    /// empty queue, so one message larger than the bound still reaches a
    /// client that keeps up.
    pub(crate) fn push(&self, frame: Bytes, wake_driver: impl FnOnce(bool) -> bool) -> bool {
        let len = frame.len();
        let (accepted, waker) = {
            let mut queue = lock(&self.queue);
            if queue.closed {
                return false;
            }
            if queue.bytes == 0 || queue.bytes + len <= self.limit {
                queue.bytes += len;
                queue.frames.push_back(frame);
                if queue.frames.len() > 1 {
                    return true;
                }
                let direct = queue.direct.is_some();
                (true, if wake_driver(direct) { queue.waker.take() } else { None })
            } else {
                queue.closed = true;
                queue.overflowed = true;
                queue.discard();
                (false, queue.waker.take())
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        accepted
    }

    /// Bytes queued now (not yet taken by the writer).
    pub(crate) fn queued_bytes(&self) -> usize {
        lock(&self.queue).bytes
    }

    /// The bound of the queue, in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Treats the connection as overflowed (a queue outside this one, held
    /// for it, overflowed): discards what is queued and closes it with 1013.
    pub(crate) fn overflow(&self) {
        let waker = {
            let mut queue = lock(&self.queue);
            if queue.closed {
                return;
            }
            queue.closed = true;
            queue.overflowed = true;
            queue.discard();
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the driver to write what is queued.
    pub(crate) fn wake(&self) {
        let waker = lock(&self.queue).waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Allows direct writes through `writer` (`None`: no more direct writes).
    pub(crate) fn set_direct(&self, writer: Option<DirectWriter>) {
        lock(&self.queue).direct = writer;
    }

    /// Writes everything queued straight to the socket, with one `send`
    /// through `buffer` (the thread's gather buffer), if direct writes are
    /// allowed and it all fits in [`GATHER`] bytes (larger queues are left
    /// to the driver, which writes them uncopied). Whatever is not written
    /// (the socket was full, or the queue too large) stays queued, in order,
    /// and the driver is woken.
    ///
    /// Only for the connection's own worker thread while its driver has
    /// nothing of its own being written: the driver cannot run meanwhile,
    /// so nothing else writes to the socket.
    pub(crate) fn write_direct(&self, buffer: &mut Vec<u8>) {
        let waker = {
            let mut queue = lock(&self.queue);
            if queue.frames.is_empty() {
                return;
            }
            match &queue.direct {
                Some(writer) if queue.bytes <= GATHER && queue.close.is_none() && !queue.ping => {
                    // Everything fits: one gather takes the whole queue.
                    buffer.clear();
                    gather(&queue.frames, buffer);
                    let written = writer.send_now(&[IoSlice::new(buffer)]).unwrap_or(0);
                    // What the socket did not take stays queued, in order.
                    consume_written(&mut queue.frames, written);
                    queue.bytes -= written;
                    if queue.frames.is_empty() {
                        return;
                    }
                }
                _ => {}
            }
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Asks the driver to close the connection (first request wins).
    pub(crate) fn request_close(&self, request: CloseRequest) {
        let waker = {
            let mut queue = lock(&self.queue);
            if queue.closed || queue.close.is_some() {
                return;
            }
            queue.close = Some(Box::new(request));
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Asks the driver to send a WebSocket ping frame.
    pub(crate) fn request_ping(&self) {
        let waker = {
            let mut queue = lock(&self.queue);
            queue.ping = true;
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Moves every queued frame to `into` (they stop counting against the
    /// bound: the driver drains only once it has written everything before),
    /// takes pending requests, and stores `waker` to be woken by the next push.
    pub(crate) fn drain(&self, into: &mut VecDeque<Bytes>, waker: &Waker) -> Drained {
        let mut queue = lock(&self.queue);
        let drained = std::mem::take(&mut queue.bytes);
        if into.is_empty() {
            std::mem::swap(into, &mut queue.frames);
        } else {
            into.extend(queue.frames.drain(..));
        }
        match &queue.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => queue.waker = Some(waker.clone()),
        }
        Drained {
            bytes: drained,
            overflowed: std::mem::take(&mut queue.overflowed),
            close: queue.close.take().map(|request| *request),
            ping: std::mem::take(&mut queue.ping),
        }
    }

    /// Stops accepting frames and discards what is queued.
    pub(crate) fn close(&self) {
        let mut queue = lock(&self.queue);
        queue.closed = true;
        queue.discard();
        queue.waker = None;
    }

    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.queue).closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_discards_and_closes() {
        let outbox = Outbox::new(10);
        assert!(outbox.push(Bytes::from_static(b"123456"), |_| true));
        assert!(!outbox.push(Bytes::from_static(b"123456"), |_| true));
        assert!(outbox.is_closed());
        let mut into = VecDeque::new();
        let drained = outbox.drain(&mut into, futures_util::task::noop_waker_ref());
        assert!(drained.overflowed);
        assert_eq!(drained.bytes, 0);
        assert!(into.is_empty());
        assert!(!outbox.push(Bytes::from_static(b"1"), |_| true));
    }

    #[test]
    fn a_large_frame_fits_an_empty_queue() {
        let outbox = Outbox::new(10);
        assert!(outbox.push(Bytes::from(vec![0u8; 100]), |_| true));
        let mut into = VecDeque::new();
        outbox.drain(&mut into, futures_util::task::noop_waker_ref());
        assert!(outbox.push(Bytes::from(vec![0u8; 100]), |_| true));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        #[derive(Debug, Clone)]
        enum Op {
            Push(usize),
            Drain,
            Overflow,
            Close,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => (0usize..400).prop_map(Op::Push),
                2 => Just(Op::Drain),
                1 => Just(Op::Overflow),
                1 => Just(Op::Close),
            ]
        }

        proptest! {
            /// Whatever the order of pushes, drains, overflows and closes:
            /// the queued bytes are the sum of the frames queued; a drain
            /// hands over exactly those frames, in order; a frame is refused
            /// only when closed or when it would pass the bound of a queue
            /// that is not empty (which then closes, empty).
            #[test]
            fn queued_bytes_are_the_frames_queued(limit in 1usize..1000, ops in prop::collection::vec(op(), 0..60)) {
                let outbox = Outbox::new(limit);
                let (mut queued, mut closed): (Vec<usize>, bool) = (Vec::new(), false);
                let waker = Waker::noop();
                for op in ops {
                    match op {
                        Op::Push(len) => {
                            let bytes: usize = queued.iter().sum();
                            let fits = !closed && (bytes == 0 || bytes + len <= limit);
                            prop_assert_eq!(outbox.push(Bytes::from(vec![0; len]), |_| false), fits);
                            if fits {
                                queued.push(len);
                            } else {
                                closed = true;
                                queued.clear();
                            }
                        }
                        Op::Drain => {
                            let mut into = VecDeque::new();
                            let drained = outbox.drain(&mut into, waker);
                            prop_assert_eq!(drained.bytes, queued.iter().sum::<usize>());
                            prop_assert_eq!(into.iter().map(Bytes::len).collect::<Vec<_>>(), std::mem::take(&mut queued));
                        }
                        Op::Overflow => {
                            outbox.overflow();
                            closed = true;
                            queued.clear();
                        }
                        Op::Close => {
                            outbox.close();
                            closed = true;
                            queued.clear();
                        }
                    }
                    prop_assert_eq!(outbox.queued_bytes(), queued.iter().sum::<usize>());
                    prop_assert_eq!(outbox.is_closed(), closed);
                }
            }
        }
    }
}
