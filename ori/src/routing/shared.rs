//! Handlers that take a shared value first: [`SocketRoutes::route_with`]
//! clones it into each call, so the closure does not have to. Bound to its
//! value ([`WithShared`]), such a handler is an ordinary [`Handler`]: it is
//! routed, decoded and replied to as every other one.

use std::future::Future;

use crate::handles::socket::SocketContext;
use crate::protocol::reply::IntoReply;
use crate::routing::handler::{Handler, HandlerArgs, HandlerFn};
use crate::routing::table::SocketRoutes;

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

/// A shared handler bound to its shared value: a [`HandlerFn`] that clones
/// the value into each call, so that it is an ordinary [`Handler`]
/// (not public API).
#[doc(hidden)]
pub struct WithShared<St, F> {
    shared: St,
    handler: F,
}

impl<St, F> std::fmt::Debug for WithShared<St, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithShared").finish_non_exhaustive()
    }
}

impl<St: Clone, F: SharedHandlerFn<St, Args>, Args> HandlerFn<Args> for WithShared<St, F> {
    type Future = F::Future;

    fn invoke(&self, args: Args) -> F::Future {
        self.handler.invoke(self.shared.clone(), args)
    }
}

/// An async function usable with [`SocketRoutes::route_with`]: like a
/// [`Handler`], with the shared value `St` first:
///
/// - `async fn(St, SocketContext<S>) -> R`,
/// - `async fn(St, SocketContext<S>, T) -> R` where `T: Deserialize`.
///
/// Implemented for every function that, bound to its shared value, is a
/// [`Handler`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket handler taking a shared `{St}` first",
    note = "a handler for `route_with` takes the shared value, then `SocketContext<S>`, then optionally \
            a `data` argument whose type implements `serde::Deserialize`, and returns `()`, \
            `ori::Data(value)` or `Result<T, E>` with `T: serde::Serialize` and `E: Into<SocketError>`"
)]
pub trait SharedHandler<St, Args>: Sized {
    /// The handler bound to its shared value.
    #[doc(hidden)]
    type Bound: Handler<Args>;

    /// Binds the handler to `shared`.
    #[doc(hidden)]
    fn bind(self, shared: St) -> Self::Bound;
}

/// The bounds are those that make `WithShared<St, H>` a [`Handler`], spelled
/// out on `H` so that a mistake is reported once, on the function.
impl<St, H, Args, R> SharedHandler<St, Args> for H
where
    St: Clone + Send + Sync + 'static,
    H: SharedHandlerFn<St, Args> + Send + Sync + 'static,
    Args: HandlerArgs,
    H::Future: Future<Output = R> + Send + 'static,
    R: IntoReply + 'static,
{
    type Bound = WithShared<St, H>;

    fn bind(self, shared: St) -> WithShared<St, H> {
        WithShared { shared, handler: self }
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
        H: SharedHandler<St, Args>,
        Args: 'static,
    {
        self.route(message_type, handler.bind(shared))
    }
}
