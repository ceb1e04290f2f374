//! [`Driver`]: runs one open connection — reads and dispatches messages,
//! runs handlers, writes replies and pushes, and decides how it ends.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::message_io::{MessageIo, ReadEnd, ReadEvent};
use super::transport::Transport;
use crate::connection::direct::WriteBatch;
use crate::connection::write::DirectWriter;
use crate::telemetry::{self, RouteMetrics};
use crate::wire::frame::{OpCode, PeerClose, frame, split_frame};
use futures_util::future::BoxFuture;

use crate::connection::admission::Admission;
use crate::connection::core::ConnectionCore;
use crate::connection::outbox::CloseRequest;
use crate::endpoint::dispatch::{Dispatched, InFlight, Incoming, dispatch_message};
use crate::endpoint::lifetime;
use crate::endpoint::rate_limit::{Bucket, Verdict};
use crate::endpoint::{Endpoint, EndpointKind};
use crate::handles::socket::Socket;
use crate::hooks::lifecycle::{CloseInfo, run_hook};
use crate::protocol::socket_error::SocketError;

/// Loop rounds per poll before yielding to other tasks.
const MAX_ROUNDS: usize = 64;

/// Why the open phase ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The client sent a close frame; `reply` is the code echoed back.
    PeerClosed { code: u16, reason: String, reply: u16 },
    /// The TCP connection is gone; no close frame can be exchanged.
    Gone,
    /// The server closes; `discard` drops queued frames (slow consumer).
    Close { code: u16, reason: Cow<'static, str>, discard: bool },
}

impl End {
    fn close(code: u16, reason: &'static str) -> End {
        End::Close { code, reason: Cow::Borrowed(reason), discard: false }
    }
}

/// The message loop of one open connection: dispatches what arrives, runs
/// handlers, collects their replies, and records how the connection ends.
pub(crate) struct MessageLoop {
    socket: Socket,
    endpoint: Arc<Endpoint>,
    /// Running handlers, in arrival order. All are polled on each wake-up:
    /// there are few, and the first poll happens right after dispatch.
    in_flight: Vec<InFlight>,
    /// Pongs to write.
    control: Vec<Bytes>,
    /// This connection's own replies, written without a trip through the
    /// outbox (which other connections and tasks push to).
    replies: Vec<Bytes>,
    end: Option<End>,
    /// Graceful shutdown: read nothing more, let handlers finish, then close
    /// with this code.
    draining: Option<u16>,
    /// The connection's rate limit, if its endpoint has one (boxed: most have none).
    rate_limit: Option<Box<Bucket>>,
    /// The time of this read (the messages of one read share one clock read).
    read_at: Option<std::time::Instant>,
    /// A re-authentication running: nothing is dispatched until it is done
    /// (boxed: an idle connection's size matters, and this is rare).
    barrier: Option<Box<Barrier>>,
    /// The buffers of the connection's first exchange were given back (see
    /// [`Driver::poll_open`]); later ones are kept.
    first_released: bool,
}

/// A running re-authentication, and what arrived behind it.
struct Barrier {
    running: BoxFuture<'static, Result<Bytes, String>>,
    /// In order, to dispatch once it succeeded.
    held: VecDeque<Held>,
}

/// A message that arrived while a re-authentication ran.
enum Held {
    Text(String),
    Binary(Vec<u8>),
}

impl MessageLoop {
    /// With nothing running and nothing to send, gives back the buffers of
    /// the last burst (called for connections silent for half the idle
    /// timeout, and after a connection's first exchange; busy ones keep
    /// their buffers, allocating them costs time). Returns whether there
    /// were buffers to give back.
    fn release_if_quiet(&mut self) -> bool {
        let quiet = self.in_flight.is_empty() && self.replies.is_empty() && self.control.is_empty();
        let held = self.in_flight.capacity() + self.replies.capacity() + self.control.capacity() > 0;
        if quiet && held {
            self.in_flight = Vec::new();
            self.replies = Vec::new();
            self.control = Vec::new();
        }
        quiet && held
    }

    fn reply_now(&mut self, frame: Bytes) {
        self.replies.push(frame);
    }

    /// This connection's replies, in its codec, compressed if it negotiated compression.
    fn take_replies(&mut self) -> impl Iterator<Item = Bytes> + '_ {
        if let Some(telemetry) = telemetry::get()
            && !self.replies.is_empty()
        {
            let bytes = self.replies.iter().map(|frame| split_frame(frame).2.len()).sum();
            telemetry.replied(self.replies.len(), bytes);
        }
        let encoding = self.socket.core().encoding();
        self.replies.drain(..).map(move |frame| encoding.encode(frame))
    }

    fn on_dispatched(&mut self, dispatched: Dispatched) {
        match dispatched {
            Dispatched::Done(Some(frame)) => self.reply_now(frame),
            Dispatched::Done(None) => {}
            Dispatched::Started(mut work) => {
                work.start_timing(|| *self.read_at.get_or_insert_with(std::time::Instant::now));
                self.in_flight.push(work);
            }
            Dispatched::Reauthenticate(reauth) => {
                let running = reauth.run(self.endpoint.clone(), self.socket.clone());
                self.barrier = Some(Box::new(Barrier { running, held: VecDeque::new() }));
            }
        }
    }

    /// Dispatches `message`, or holds it while a re-authentication runs.
    #[inline]
    fn on_message(&mut self, message: Incoming<'_>) {
        if !self.within_limit(message) {
            return;
        }
        if let Some(barrier) = &mut self.barrier {
            barrier.held.push_back(match message {
                Incoming::Text(text) => Held::Text(text.to_owned()),
                Incoming::Binary(bytes) => Held::Binary(bytes.to_vec()),
            });
            return;
        }
        self.on_dispatched(dispatch_message(&self.endpoint, &self.socket, message));
    }

    /// Polls the running re-authentication; once it succeeded, acknowledges
    /// it and dispatches what was held behind it (up to the next one); if it
    /// failed, the connection ends with 1008 and nothing held is dispatched.
    /// Returns whether it finished.
    fn poll_reauthentication(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(barrier) = &mut self.barrier else { return false };
        let Poll::Ready(verdict) = barrier.running.as_mut().poll(cx) else { return false };
        let mut held = std::mem::take(&mut barrier.held);
        self.barrier = None;
        match verdict {
            Ok(ack) => {
                self.reply_now(ack);
                while let Some(message) = held.pop_front() {
                    if let Some(barrier) = &mut self.barrier {
                        // Another re-authentication: the rest waits behind it.
                        barrier.held.push_back(message);
                        continue;
                    }
                    let held = message;
                    let dispatched = match &held {
                        Held::Text(text) => {
                            dispatch_message(&self.endpoint, &self.socket, Incoming::Text(text))
                        }
                        Held::Binary(bytes) => {
                            dispatch_message(&self.endpoint, &self.socket, Incoming::Binary(bytes))
                        }
                    };
                    self.on_dispatched(dispatched);
                }
            }
            Err(reason) => {
                self.end = Some(End::Close { code: 1008, reason: Cow::Owned(reason), discard: false });
            }
        }
        true
    }

    fn on_event(&mut self, event: ReadEvent<'_>) {
        if self.end.is_some() {
            return;
        }
        match event {
            ReadEvent::Text(text) => self.on_message(Incoming::Text(text)),
            ReadEvent::Binary(bytes) => self.on_message(Incoming::Binary(bytes)),
            ReadEvent::Ping(payload) => self.control.push(frame(OpCode::Pong, payload)),
            ReadEvent::Pong => {}
            ReadEvent::Close(Ok(PeerClose::Status(code, reason))) => {
                self.end = Some(End::PeerClosed { code, reason, reply: code });
            }
            ReadEvent::Close(Ok(PeerClose::NoStatus)) => {
                self.end = Some(End::PeerClosed { code: 1005, reason: String::new(), reply: 1000 });
            }
            ReadEvent::Close(Err(crate::wire::frame::ClosePayloadError::Protocol)) => {
                self.end = Some(End::close(1002, "invalid close frame"));
            }
            ReadEvent::Close(Err(crate::wire::frame::ClosePayloadError::InvalidUtf8)) => {
                self.end = Some(End::close(1007, "close reason is not valid UTF-8"));
            }
            ReadEvent::TooBig => self.end = Some(End::close(1009, "message too big")),
            ReadEvent::InvalidUtf8 => self.end = Some(End::close(1007, "text frame is not valid UTF-8")),
            ReadEvent::BadCompression => {
                self.end = Some(End::close(1007, "compressed message is not a valid deflate stream"));
            }
        }
    }

    /// Whether `message` is within the connection's rate limit (always, with
    /// none); past it, answers `rate_limited`, or ends the connection with
    /// 1008 when the client went on past its burst of refusals.
    fn within_limit(&mut self, message: Incoming<'_>) -> bool {
        let Some(bucket) = &mut self.rate_limit else { return true };
        let len = match message {
            Incoming::Text(text) => text.len(),
            Incoming::Binary(bytes) => bytes.len(),
        };
        let now = *self.read_at.get_or_insert_with(std::time::Instant::now);
        match bucket.take(len, now) {
            Verdict::Allow => true,
            Verdict::Refuse => {
                // A raw endpoint has no error envelopes: the message is dropped.
                if self.endpoint.kind == EndpointKind::Envelopes {
                    self.reply_now(rate_limited_reply(message));
                }
                false
            }
            Verdict::Close => {
                self.end = Some(End::close(1008, "too many requests"));
                false
            }
        }
    }

    /// Polls every running handler; returns whether one finished.
    fn poll_in_flight(&mut self, cx: &mut Context<'_>) -> bool {
        if self.in_flight.is_empty() {
            return false;
        }
        let mut finished = false;
        let replies = &mut self.replies;
        // Read once for every handler that finished in this poll.
        let mut now = None;
        self.in_flight.retain_mut(|work| match Pin::new(&mut *work).poll(cx) {
            Poll::Ready(frame) => {
                replies.extend(frame);
                finished = true;
                if let Some((metrics, started)) = work.timing() {
                    record_duration(metrics, started, &mut now);
                }
                false
            }
            Poll::Pending => true,
        });
        finished
    }

    /// Lets handlers still running when the connection ended finish (their replies are dropped).
    pub(crate) async fn finish_in_flight(mut self) {
        if self.in_flight.is_empty() {
            return;
        }
        poll_fn(|cx| {
            self.poll_in_flight(cx);
            if self.in_flight.is_empty() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
    }
}

/// Allows direct writes to the connection (`connection::direct`) while it lives.
/// Dropping it takes the socket's sending side back from the outbox, so that
/// nothing writes to the socket once the driver is gone.
struct DirectWrites(Arc<ConnectionCore>);

impl DirectWrites {
    /// Only on a current-thread runtime (every ori worker is one): there a
    /// driver never runs on another thread than the one writing directly. A
    /// multi-thread runtime (`Ori::workers(0)` inside one) could poll the
    /// driver elsewhere at the same time, so its connections are always
    /// written by their drivers.
    fn allow(core: &Arc<ConnectionCore>, writer: Option<DirectWriter>) -> DirectWrites {
        let single_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
        core.outbox.set_direct(writer.filter(|_| single_threaded));
        DirectWrites(core.clone())
    }
}

impl Drop for DirectWrites {
    fn drop(&mut self) {
        self.0.outbox.set_direct(None);
    }
}

/// One open connection: its socket on one side, its handlers on the other.
pub(crate) struct Driver<IO> {
    direct: DirectWrites,
    io: MessageIo<IO>,
    messages: MessageLoop,
    /// The connection's slot, released when the driver is gone.
    _admission: Admission,
}

impl<IO: Transport> Driver<IO> {
    pub(crate) fn new(
        mut io: MessageIo<IO>,
        socket: Socket,
        endpoint: Arc<Endpoint>,
        admission: Admission,
    ) -> Driver<IO> {
        Driver {
            direct: DirectWrites::allow(socket.core(), io.direct_writer()),
            _admission: admission,
            io,
            messages: MessageLoop {
                rate_limit: endpoint.config.rate_limit.map(|limit| Box::new(Bucket::new(limit))),
                read_at: None,
                socket,
                endpoint,
                in_flight: Vec::new(),
                control: Vec::new(),
                replies: Vec::new(),
                end: None,
                draining: None,
                barrier: None,
                first_released: false,
            },
        }
    }

    /// After [`poll_open`](Self::poll_open) ended the connection: leaves every
    /// topic, runs the closing handshake, lets running handlers finish (their
    /// replies are dropped), then runs `on_close`. Boxed: it runs once.
    pub(crate) fn finish(self, end: End) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let Driver { direct, mut io, mut messages, _admission } = self;
            drop(direct);
            // The connection receives nothing more from pub/sub or direct
            // sends, even while the closing handshake takes its time.
            lifetime::detach(&messages.socket);
            let core = messages.socket.core().clone();
            let outbox = &core.outbox;
            let timeout = messages.endpoint.config.close_timeout;
            let info = match end {
                End::Gone => {
                    outbox.close();
                    CloseInfo { code: 1006, reason: String::new() }
                }
                End::PeerClosed { code, reason, reply } => {
                    outbox.close();
                    io.queue(messages.control.drain(..));
                    io.queue_replies(messages.take_replies());
                    io.close(reply, "", true, timeout).await;
                    CloseInfo { code, reason }
                }
                End::Close { code, reason, discard } => {
                    if discard {
                        io.discard_queued();
                    } else {
                        io.queue_from(outbox, futures_util::task::noop_waker_ref());
                        io.queue_replies(messages.take_replies());
                    }
                    outbox.close();
                    tracing::debug!(code, %reason, "closing connection");
                    io.close(code, &reason, false, timeout).await;
                    CloseInfo { code, reason: reason.into_owned() }
                }
            };
            if let Some(telemetry) = telemetry::get() {
                telemetry.closed(info.code, true);
            }
            let span = tracing::Span::current();
            span.record("close_code", info.code);
            span.record("close_reason", info.reason.as_str());
            tracing::debug!(code = info.code, reason = %info.reason, "connection closed");
            let (socket, endpoint) = (messages.socket.clone(), messages.endpoint.clone());
            messages.finish_in_flight().await;
            if let Some(close) = &endpoint.hooks.lifecycle.close {
                run_hook("on_close", || (close.call)(socket, info)).await;
            }
        })
    }

    /// Serves the open connection until it ends, and says how. Frames that
    /// this poll pushed to connections of this thread are written when it
    /// returns (`connection::direct`).
    ///
    /// The buffers of the connection's first exchange (its first replies and
    /// their writing) are given back once it is written: most connections
    /// say little after connecting (subscribe, then listen), and an idle
    /// connection's size is what many of them cost. A connection that talks
    /// again keeps its buffers from then on (allocating them costs time).
    pub(crate) fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let batch = WriteBatch::begin();
        let result = self.serve(cx);
        if result.is_pending() {
            let written = self.io.is_idle();
            self.direct.0.set_writer_busy(!written);
            if written && !self.messages.first_released && self.messages.release_if_quiet() {
                self.messages.first_released = true;
                self.io.release_if_idle();
            }
        } else {
            self.direct.0.outbox.set_direct(None);
        }
        drop(batch);
        result
    }

    fn serve(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let max_in_flight = self.messages.endpoint.config.max_in_flight;
        let max_unwritten = self.messages.endpoint.config.outbound_queue_bytes;
        for _ in 0..MAX_ROUNDS {
            let mut progress = self.messages.poll_in_flight(cx) | self.messages.poll_reauthentication(cx);
            // Pongs go out first: the peer may be measuring latency with them.
            self.io.queue(self.messages.control.drain(..));
            // The outbox is drained when the writer is idle (so that its bound
            // holds), and before this connection's own replies (so that what a
            // handler sent goes out before its reply).
            let drain = self.io.is_idle() || !self.messages.replies.is_empty();
            if drain {
                let outbox = &self.messages.socket.core().outbox;
                let drained = self.io.queue_from(outbox, cx.waker());
                if drained.overflowed {
                    let reason = Cow::Borrowed("outbound queue overflow (slow consumer)");
                    return Poll::Ready(End::Close { code: 1013, reason, discard: true });
                }
                if drained.ping {
                    // Silent for half the idle timeout: give back the buffers of its last burst.
                    self.messages.release_if_quiet();
                    self.io.release_if_idle();
                    self.io.queue([frame(OpCode::Ping, b"")]);
                }
                match drained.close {
                    None => {}
                    Some(CloseRequest::Shutdown { code }) => self.messages.draining = Some(code),
                    Some(CloseRequest::ShutdownNow { code }) => {
                        return Poll::Ready(End::close(code, drain_reason(code)));
                    }
                    Some(CloseRequest::Idle) => {
                        return Poll::Ready(End::close(1000, "idle timeout"));
                    }
                    Some(CloseRequest::App { code, reason }) => {
                        return Poll::Ready(End::Close { code, reason: Cow::Owned(reason), discard: false });
                    }
                }
            }
            self.io.queue_replies(self.messages.take_replies());
            let had_frames = !self.io.is_idle();
            match self.io.poll_write(cx) {
                Poll::Ready(Err(_)) => return Poll::Ready(End::Gone),
                // Everything written. If the outbox was not drained this round
                // (the writer was busy), loop to drain it: that also registers
                // for the next push, and nothing else would wake us for it.
                // (A drain registered us; what was pushed since wakes us.)
                Poll::Ready(Ok(())) => progress |= had_frames && !drain,
                Poll::Pending => {}
            }
            if let Some(end) = self.messages.end.take() {
                return Poll::Ready(end);
            }
            if let Some(code) = self.messages.draining {
                if self.messages.in_flight.is_empty() && self.io.is_idle() {
                    return Poll::Ready(End::close(code, drain_reason(code)));
                }
            } else if self.messages.in_flight.len() < max_in_flight
                && self.io.unwritten() < max_unwritten
                && self.messages.barrier.is_none()
            {
                // (A client that sends faster than it reads is slowed down by TCP.)
                let messages = &mut self.messages;
                messages.read_at = None;
                match self.io.poll_read(cx, |event| messages.on_event(event)) {
                    Poll::Ready(Ok(())) => {
                        self.messages.socket.core().mark_seen();
                        progress = true;
                    }
                    Poll::Ready(Err(ReadEnd::Gone)) => return Poll::Ready(End::Gone),
                    Poll::Ready(Err(ReadEnd::Protocol(reason))) => {
                        // Not read again. One more round first: replies to the
                        // messages before the bad frame go out ahead of the close.
                        self.messages.end = Some(End::close(1002, reason));
                        progress = true;
                    }
                    Poll::Pending => {}
                }
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Records how long a route's handler took, reading the clock once for
/// every handler that finished in one poll (`now`). Out of line: only with
/// metrics on.
#[cold]
fn record_duration(
    metrics: &RouteMetrics,
    started: std::time::Instant,
    now: &mut Option<std::time::Instant>,
) {
    let now = *now.get_or_insert_with(std::time::Instant::now);
    metrics.durations.record(now.saturating_duration_since(started));
}

/// The close reason of a drain with `code`.
fn drain_reason(code: u16) -> &'static str {
    if code == 1012 { "server restarting" } else { "server shutting down" }
}

/// The `rate_limited` error reply to `message`: with its `type` and
/// `correlationId` when it is an envelope that says them (a raw message gets
/// `"type":"error"`).
fn rate_limited_reply(message: Incoming<'_>) -> Bytes {
    let text = match message {
        Incoming::Text(text) => Cow::Borrowed(text),
        Incoming::Binary(bytes) => match crate::protocol::codec::msgpack_to_json(bytes) {
            Ok(json) => Cow::Owned(json),
            Err(_) => Cow::Borrowed(""),
        },
    };
    let (message_type, correlation_id) = match crate::protocol::envelope::parse(&text) {
        Ok(envelope) => (envelope.message_type.into_owned(), envelope.correlation_id),
        Err(bad) => {
            (bad.message_type.map_or_else(|| "error".to_owned(), |t| t.into_owned()), bad.correlation_id)
        }
    };
    crate::protocol::encode::error(&message_type, &SocketError::rate_limited(), correlation_id.as_ref())
}
