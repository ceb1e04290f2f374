//! Handlers that take a shared value first: [`SocketRoutes::route_with`]
//! clones it into each call, so the closure does not have to.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::handler::{HandlerArgs, HandlerFuture, MessageHandler, start};
use super::table::RouteShape;
use crate::connection::state::StateKey;
use crate::protocol::reply::IntoReply;
use crate::{Socket, SocketContext, SocketError, SocketRoutes};

/// An async function usable with [`SocketRoutes::route_with`]: like a
/// [`Handler`](super::Handler), with the shared value `St` first:
///
/// - `async fn(St, SocketContext<S>) -> R`,
/// - `async fn(St, SocketContext<S>, T) -> R` where `T: Deserialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket handler taking a shared `{St}` first",
    note = "a handler for `route_with` takes the shared value, then `SocketContext<S>`, then optionally \
            a `data` argument whose type implements `serde::Deserialize`, and returns `()`, \
            `ori::Data(value)` or `Result<T, E>` with `T: serde::Serialize` and `E: Into<SocketError>`"
)]
pub trait SharedHandler<St, Args>: Send + Sync + 'static {
    /// The connection state the handler asks for (`None` for `()`).
    #[doc(hidden)]
    fn state() -> Option<StateKey>;

    /// The Rust types of `data` and of the reply's `data`.
    #[doc(hidden)]
    fn types() -> (&'static str, &'static str);

    /// Starts handling one message with `shared`.
    #[doc(hidden)]
    fn call(
        &self,
        shared: St,
        socket: Socket,
        message_type: &'static str,
        data: &RawValue,
    ) -> Result<HandlerFuture, SocketError>;
}

/// One impl for every form, as for [`Handler`](super::Handler): the arity
/// picks the `SharedHandlerFn` impl, then the arguments and reply are
/// checked on their own, so an error names the type at fault.
impl<St, F, Args, R> SharedHandler<St, Args> for F
where
    F: SharedHandlerFn<St, Args> + Send + Sync + 'static,
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

    fn call(
        &self,
        shared: St,
        socket: Socket,
        message_type: &'static str,
        data: &RawValue,
    ) -> Result<HandlerFuture, SocketError> {
        start(socket, message_type, data, |args| self.invoke(shared, args))
    }
}

/// A function of a shared handler's arity: `Fn(St, SocketContext<S>)` or
/// `Fn(St, SocketContext<S>, T)` (not public API).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket handler taking a shared `{St}` first",
    note = "a handler for `route_with` takes the shared value, then `SocketContext<S>`, then optionally \
            a `data` argument whose type implements `serde::Deserialize`"
)]
pub trait SharedHandlerFn<St, Args> {
    /// What calling it returns.
    type Future;

    /// Calls it.
    fn invoke(&self, shared: St, args: Args) -> Self::Future;
}

impl<St, F, Fut, S> SharedHandlerFn<St, (SocketContext<S>,)> for F
where
    F: Fn(St, SocketContext<S>) -> Fut,
{
    type Future = Fut;

    fn invoke(&self, shared: St, (ctx,): (SocketContext<S>,)) -> Fut {
        self(shared, ctx)
    }
}

impl<St, F, Fut, S, T> SharedHandlerFn<St, (SocketContext<S>, T)> for F
where
    F: Fn(St, SocketContext<S>, T) -> Fut,
{
    type Future = Fut;

    fn invoke(&self, shared: St, (ctx, data): (SocketContext<S>, T)) -> Fut {
        self(shared, ctx, data)
    }
}

/// A [`SharedHandler`] with its shared value.
struct WithState<St, H, Args> {
    shared: St,
    handler: H,
    _args: PhantomData<fn() -> Args>,
}

impl<St, H, Args> MessageHandler for WithState<St, H, Args>
where
    St: Clone + Send + Sync + 'static,
    H: SharedHandler<St, Args>,
    Args: 'static,
{
    fn call(
        &self,
        socket: Socket,
        message_type: &'static str,
        data: &RawValue,
    ) -> Result<HandlerFuture, SocketError> {
        self.handler.call(self.shared.clone(), socket, message_type, data)
    }
}

impl SocketRoutes {
    /// Like [`route`](Self::route), for a handler that takes a shared value
    /// first (a service, a pool, an `Arc` of your state): ori clones `shared`
    /// into each call, so the closure needs no clones of its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use ori::{Data, SocketContext, SocketRoutes};
    ///
    /// let hits = Arc::new(AtomicU64::new(0));
    /// let routes = SocketRoutes::named("Counter")
    ///     .route_with("counter.hit", hits.clone(), |hits: Arc<AtomicU64>, _ctx: SocketContext| async move {
    ///         Data(hits.fetch_add(1, Ordering::Relaxed) + 1)
    ///     })
    ///     .route_with("counter.add", hits, |hits: Arc<AtomicU64>, _ctx: SocketContext, n: u64| async move {
    ///         Data(hits.fetch_add(n, Ordering::Relaxed) + n)
    ///     });
    /// ```
    pub fn route_with<St, H, Args>(self, message_type: &'static str, shared: St, handler: H) -> Self
    where
        St: Clone + Send + Sync + 'static,
        H: SharedHandler<St, Args>,
        Args: 'static,
    {
        let shape = RouteShape::from_types(H::types(), None);
        let handler = WithState { shared, handler, _args: PhantomData };
        self.handler(message_type, Arc::new(handler), H::state(), Some(shape))
    }
}
