//! [`Driver`]: runs one open connection — reads and dispatches messages,
//! runs handlers, writes replies and pushes, and decides how it ends.

use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::Span;

use super::frame::{OpCode, PeerClose, frame};
use super::frame_io::{FrameIo, ReadEnd, ReadEvent};
use crate::lifecycle::{CloseInfo, Message};
use crate::protocol::encode;
use crate::protocol::envelope::{self, CorrelationId, Envelope, decode_data};
use crate::protocol::{is_reserved_topic, is_reserved_type, validate_topic};
use crate::pubsub::outbox::CloseRequest;
use crate::routing::{HandlerFuture, Reply};
use crate::runtime::Runtime;
use crate::{PubSubError, Socket, SocketError};

/// Loop rounds per poll before yielding to other tasks.
const MAX_ROUNDS: usize = 64;

/// Why the open phase ended.
#[derive(Debug)]
enum End {
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

/// Where a handler's reply goes.
#[derive(Debug)]
struct ReplyTo {
    message_type: Cow<'static, str>,
    correlation_id: Option<CorrelationId>,
}

/// A running handler.
struct InFlight {
    work: HandlerFuture,
    reply_to: Option<ReplyTo>,
    span: Span,
}

impl Future for InFlight {
    type Output = (ReplyTo, Reply);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let reply = match catch_unwind(AssertUnwindSafe(|| this.work.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(reply)) => reply,
            Err(panic) => {
                tracing::error!(panic = panic_message(&*panic), "socket handler panicked");
                Reply::Error(SocketError::internal())
            }
        };
        Poll::Ready((this.reply_to.take().expect("polled after completion"), reply))
    }
}

/// The text of a panic payload, for the log.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

/// Message handling state of one connection.
pub(crate) struct Session {
    socket: Socket,
    runtime: Arc<Runtime>,
    /// Running handlers, in arrival order. All are polled on each wake-up:
    /// there are few, and the first poll happens right after dispatch.
    in_flight: Vec<InFlight>,
    /// Pongs to write.
    control: Vec<Bytes>,
    end: Option<End>,
    /// Graceful shutdown: read nothing more, let handlers finish.
    draining: bool,
}

#[derive(Deserialize)]
struct TopicData {
    topic: String,
}

impl Session {
    fn reply_now(&self, frame: Bytes) {
        self.socket.core().outbox.push(frame);
    }

    fn error_now(&self, message_type: &str, error: &SocketError, correlation_id: Option<&CorrelationId>) {
        self.reply_now(encode::error(message_type, error, correlation_id));
    }

    fn on_event(&mut self, event: ReadEvent<'_>) {
        if self.end.is_some() {
            return;
        }
        match event {
            ReadEvent::Text(text) => self.dispatch(text),
            ReadEvent::Binary => self.error_now(
                "error",
                &SocketError::unsupported("binary frames are not supported; send JSON in text frames"),
                None,
            ),
            ReadEvent::Ping(payload) => self.control.push(frame(OpCode::Pong, payload)),
            ReadEvent::Pong => {}
            ReadEvent::Close(Ok(PeerClose::Status(code, reason))) => {
                self.end = Some(End::PeerClosed { code, reason, reply: code });
            }
            ReadEvent::Close(Ok(PeerClose::NoStatus)) => {
                self.end = Some(End::PeerClosed { code: 1005, reason: String::new(), reply: 1000 });
            }
            ReadEvent::Close(Err(super::frame::ClosePayloadError::Protocol)) => {
                self.end = Some(End::close(1002, "invalid close frame"));
            }
            ReadEvent::Close(Err(super::frame::ClosePayloadError::InvalidUtf8)) => {
                self.end = Some(End::close(1007, "close reason is not valid UTF-8"));
            }
            ReadEvent::TooBig => self.end = Some(End::close(1009, "message too big")),
            ReadEvent::InvalidUtf8 => self.end = Some(End::close(1007, "text frame is not valid UTF-8")),
        }
    }

    fn dispatch(&mut self, text: &str) {
        let Envelope { message_type, data, correlation_id } = match envelope::parse(text) {
            Ok(envelope) => envelope,
            Err(bad) => {
                let message_type = bad.message_type.as_deref().unwrap_or("error");
                return self.error_now(message_type, &bad.error, bad.correlation_id.as_ref());
            }
        };
        match &*message_type {
            "ping" => self.reply_now(encode::reply("pong", None, correlation_id.as_ref())),
            "subscribe" => self.subscribe(data, correlation_id),
            "unsubscribe" => self.unsubscribe(data, correlation_id),
            ty if is_reserved_type(ty) => {
                self.error_now(ty, &SocketError::unknown_type(ty), correlation_id.as_ref());
            }
            ty => {
                if let Some(route) = self.runtime.routes.get(ty) {
                    let span = tracing::debug_span!("message", r#type = route.message_type);
                    let started = span.in_scope(|| {
                        catch_unwind(AssertUnwindSafe(|| {
                            route.handler.call(self.socket.clone(), route.message_type, data)
                        }))
                    });
                    let reply_to =
                        ReplyTo { message_type: Cow::Borrowed(route.message_type), correlation_id };
                    self.start(started, reply_to, span);
                } else if let Some(hook) = &self.runtime.lifecycle.message {
                    let span = tracing::debug_span!("message", r#type = ty);
                    let cid = correlation_id.as_ref().map(CorrelationId::value);
                    let message = Message::new(ty, data, cid);
                    let started = span.in_scope(|| {
                        catch_unwind(AssertUnwindSafe(|| (hook.call)(self.socket.clone(), message)))
                    });
                    let reply_to = ReplyTo { message_type: Cow::Owned(ty.to_owned()), correlation_id };
                    self.start(started, reply_to, span);
                } else {
                    self.error_now(ty, &SocketError::unknown_type(ty), correlation_id.as_ref());
                }
            }
        }
    }

    /// Queues started work (or replies at once if starting failed).
    fn start(
        &mut self,
        started: std::thread::Result<Result<HandlerFuture, SocketError>>,
        reply_to: ReplyTo,
        span: Span,
    ) {
        match started {
            Ok(Ok(work)) => self.in_flight.push(InFlight { work, reply_to: Some(reply_to), span }),
            Ok(Err(error)) => self.finish(reply_to, Reply::Error(error)),
            Err(panic) => {
                tracing::error!(parent: &span, panic = panic_message(&*panic), "socket handler panicked");
                self.finish(reply_to, Reply::Error(SocketError::internal()));
            }
        }
    }

    fn subscribe(&mut self, data: &RawValue, correlation_id: Option<CorrelationId>) {
        let Some(topic) = self.control_topic("subscribe", data, correlation_id.as_ref()) else { return };
        let socket = self.socket.clone();
        let authorizer = self.runtime.authorizer.clone();
        let work = async move {
            if let Some(authorizer) = authorizer
                && !authorizer.authorize(socket.clone(), topic.clone()).await
            {
                return Reply::Error(PubSubError::Forbidden(topic).into());
            }
            match socket.subscribe(&topic).await {
                Ok(()) => Reply::Json(topic_ack(&topic)),
                Err(e) => Reply::Error(e.into()),
            }
        };
        let reply_to = ReplyTo { message_type: Cow::Borrowed("subscribe"), correlation_id };
        self.start(Ok(Ok(work.boxed())), reply_to, Span::none());
    }

    fn unsubscribe(&mut self, data: &RawValue, correlation_id: Option<CorrelationId>) {
        if let Some(topic) = self.control_topic("unsubscribe", data, correlation_id.as_ref()) {
            self.socket.unsubscribe(&topic);
            let reply_to = ReplyTo { message_type: Cow::Borrowed("unsubscribe"), correlation_id };
            self.finish(reply_to, Reply::Json(topic_ack(&topic)));
        }
    }

    /// The topic of a `subscribe`/`unsubscribe`; answers the error itself when invalid.
    fn control_topic(
        &self,
        message_type: &'static str,
        data: &RawValue,
        correlation_id: Option<&CorrelationId>,
    ) -> Option<String> {
        let checked = decode_data::<TopicData>(message_type, data).and_then(|TopicData { topic }| {
            validate_topic(&topic).map_err(|reason| {
                SocketError::from(PubSubError::InvalidTopic { topic: topic.clone(), reason })
            })?;
            if is_reserved_topic(&topic) {
                return Err(PubSubError::ReservedTopic(topic).into());
            }
            Ok(topic)
        });
        match checked {
            Ok(topic) => Some(topic),
            Err(error) => {
                self.error_now(message_type, &error, correlation_id);
                None
            }
        }
    }

    fn finish(&self, reply_to: ReplyTo, reply: Reply) {
        finish_on(&self.socket, reply_to, reply);
    }

    /// Polls every running handler; returns whether one finished.
    fn poll_in_flight(&mut self, cx: &mut Context<'_>) -> bool {
        if self.in_flight.is_empty() {
            return false;
        }
        let mut finished = false;
        let socket = &self.socket;
        self.in_flight.retain_mut(|work| match Pin::new(work).poll(cx) {
            Poll::Ready((reply_to, reply)) => {
                finish_on(socket, reply_to, reply);
                finished = true;
                false
            }
            Poll::Pending => true,
        });
        finished
    }

    /// Lets handlers still running when the connection ended finish (their replies are dropped).
    pub(crate) async fn finish_in_flight(mut self) {
        poll_fn(|cx| {
            self.poll_in_flight(cx);
            if self.in_flight.is_empty() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await;
    }
}

/// Frames a handler's reply and queues it on the connection.
fn finish_on(socket: &Socket, reply_to: ReplyTo, reply: Reply) {
    let ReplyTo { message_type, correlation_id } = reply_to;
    let cid = correlation_id.as_ref();
    let frame = match reply {
        Reply::Unit if cid.is_none() => return,
        Reply::Unit => encode::reply(&message_type, None, cid),
        Reply::Json(data) => encode::reply(&message_type, Some(&data), cid),
        Reply::Error(error) => encode::error(&message_type, &error, cid),
    };
    socket.core().outbox.push(frame);
}

fn topic_ack(topic: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "topic": topic })).expect("a string always serializes")
}

/// One open connection: frames on one side, handlers on the other.
pub(crate) struct Driver<IO> {
    frames: FrameIo<IO>,
    session: Session,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Driver<IO> {
    pub(crate) fn new(frames: FrameIo<IO>, socket: Socket, runtime: Arc<Runtime>) -> Driver<IO> {
        Driver {
            frames,
            session: Session {
                socket,
                runtime,
                in_flight: Vec::new(),
                control: Vec::new(),
                end: None,
                draining: false,
            },
        }
    }

    /// Serves the connection until it ends, runs the closing handshake, and
    /// returns how it ended with the handlers still running.
    pub(crate) async fn run(mut self) -> (CloseInfo, Session) {
        let end = poll_fn(|cx| self.poll_open(cx)).await;
        let Driver { mut frames, mut session } = self;
        // The connection is ending: it receives nothing more from pub/sub or
        // direct sends, even while the closing handshake takes its time.
        let core = session.socket.core();
        core.leave_all();
        core.app.hub().deregister(&core.id);
        let outbox = &core.outbox;
        let timeout = session.runtime.config.close_timeout;
        let info = match end {
            End::Gone => {
                outbox.close();
                CloseInfo { code: 1006, reason: String::new() }
            }
            End::PeerClosed { code, reason, reply } => {
                outbox.close();
                frames.writing.extend(session.control.drain(..));
                frames.close(reply, "", true, timeout).await;
                CloseInfo { code, reason }
            }
            End::Close { code, reason, discard } => {
                if discard {
                    frames.discard_queued();
                } else {
                    outbox.drain(&mut frames.writing, futures_util::task::noop_waker_ref());
                }
                outbox.close();
                tracing::debug!(code, %reason, "closing connection");
                frames.close(code, &reason, false, timeout).await;
                CloseInfo { code, reason: reason.into_owned() }
            }
        };
        (info, session)
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let max_in_flight = self.session.runtime.config.max_in_flight;
        for _ in 0..MAX_ROUNDS {
            let mut progress = self.session.poll_in_flight(cx);
            // Pongs go out first: the peer may be measuring latency with them.
            let idle_writer = self.frames.writing.is_empty();
            self.frames.writing.extend(self.session.control.drain(..));
            if idle_writer {
                let outbox = &self.session.socket.core().outbox;
                let drained = outbox.drain(&mut self.frames.writing, cx.waker());
                if drained.overflowed {
                    let reason = Cow::Borrowed("outbound queue overflow (slow consumer)");
                    return Poll::Ready(End::Close { code: 1013, reason, discard: true });
                }
                if drained.ping {
                    self.frames.writing.push_back(frame(OpCode::Ping, b""));
                }
                match drained.close {
                    None => {}
                    Some(CloseRequest::Shutdown) => self.session.draining = true,
                    Some(CloseRequest::Idle) => {
                        return Poll::Ready(End::close(1000, "idle timeout"));
                    }
                    Some(CloseRequest::App { code, reason }) => {
                        return Poll::Ready(End::Close { code, reason: Cow::Owned(reason), discard: false });
                    }
                }
            }
            let had_frames = !self.frames.writing.is_empty();
            match self.frames.poll_write(cx) {
                Poll::Ready(Err(_)) => return Poll::Ready(End::Gone),
                // Everything written: loop to drain the outbox again, which also
                // registers for the next push (nothing else would wake us for it).
                Poll::Ready(Ok(())) => progress |= had_frames,
                Poll::Pending => {}
            }
            if let Some(end) = self.session.end.take() {
                return Poll::Ready(end);
            }
            if self.session.draining {
                if self.session.in_flight.is_empty() && self.frames.writing.is_empty() {
                    return Poll::Ready(End::close(1001, "server shutting down"));
                }
            } else if self.session.in_flight.len() < max_in_flight {
                let session = &mut self.session;
                match self.frames.poll_read(cx, |event| session.on_event(event)) {
                    Poll::Ready(Ok(())) => {
                        self.session.socket.core().mark_seen();
                        progress = true;
                    }
                    Poll::Ready(Err(ReadEnd::Gone)) => return Poll::Ready(End::Gone),
                    Poll::Ready(Err(ReadEnd::Protocol(reason))) => {
                        return Poll::Ready(End::close(1002, reason));
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
