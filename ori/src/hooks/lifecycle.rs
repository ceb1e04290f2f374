//! Lifecycle handlers: `open`, `message` (envelopes no route takes), `raw`
//! (messages that are not envelopes), `close`; and how they run
//! ([`run_hook`]: a failure or a panic is logged, never passed on).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::connection::state::StateKey;
use crate::handles::socket::{Socket, SocketContext};
use crate::protocol::envelope::decode_data;
use crate::protocol::raw::RawMessage;
use crate::protocol::reply::{IntoRawReply, IntoReply, Reply};
use crate::protocol::socket_error::SocketError;
use crate::util::panic::panic_message;

/// A client message that no route handles, given to the `message` lifecycle
/// handler ([`Ori::on_message`](crate::Ori::on_message)).
#[derive(Debug, Clone)]
pub struct UnroutedMessage {
    message_type: String,
    data: Box<RawValue>,
    correlation_id: Option<String>,
}

impl UnroutedMessage {
    pub(crate) fn new(
        message_type: &str,
        data: &RawValue,
        correlation_id: Option<String>,
    ) -> UnroutedMessage {
        UnroutedMessage { message_type: message_type.to_owned(), data: data.to_owned(), correlation_id }
    }

    /// The message's `type`.
    pub fn message_type(&self) -> &str {
        &self.message_type
    }

    /// `data` deserialized as `T`; the error names the mismatching field.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, SocketError> {
        decode_data(&self.message_type, &self.data)
    }

    /// `data` as raw JSON (`null` when absent).
    pub fn raw_data(&self) -> &RawValue {
        &self.data
    }

    /// The request's `correlationId`, if any.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
}

/// How a connection ended, given to the `close` lifecycle handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (sent or received); 1006 when the connection dropped
    /// without a close frame, 1005 when the client's close frame had no code.
    pub code: u16,
    /// The close reason (may be empty).
    pub reason: String,
}

type OpenFn = dyn Fn(Socket) -> Result<BoxFuture<'static, ()>, SocketError> + Send + Sync;
type MessageFn =
    dyn Fn(Socket, UnroutedMessage) -> Result<BoxFuture<'static, Reply>, SocketError> + Send + Sync;
/// The future of one raw message's handler: what to send back, if anything.
pub(crate) type RawFuture = BoxFuture<'static, Option<RawMessage>>;
type RawFn = dyn Fn(Socket, RawMessage) -> Result<RawFuture, SocketError> + Send + Sync;
type CloseFn = dyn Fn(Socket, CloseInfo) -> Result<BoxFuture<'static, ()>, SocketError> + Send + Sync;

/// A lifecycle handler with the state it needs.
pub(crate) struct Hook<F: ?Sized> {
    pub(crate) state: Option<StateKey>,
    pub(crate) call: Arc<F>,
}

impl<F: ?Sized> Clone for Hook<F> {
    fn clone(&self) -> Self {
        Hook { state: self.state, call: self.call.clone() }
    }
}

/// The lifecycle handlers of a server.
#[derive(Default, Clone)]
pub(crate) struct Lifecycle {
    pub(crate) open: Option<Hook<OpenFn>>,
    pub(crate) message: Option<Hook<MessageFn>>,
    pub(crate) raw: Option<Hook<RawFn>>,
    pub(crate) close: Option<Hook<CloseFn>>,
}

impl Lifecycle {
    pub(crate) fn set_open<S, F, Fut>(&mut self, f: F)
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.open = Some(Hook {
            state: StateKey::of::<S>(),
            call: Arc::new(move |socket| Ok(f(SocketContext::from_socket(socket)?).boxed())),
        });
    }

    pub(crate) fn set_message<S, F, Fut, R>(&mut self, f: F)
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>, UnroutedMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoReply + 'static,
    {
        self.message = Some(Hook {
            state: StateKey::of::<S>(),
            call: Arc::new(move |socket, message| {
                Ok(f(SocketContext::from_socket(socket)?, message).map(IntoReply::into_reply).boxed())
            }),
        });
    }

    pub(crate) fn set_raw<S, F, Fut, R>(&mut self, f: F)
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>, RawMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoRawReply + 'static,
    {
        self.raw = Some(Hook {
            state: StateKey::of::<S>(),
            call: Arc::new(move |socket, message| {
                Ok(f(SocketContext::from_socket(socket)?, message).map(IntoRawReply::into_raw_reply).boxed())
            }),
        });
    }

    pub(crate) fn set_close<S, F, Fut>(&mut self, f: F)
    where
        S: Send + Sync + 'static,
        F: Fn(SocketContext<S>, CloseInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.close = Some(Hook {
            state: StateKey::of::<S>(),
            call: Arc::new(move |socket, info| Ok(f(SocketContext::from_socket(socket)?, info).boxed())),
        });
    }

    /// `(handler name, state)` for start-up validation.
    pub(crate) fn requirements(&self) -> Vec<(&'static str, Option<StateKey>)> {
        let mut out = Vec::new();
        if let Some(h) = &self.open {
            out.push(("on_open handler", h.state));
        }
        if let Some(h) = &self.message {
            out.push(("on_message handler", h.state));
        }
        if let Some(h) = &self.raw {
            out.push(("raw message handler", h.state));
        }
        if let Some(h) = &self.close {
            out.push(("on_close handler", h.state));
        }
        out
    }
}

/// Runs a lifecycle handler, logging failures and panics.
pub(crate) fn run_hook<F>(name: &'static str, start: F) -> BoxFuture<'static, ()>
where
    F: FnOnce() -> Result<BoxFuture<'static, ()>, SocketError>,
{
    let started = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(Ok(work)) => work,
        Ok(Err(error)) => {
            tracing::error!(handler = name, %error, "lifecycle handler failed");
            return std::future::ready(()).boxed();
        }
        Err(panic) => {
            tracing::error!(handler = name, panic = panic_message(&*panic), "lifecycle handler panicked");
            return std::future::ready(()).boxed();
        }
    };
    async move {
        if let Err(panic) = AssertUnwindSafe(started).catch_unwind().await {
            tracing::error!(handler = name, panic = panic_message(&*panic), "lifecycle handler panicked");
        }
    }
    .boxed()
}
