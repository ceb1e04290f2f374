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
use futures_util::FutureExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::Span;

use crate::endpoint::{Endpoint, EndpointKind};
use crate::protocol::encode;
use crate::protocol::envelope::{self, CorrelationId, Envelope, decode_data};
use crate::protocol::{Codec, RawMessage, msgpack_to_json};
use crate::protocol::{is_reserved_topic, is_reserved_type, validate_topic};
use crate::routing::handler::HandlerFuture;
use crate::routing::lifecycle::{RawFuture, UnroutedMessage};
use crate::routing::reply::Reply;
use crate::wire::frame::OpCode;
use crate::wire::frame_buf::frame;
use crate::{PubSubError, Socket, SocketError};

/// What dispatching one message produced.
pub(crate) enum Dispatched {
    /// Answered at once: the frame to send, if any.
    Done(Option<Bytes>),
    /// A handler is running; its reply frame comes when it finishes.
    Started(InFlight),
}

/// Where a handler's reply goes.
#[derive(Debug)]
struct ReplyTo {
    message_type: Cow<'static, str>,
    correlation_id: Option<CorrelationId>,
}

impl ReplyTo {
    /// Frames `reply` (`None`: an acknowledgement nobody asked for).
    fn frame(self, reply: Reply) -> Option<Bytes> {
        let cid = self.correlation_id.as_ref();
        Some(match reply {
            Reply::Unit if cid.is_none() => return None,
            Reply::Unit => encode::reply(&self.message_type, None, cid),
            Reply::Json(data) => encode::reply(&self.message_type, Some(&data), cid),
            Reply::Encoded(started) => encode::finish_reply(started.frame, cid),
            Reply::Error(error) => encode::error(&self.message_type, &error, cid),
        })
    }
}

/// A running handler; resolves to its reply frame. A panic becomes `internal`
/// (for a raw handler: no reply).
pub(crate) struct InFlight {
    work: Work,
    span: Span,
}

enum Work {
    /// A route or `on_message`: its reply is framed as an envelope.
    Routed { work: HandlerFuture, reply_to: Option<ReplyTo> },
    /// The raw handler: its reply goes out as is.
    Raw(RawFuture),
}

impl Future for InFlight {
    type Output = Option<Bytes>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.span.enter();
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
                Poll::Ready(reply_to.take().expect("polled after completion").frame(reply))
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

/// The frame that sends `message` as is.
fn raw_frame(message: &RawMessage) -> Bytes {
    match message {
        RawMessage::Text(text) => frame(OpCode::Text, text.as_bytes()),
        RawMessage::Binary(bytes) => frame(OpCode::Binary, bytes),
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

fn error_frame(
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
        Err(bad) if bad.message_type.is_none() && endpoint.lifecycle.raw.is_some() => {
            return dispatch_raw(endpoint, socket, RawMessage::Text(text.to_owned()));
        }
        Err(bad) => {
            let message_type = bad.message_type.as_deref().unwrap_or("error");
            return error_frame(message_type, &bad.error, bad.correlation_id.as_ref());
        }
    };
    match &*message_type {
        "ping" => Dispatched::Done(Some(encode::reply("pong", None, correlation_id.as_ref()))),
        "subscribe" => subscribe(endpoint, socket, data, correlation_id),
        "unsubscribe" => unsubscribe(socket, data, correlation_id),
        ty if is_reserved_type(ty) => {
            error_frame(ty, &SocketError::unknown_type(ty), correlation_id.as_ref())
        }
        ty => {
            if let Some(route) = endpoint.routes.get(ty) {
                let span = tracing::debug_span!("message", r#type = route.message_type);
                let started = span.in_scope(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        route.handler.call(socket.clone(), route.message_type, data)
                    }))
                });
                start(
                    started,
                    ReplyTo { message_type: Cow::Borrowed(route.message_type), correlation_id },
                    span,
                )
            } else if let Some(hook) = &endpoint.lifecycle.message {
                let span = tracing::debug_span!("message", r#type = ty);
                let message =
                    UnroutedMessage::new(ty, data, correlation_id.as_ref().map(|c| c.as_str().to_owned()));
                let started =
                    span.in_scope(|| catch_unwind(AssertUnwindSafe(|| (hook.call)(socket.clone(), message))));
                start(started, ReplyTo { message_type: Cow::Owned(ty.to_owned()), correlation_id }, span)
            } else {
                error_frame(ty, &SocketError::unknown_type(ty), correlation_id.as_ref())
            }
        }
    }
}

/// Hands `message` to the raw handler; without one, answers `unsupported`
/// (a binary frame on an envelope endpoint).
pub(crate) fn dispatch_raw(endpoint: &Endpoint, socket: &Socket, message: RawMessage) -> Dispatched {
    let Some(hook) = &endpoint.lifecycle.raw else {
        let error = SocketError::unsupported("binary frames are not supported; send JSON in text frames");
        return error_frame("error", &error, None);
    };
    let span = tracing::debug_span!("raw message", binary = message.is_binary(), len = message.len());
    let started = span.in_scope(|| catch_unwind(AssertUnwindSafe(|| (hook.call)(socket.clone(), message))));
    match started {
        Ok(Ok(work)) => Dispatched::Started(InFlight { work: Work::Raw(work), span }),
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

/// Running work, or the reply at once if starting it failed.
fn start(
    started: std::thread::Result<Result<HandlerFuture, SocketError>>,
    reply_to: ReplyTo,
    span: Span,
) -> Dispatched {
    match started {
        Ok(Ok(work)) => {
            Dispatched::Started(InFlight { work: Work::Routed { work, reply_to: Some(reply_to) }, span })
        }
        Ok(Err(error)) => Dispatched::Done(reply_to.frame(Reply::Error(error))),
        Err(panic) => {
            tracing::error!(parent: &span, panic = panic_message(&*panic), "socket handler panicked");
            Dispatched::Done(reply_to.frame(Reply::Error(SocketError::internal())))
        }
    }
}

#[derive(Deserialize)]
struct TopicData {
    topic: String,
}

/// The topic of a `subscribe`/`unsubscribe`, or the error to answer.
fn control_topic(message_type: &'static str, data: &RawValue) -> Result<String, SocketError> {
    let TopicData { topic } = decode_data::<TopicData>(message_type, data)?;
    validate_topic(&topic)
        .map_err(|reason| SocketError::from(PubSubError::InvalidTopic { topic: topic.clone(), reason }))?;
    if is_reserved_topic(&topic) {
        return Err(PubSubError::ReservedTopic(topic).into());
    }
    Ok(topic)
}

fn topic_ack(topic: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "topic": topic })).expect("a string always serializes")
}

fn subscribe(
    endpoint: &Endpoint,
    socket: &Socket,
    data: &RawValue,
    correlation_id: Option<CorrelationId>,
) -> Dispatched {
    let topic = match control_topic("subscribe", data) {
        Ok(topic) => topic,
        Err(error) => return error_frame("subscribe", &error, correlation_id.as_ref()),
    };
    let socket = socket.clone();
    let authorizer = endpoint.authorizer.clone();
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
    start(Ok(Ok(work.boxed())), reply_to, Span::none())
}

fn unsubscribe(socket: &Socket, data: &RawValue, correlation_id: Option<CorrelationId>) -> Dispatched {
    match control_topic("unsubscribe", data) {
        Ok(topic) => {
            socket.unsubscribe(&topic);
            let reply_to = ReplyTo { message_type: Cow::Borrowed("unsubscribe"), correlation_id };
            Dispatched::Done(reply_to.frame(Reply::Json(topic_ack(&topic))))
        }
        Err(error) => error_frame("unsubscribe", &error, correlation_id.as_ref()),
    }
}
