//! What the server does with one message, independent of the transport.
//! [`dispatch_message`] decides what a text or binary message is on its
//! endpoint and connection: an envelope ([`dispatch`]: parse it once, answer
//! control messages, route by `type` to a handler or the `on_message` hook,
//! frame the reply), or a message for the raw handler ([`dispatch_raw`]).
//!
//! The WebSocket driver and the test [`Harness`](crate::testing::Harness)
//! both call it, so tests exercise exactly what connections run.

use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tracing::Span;

use crate::endpoint::reauth::{self, REAUTHENTICATE, Reauthentication};
use crate::endpoint::{Endpoint, EndpointKind, control};
use crate::handles::socket::Socket;
use crate::hooks::lifecycle::{RawFuture, UnroutedMessage};
use crate::protocol::codec::{Codec, msgpack_to_json};
use crate::protocol::encode;
use crate::protocol::envelope::{self, CorrelationId, Envelope};
use crate::protocol::names::is_reserved_type;
use crate::protocol::raw::RawMessage;
use crate::protocol::reply::{Reply, ReplyTo, raw_frame};
use crate::protocol::socket_error::SocketError;
use crate::routing::handler::{HandlerFuture, Started};
use crate::telemetry::{self, RouteMetrics};
use crate::util::panic::panic_message;

/// What dispatching one message produced.
pub(crate) enum Dispatched {
    /// Answered at once: the frame to send, if any.
    Done(Option<Bytes>),
    /// A handler is running; its reply frame comes when it finishes.
    Started(InFlight),
    /// A re-authentication: the transport runs it before dispatching
    /// anything the client sent after it.
    Reauthenticate(Box<Reauthentication>),
}

/// A running handler; resolves to its reply frame. A panic becomes `internal`
/// (for a raw handler: no reply).
pub(crate) struct InFlight {
    work: Work,
    /// Its span, when one is enabled (boxed: rarely there, and a running
    /// handler is moved a few times on its way to the driver, which copies
    /// small values faster).
    span: Option<Box<Span>>,
    /// A route's figures, when metrics are on: the transport times it
    /// ([`timing`](Self::timing)).
    metrics: Option<&'static RouteMetrics>,
    started: Option<std::time::Instant>,
}

impl InFlight {
    /// With metrics on, a route's handler is timed from `at` (when its
    /// message was read: the messages of one read share one clock read).
    pub(crate) fn start_timing(&mut self, at: impl FnOnce() -> std::time::Instant) {
        if self.metrics.is_some() {
            self.started = Some(at());
        }
    }

    /// The route's figures and when its handler started, if it is timed.
    pub(crate) fn timing(&self) -> Option<(&'static RouteMetrics, std::time::Instant)> {
        self.metrics.zip(self.started)
    }
}

enum Work {
    /// A route or `on_message`: its reply is framed as an envelope.
    Routed { work: HandlerFuture, reply_to: Option<ReplyTo> },
    /// The raw handler: its reply goes out as is.
    Raw(RawFuture),
    /// A control message that frames its reply itself, or queues it on the
    /// connection (then `None`); a panic in it (the topic authorizer is the
    /// app's) answers `internal` to `reply_to`.
    Control { work: BoxFuture<'static, Option<Bytes>>, reply_to: Option<ReplyTo> },
}

impl Future for InFlight {
    type Output = Option<Bytes>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.span.as_deref().map(Span::enter);
        match &mut this.work {
            Work::Routed { work, reply_to } => {
                let reply = match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(reply)) => reply,
                    Err(panic) => {
                        tracing::error!(panic = panic_message(&*panic), "socket handler panicked");
                        Reply::Error(SocketError::internal())
                    }
                };
                if let Some(span) = &this.span {
                    span.record("outcome", outcome(&reply));
                }
                Poll::Ready(reply_to.take().expect("polled after completion").frame(reply))
            }
            Work::Control { work, reply_to } => {
                match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(frame)) => Poll::Ready(frame),
                    Err(panic) => {
                        tracing::error!(panic = panic_message(&*panic), "control message panicked");
                        let reply_to = reply_to.take().expect("polled after completion");
                        Poll::Ready(reply_to.frame(Reply::Error(SocketError::internal())))
                    }
                }
            }
            Work::Raw(work) => match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(reply)) => Poll::Ready(reply.map(|m| raw_frame(&m))),
                Err(panic) => {
                    tracing::error!(panic = panic_message(&*panic), "raw message handler panicked");
                    Poll::Ready(None)
                }
            },
        }
    }
}

/// The span of one routed message: its type and correlation id, and its
/// outcome once it is known (`ok`, or the error's code). Debug level.
fn message_span(message_type: &str, correlation_id: Option<&CorrelationId>) -> Span {
    tracing::debug_span!(
        "message",
        r#type = message_type,
        correlation_id = correlation_id.map(CorrelationId::as_str),
        outcome = tracing::field::Empty,
    )
}

/// `span`, if a subscriber is interested in it.
#[inline]
fn kept(span: Span) -> Option<Box<Span>> {
    (!span.is_disabled()).then(|| Box::new(span))
}

/// What a reply says of its message, for its span.
fn outcome(reply: &Reply) -> &str {
    match reply {
        Reply::Error(error) => error.code(),
        _ => "ok",
    }
}

/// The error reply to a message of `message_type`, at once.
pub(crate) fn error_frame(
    message_type: &str,
    error: &SocketError,
    correlation_id: Option<&CorrelationId>,
) -> Dispatched {
    Dispatched::Done(Some(encode::error(message_type, error, correlation_id)))
}

/// One complete message as it came off the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Incoming<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

/// Handles one message from `socket`: on an envelope endpoint, text is a JSON
/// envelope and binary is a MessagePack envelope on a connection that chose
/// `ori.v1.msgpack` (otherwise the raw handler's, or `unsupported`); on a raw
/// endpoint, everything is the raw handler's.
pub(crate) fn dispatch_message(endpoint: &Endpoint, socket: &Socket, message: Incoming<'_>) -> Dispatched {
    match (endpoint.kind, message) {
        (EndpointKind::Envelopes, Incoming::Text(text)) => dispatch(endpoint, socket, text),
        (EndpointKind::Raw, Incoming::Text(text)) => {
            dispatch_raw(endpoint, socket, RawMessage::Text(text.to_owned()))
        }
        (_, Incoming::Binary(bytes)) if socket.core().codec() == Codec::MessagePack => {
            match msgpack_to_json(bytes) {
                Ok(json) => dispatch(endpoint, socket, &json),
                Err(reason) => error_frame("error", &SocketError::bad_request(reason), None),
            }
        }
        (_, Incoming::Binary(bytes)) => {
            dispatch_raw(endpoint, socket, RawMessage::Binary(Bytes::copy_from_slice(bytes)))
        }
    }
}

/// Handles one JSON envelope (a text message) from `socket`.
pub(crate) fn dispatch(endpoint: &Endpoint, socket: &Socket, text: &str) -> Dispatched {
    let Envelope { message_type, data, correlation_id } = match envelope::parse(text) {
        Ok(envelope) => envelope,
        // Not a JSON object with a valid `type`: not an envelope at all.
        Err(bad) if bad.message_type.is_none() && endpoint.hooks.lifecycle.raw.is_some() => {
            return dispatch_raw(endpoint, socket, RawMessage::Text(text.to_owned()));
        }
        Err(bad) => {
            let message_type = bad.message_type.as_deref().unwrap_or("error");
            return error_frame(message_type, &bad.error, bad.correlation_id.as_ref());
        }
    };
    // Control messages never have a route: no lookup for them (a `ping`
    // every keepalive interval from every client).
    let route = match &*message_type {
        "ping" | "subscribe" | "unsubscribe" | "presence" | REAUTHENTICATE => None,
        ty => endpoint.routes.get(ty),
    };
    match (route.and_then(|r| r.metrics), telemetry::get()) {
        (Some(metrics), _) => {
            metrics.received.increment(1);
            metrics.received_bytes.increment(text.len() as u64);
        }
        (None, Some(telemetry)) => telemetry.received_unrouted(&message_type, text.len()),
        (None, None) => {}
    }
    match &*message_type {
        "ping" => control::ping(correlation_id.as_ref()),
        "subscribe" => control::subscribe(endpoint, socket, data, correlation_id),
        "unsubscribe" => control::unsubscribe(socket, data, correlation_id),
        "presence" => control::presence(endpoint, socket, data, correlation_id),
        REAUTHENTICATE => reauth::dispatch(endpoint, socket, data, correlation_id),
        ty if is_reserved_type(ty) => {
            error_frame(ty, &SocketError::unknown_type(ty), correlation_id.as_ref())
        }
        ty => {
            if let Some(route) = route {
                if route.needs != 0
                    && let Some(error) = socket.core().states.read(|states| {
                        states.refusal(route.needs).map(|reason| SocketError::forbidden(reason.to_owned()))
                    })
                {
                    return error_frame(route.message_type, &error, correlation_id.as_ref());
                }
                let span = message_span(route.message_type, correlation_id.as_ref());
                let started = span.in_scope(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        route.handler.call(socket.clone(), route.message_type, data)
                    }))
                });
                start(
                    started,
                    ReplyTo { message_type: Cow::Borrowed(route.message_type), correlation_id },
                    span,
                    route.metrics,
                )
            } else if let Some(hook) = &endpoint.hooks.lifecycle.message {
                let span = message_span(ty, correlation_id.as_ref());
                let message =
                    UnroutedMessage::new(ty, data, correlation_id.as_ref().map(|c| c.as_str().to_owned()));
                let started =
                    span.in_scope(|| catch_unwind(AssertUnwindSafe(|| (hook.call)(socket.clone(), message))));
                let reply_to = ReplyTo { message_type: Cow::Owned(ty.to_owned()), correlation_id };
                start(started, reply_to, span, None)
            } else {
                error_frame(ty, &SocketError::unknown_type(ty), correlation_id.as_ref())
            }
        }
    }
}

/// Hands `message` to the raw handler; without one, answers `unsupported`
/// (a binary frame on an envelope endpoint).
pub(crate) fn dispatch_raw(endpoint: &Endpoint, socket: &Socket, message: RawMessage) -> Dispatched {
    let Some(hook) = &endpoint.hooks.lifecycle.raw else {
        let error = SocketError::unsupported("binary frames are not supported; send JSON in text frames");
        return error_frame("error", &error, None);
    };
    let span = tracing::debug_span!("raw message", binary = message.is_binary(), len = message.len());
    let started = span.in_scope(|| catch_unwind(AssertUnwindSafe(|| (hook.call)(socket.clone(), message))));
    match started {
        Ok(Ok(work)) => Dispatched::Started(InFlight {
            work: Work::Raw(work),
            span: kept(span),
            metrics: None,
            started: None,
        }),
        Ok(Err(error)) => {
            tracing::error!(parent: &span, %error, "raw message handler failed");
            Dispatched::Done(None)
        }
        Err(panic) => {
            tracing::error!(parent: &span, panic = panic_message(&*panic), "raw message handler panicked");
            Dispatched::Done(None)
        }
    }
}

/// A control message's running work (see `Work::Control`).
pub(crate) fn start_control(work: BoxFuture<'static, Option<Bytes>>, reply_to: ReplyTo) -> Dispatched {
    Dispatched::Started(InFlight {
        work: Work::Control { work, reply_to: Some(reply_to) },
        span: None,
        metrics: None,
        started: None,
    })
}

/// Running work, or the reply at once if starting it failed.
pub(crate) fn start(
    started: std::thread::Result<Started>,
    reply_to: ReplyTo,
    span: Span,
    metrics: Option<&'static RouteMetrics>,
) -> Dispatched {
    match started {
        Ok(Ok(work)) => Dispatched::Started(InFlight {
            work: Work::Routed { work, reply_to: Some(reply_to) },
            span: kept(span),
            metrics,
            started: None,
        }),
        Ok(Err(error)) => {
            span.record("outcome", error.code());
            Dispatched::Done(reply_to.frame(Reply::Error(error)))
        }
        Err(panic) => {
            tracing::error!(parent: &span, panic = panic_message(&*panic), "socket handler panicked");
            span.record("outcome", "internal");
            Dispatched::Done(reply_to.frame(Reply::Error(SocketError::internal())))
        }
    }
}
