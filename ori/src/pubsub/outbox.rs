//! The per-connection outbound queue, bounded in bytes.
//!
//! Publishers push shared frames; the connection's driver drains everything
//! queued in one go and writes it with as few syscalls as the socket allows.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::Waker;

use bytes::Bytes;

use crate::sync::lock;

/// A request, from outside the driver, to end the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseRequest {
    /// Graceful shutdown: finish in-flight handlers, flush, close with 1001.
    Shutdown,
    /// The shutdown grace is over: drop in-flight handlers, close with 1001 now.
    ShutdownNow,
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
    close: Option<CloseRequest>,
    ping: bool,
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

    /// Queues a frame. Returns `false` if the connection is closing, or if this
    /// frame overflowed the queue (which then discards everything queued).
    ///
    /// A frame always fits in an empty queue, so one message larger than the
    /// bound still reaches a client that keeps up.
    pub(crate) fn push(&self, frame: Bytes) -> bool {
        let len = frame.len();
        let (accepted, waker);
        {
            let mut queue = lock(&self.queue);
            if queue.closed {
                return false;
            }
            if queue.bytes > 0 && queue.bytes + len > self.limit {
                queue.closed = true;
                queue.overflowed = true;
                queue.discard();
                waker = queue.waker.take();
                accepted = false;
            } else {
                queue.bytes += len;
                queue.frames.push_back(frame);
                waker = if queue.frames.len() == 1 { queue.waker.take() } else { None };
                accepted = true;
            }
        }
        if let Some(waker) = waker {
            waker.wake();
        }
        accepted
    }

    /// Asks the driver to close the connection (first request wins).
    pub(crate) fn request_close(&self, request: CloseRequest) {
        let waker = {
            let mut queue = lock(&self.queue);
            if queue.closed || queue.close.is_some() {
                return;
            }
            queue.close = Some(request);
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
            close: queue.close.take(),
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
        assert!(outbox.push(Bytes::from_static(b"123456")));
        assert!(!outbox.push(Bytes::from_static(b"123456")));
        assert!(outbox.is_closed());
        let mut into = VecDeque::new();
        let drained = outbox.drain(&mut into, futures_util::task::noop_waker_ref());
        assert!(drained.overflowed);
        assert_eq!(drained.bytes, 0);
        assert!(into.is_empty());
        assert!(!outbox.push(Bytes::from_static(b"1")));
    }

    #[test]
    fn a_large_frame_fits_an_empty_queue() {
        let outbox = Outbox::new(10);
        assert!(outbox.push(Bytes::from(vec![0u8; 100])));
        let mut into = VecDeque::new();
        outbox.drain(&mut into, futures_util::task::noop_waker_ref());
        assert!(outbox.push(Bytes::from(vec![0u8; 100])));
    }
}
