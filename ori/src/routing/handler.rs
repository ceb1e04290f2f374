//! Handlers: [`MessageHandler`] is the erased form the dispatch table calls;
//! [`Handler`] turns async closures and functions into it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::connection::state::StateKey;
use crate::handles::socket::{Socket, SocketContext};
use crate::hooks::guard::MessageGuard;
use crate::protocol::envelope::decode_argument;
use crate::protocol::reply::{IntoReply, Reply};
use crate::protocol::socket_error::SocketError;

/// The future of one handled message.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// A message whose handling has started: its work, or the error to reply at
/// once (its `data` did not decode, its state is missing).
pub type Started = Result<HandlerFuture, SocketError>;

/// One route's handler, type-erased: deserializes `data` (synchronously, while
/// the message is still borrowed) and returns the work to run.
///
/// Generated routers implement this with one monomorphic function per route;
/// hand-written code usually passes a closure to
/// [`SocketRoutes::route`](crate::SocketRoutes::route) instead.
pub trait MessageHandler: Send + Sync + 'static {
    /// Starts handling one message. An `Err` is replied at once (e.g. a
    /// `bad_request` naming the field whose data did not match).
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started;
}

/// An async function usable as a route handler:
///
/// - `async fn(SocketContext<S>) -> R` (ignores `data`),
/// - `async fn(SocketContext<S>, T) -> R` where `T: Deserialize`,
///
/// where `R:` [`IntoReply`] and `S` is a connection state (or `()`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket handler",
    note = "a handler is an async fn or closure taking `SocketContext<S>` and optionally a `data` \
            argument whose type implements `serde::Deserialize`, returning `()`, `ori::Data(value)` \
            or `Result<T, E>` with `T: serde::Serialize` and `E: Into<SocketError>`",
    note = "a closure that returns `Ok(value)` leaves the error type open: return `Data(value)`, or \
            write `Ok::<_, SocketError>(value)`"
)]
pub trait Handler<Args>: Send + Sync + 'static {
    /// The connection state the handler asks for (`None` for `()`).
    #[doc(hidden)]
    fn state() -> Option<StateKey>;

    /// The Rust types of `data` (`()` for none) and of the reply's `data`,
    /// for [`Ori::describe`](crate::Ori::describe).
    #[doc(hidden)]
    fn types() -> (&'static str, &'static str);

    /// Starts handling one message.
    #[doc(hidden)]
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started;
}

/// Every handler form is one impl: the closure's arity picks its
/// `HandlerFn` impl, and what its arguments and reply must be are then
/// checked on their own, so a compile error names the type at fault (the
/// `data` type that is not `Deserialize`, the reply that cannot be sent)
/// instead of the whole closure.
impl<F, Args, R> Handler<Args> for F
where
    F: HandlerFn<Args> + Send + Sync + 'static,
    Args: HandlerArgs,
    F::Future: Future<Output = R> + Send + 'static,
    R: IntoReply + 'static,
{
    fn state() -> Option<StateKey> {
        Args::state()
    }

    fn types() -> (&'static str, &'static str) {
        (Args::data_type(), R::reply_type_name())
    }

    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started {
        start(socket, message_type, data, |args| self.invoke(args))
    }
}

/// The work of one message: its arguments decoded from it, then `work`'s
/// future, whose output becomes the reply to `message_type`. Every
/// function-handler form ([`Handler`], with a shared value or without) ends here.
pub(crate) fn start<Args, Fut, R>(
    socket: Socket,
    message_type: &'static str,
    data: &RawValue,
    work: impl FnOnce(Args) -> Fut,
) -> Started
where
    Args: HandlerArgs,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoReply + 'static,
{
    let args = Args::decode(socket, message_type, data)?;
    Ok(work(args).map(move |reply| reply.into_reply_for(message_type)).boxed())
}

/// A function of a handler's arity: `Fn(SocketContext<S>)` or
/// `Fn(SocketContext<S>, T)` (not public API).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket handler",
    note = "a handler is an async fn or closure taking `SocketContext<S>` and optionally a `data` \
            argument whose type implements `serde::Deserialize`"
)]
pub trait HandlerFn<Args> {
    /// What calling it returns.
    type Future;

    /// Calls it.
    fn invoke(&self, args: Args) -> Self::Future;
}

impl<F, Fut, S> HandlerFn<(SocketContext<S>,)> for F
where
    F: Fn(SocketContext<S>) -> Fut,
{
    type Future = Fut;

    fn invoke(&self, (ctx,): (SocketContext<S>,)) -> Fut {
        self(ctx)
    }
}

impl<F, Fut, S, T> HandlerFn<(SocketContext<S>, T)> for F
where
    F: Fn(SocketContext<S>, T) -> Fut,
{
    type Future = Fut;

    fn invoke(&self, (ctx, data): (SocketContext<S>, T)) -> Fut {
        self(ctx, data)
    }
}

/// A handler's arguments, made from one message (not public API).
#[doc(hidden)]
pub trait HandlerArgs: Sized + Send + 'static {
    /// The connection state asked for (`None` for `()`).
    fn state() -> Option<StateKey>;

    /// The Rust type of `data` (`()` for none).
    fn data_type() -> &'static str;

    /// Decodes `data` (first: malformed data is `bad_request` whatever the
    /// connection), then makes the typed context.
    fn decode(socket: Socket, message_type: &'static str, data: &RawValue) -> Result<Self, SocketError>;
}

impl<S: Send + Sync + 'static> HandlerArgs for (SocketContext<S>,) {
    fn state() -> Option<StateKey> {
        StateKey::of::<S>()
    }

    fn data_type() -> &'static str {
        "()"
    }

    fn decode(socket: Socket, _: &'static str, _: &RawValue) -> Result<Self, SocketError> {
        Ok((SocketContext::from_socket(socket)?,))
    }
}

impl<S: Send + Sync + 'static, T: DeserializeOwned + Send + 'static> HandlerArgs for (SocketContext<S>, T) {
    fn state() -> Option<StateKey> {
        StateKey::of::<S>()
    }

    fn data_type() -> &'static str {
        std::any::type_name::<T>()
    }

    fn decode(socket: Socket, message_type: &'static str, data: &RawValue) -> Result<Self, SocketError> {
        let data = decode_argument::<T>(message_type, data)?;
        Ok((SocketContext::from_socket(socket)?, data))
    }
}

/// Adapts a [`Handler`] to [`MessageHandler`].
pub(crate) struct FnHandler<H, Args> {
    handler: H,
    _args: PhantomData<fn() -> Args>,
}

impl<H, Args> FnHandler<H, Args> {
    pub(crate) fn new(handler: H) -> Self {
        FnHandler { handler, _args: PhantomData }
    }
}

impl<H: Handler<Args>, Args: 'static> MessageHandler for FnHandler<H, Args> {
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started {
        self.handler.call(socket, message_type, data)
    }
}

/// Runs a [`MessageGuard`] before the wrapped handler; data is decoded first,
/// so a malformed message is `bad_request` whoever sends it.
pub(crate) struct Guarded<G, H> {
    pub(crate) guard: Arc<G>,
    pub(crate) inner: H,
}

impl<G: MessageGuard, H: MessageHandler> MessageHandler for Guarded<G, H> {
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started {
        let work = self.inner.call(socket.clone(), message_type, data)?;
        let guard = self.guard.clone();
        Ok(async move {
            match guard.check(&socket, message_type).await {
                Ok(()) => work.await,
                Err(reject) => Reply::Error(guard_refusal(message_type, &reject)),
            }
        }
        .boxed())
    }
}

/// Answers `timeout`, dropping the work, when the wrapped route (guards and
/// handler) takes longer than `limit`. Routes without a timeout are not
/// wrapped, so they pay nothing for it.
pub(crate) struct Timed {
    pub(crate) inner: Arc<dyn MessageHandler>,
    pub(crate) limit: std::time::Duration,
}

impl MessageHandler for Timed {
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started {
        let work = self.inner.call(socket, message_type, data)?;
        let limit = self.limit;
        Ok(async move {
            match tokio::time::timeout(limit, work).await {
                Ok(reply) => reply,
                Err(_) => Reply::Error(SocketError::timeout(message_type, limit)),
            }
        }
        .boxed())
    }
}

/// The `forbidden` error for a message guard's refusal (a failure is logged).
pub fn guard_refusal(message_type: &str, reject: &crate::hooks::guard::Reject) -> SocketError {
    match reject.source() {
        Some(error) => {
            tracing::error!(%error, message_type, "message guard failed");
            SocketError::forbidden("not allowed")
        }
        None => SocketError::forbidden(reject.reason().to_owned()),
    }
}
