//! Layers around socket handlers: [`SocketLayer`] sees each message of the
//! routes it wraps before they do, and their [`Outcome`] after; it may
//! observe, rewrite, or answer in their place.
//!
//! Not tower's `Layer`/`Service`: a `Service` takes `&mut self` after
//! `poll_ready`, so each message would clone the whole stack, and tower's
//! errors are boxed errors without a protocol `code`. A layer here is one
//! async method taking the message and the rest of the route ([`Next`]),
//! as axum's `middleware::from_fn`; routes without a layer pay nothing.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::handler::{MessageHandler, Started};
use crate::handles::socket::Socket;
use crate::protocol::envelope::decode_data;
use crate::protocol::reply::Reply;
use crate::protocol::socket_error::SocketError;

/// Middleware around socket handlers.
///
/// Add one to a set of routes ([`SocketRoutes::layer`](crate::SocketRoutes::layer)),
/// to a router (`#[socket_router(layer = Timing)]`, built by the container
/// like the router), or to every route of the app ([`Ori::layer`](crate::Ori::layer)).
/// A layer wraps the route whole (timeout, message guards, decoding `data`,
/// the handler); a panic in it is answered `internal`, as a handler's.
///
/// ```
/// use std::time::Instant;
/// use ori::layer::{LayerMessage, Next, Outcome, SocketLayer};
///
/// /// Logs how long each message took.
/// struct Timing;
///
/// impl SocketLayer for Timing {
///     async fn call(&self, message: LayerMessage, next: Next) -> Outcome {
///         let (started, message_type) = (Instant::now(), message.message_type());
///         let outcome = next.run(message).await;
///         tracing::info!(message_type, failed = outcome.is_error(), elapsed = ?started.elapsed());
///         outcome
///     }
/// }
///
/// let routes = ori::SocketRoutes::new()
///     .route("hello", |_ctx: ori::SocketContext| async {})
///     .layer(Timing);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a socket layer",
    note = "implement `ori::layer::SocketLayer` for `{Self}` (one `async fn call(&self, message: LayerMessage, next: Next) -> Outcome`), or wrap a closure with `ori::layer::from_fn`"
)]
pub trait SocketLayer: Send + Sync + 'static {
    /// Handles one message: call `next.run(message)` to go on to the route
    /// (after changing the message, if need be), or return an [`Outcome`]
    /// without it to answer in the route's place.
    fn call(&self, message: LayerMessage, next: Next) -> impl Future<Output = Outcome> + Send;
}

/// A layer from an async closure: `from_fn(|message, next| async move { next.run(message).await })`.
///
/// ```
/// use ori::SocketError;
/// use ori::layer::{LayerMessage, Next, Outcome, from_fn};
///
/// // Refuses everything while the app is in maintenance.
/// let maintenance = from_fn(|message: LayerMessage, next: Next| async move {
///     if std::env::var_os("MAINTENANCE").is_some() {
///         return Outcome::error(SocketError::new("unavailable", "back in a minute"));
///     }
///     next.run(message).await
/// });
/// let routes = ori::SocketRoutes::new()
///     .route("hello", |_ctx: ori::SocketContext| async {})
///     .layer(maintenance);
/// ```
pub fn from_fn<F, Fut>(f: F) -> FromFn<F>
where
    F: Fn(LayerMessage, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    FromFn { f }
}

/// The layer made by [`from_fn`].
#[derive(Clone, Copy)]
pub struct FromFn<F> {
    f: F,
}

impl<F, Fut> SocketLayer for FromFn<F>
where
    F: Fn(LayerMessage, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn call(&self, message: LayerMessage, next: Next) -> impl Future<Output = Outcome> + Send {
        (self.f)(message, next)
    }
}

impl<F> std::fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FromFn")
    }
}

/// One message on its way to a route, as a layer sees it.
#[derive(Debug)]
pub struct LayerMessage {
    socket: Socket,
    message_type: &'static str,
    data: Box<RawValue>,
}

impl LayerMessage {
    /// The connection that sent it.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Its `type`.
    pub fn message_type(&self) -> &'static str {
        self.message_type
    }

    /// Its `data` as raw JSON (`null` when absent).
    pub fn data(&self) -> &RawValue {
        &self.data
    }

    /// Its `data` deserialized as `T`; the error is the `bad_request` the
    /// route would answer.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, SocketError> {
        decode_data(self.message_type, &self.data)
    }

    /// Replaces its `data` with `value` (what the route will decode).
    ///
    /// A value that cannot be serialized (a map with non-string keys) is an
    /// `internal` error, logged.
    pub fn set_data<T: Serialize>(&mut self, value: &T) -> Result<(), SocketError> {
        self.data = serde_json::value::to_raw_value(value).map_err(|error| {
            tracing::error!(%error, message_type = self.message_type, "layer's data could not be serialized");
            SocketError::internal()
        })?;
        Ok(())
    }
}

/// The rest of a route (inner layers, timeout, guards, handler), given to a layer.
pub struct Next {
    inner: Arc<dyn MessageHandler>,
}

impl Next {
    /// Runs the rest of the route on `message` and returns what it answers.
    pub async fn run(self, message: LayerMessage) -> Outcome {
        match self.inner.call(message.socket, message.message_type, &message.data) {
            Ok(work) => Outcome(work.await),
            Err(error) => Outcome(Reply::Error(error)),
        }
    }
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Next")
    }
}

/// What a route answers to one message: data, an acknowledgement, or an
/// error. Framed with the request's `type` and `correlationId` after the
/// outermost layer returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome(Reply);

impl Outcome {
    /// Answers `value` as the reply's `data` (`()` is an acknowledgement).
    /// A value that cannot be serialized is answered `internal`, logged.
    pub fn data<T: Serialize + 'static>(value: &T) -> Outcome {
        Outcome(Reply::json(value))
    }

    /// Answers nothing but an acknowledgement (`"data": null` when the
    /// request had a `correlationId`; otherwise nothing is sent).
    pub fn ack() -> Outcome {
        Outcome(Reply::Unit)
    }

    /// Answers an error envelope.
    pub fn error(error: impl Into<SocketError>) -> Outcome {
        Outcome(Reply::Error(error.into()))
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        matches!(self.0, Reply::Error(_))
    }

    /// The error it answers, if it is one.
    pub fn as_error(&self) -> Option<&SocketError> {
        match &self.0 {
            Reply::Error(error) => Some(error),
            _ => None,
        }
    }

    /// The reply's `data` as JSON text, if it carries data (not an
    /// acknowledgement, not an error).
    pub fn data_json(&self) -> Option<&str> {
        let bytes = match &self.0 {
            Reply::Json(bytes) => bytes.as_slice(),
            Reply::Encoded(encoded) => encoded.data(),
            Reply::Unit | Reply::Error(_) => return None,
        };
        std::str::from_utf8(bytes).ok()
    }

    pub(crate) fn into_reply(self) -> Reply {
        self.0
    }
}

impl From<SocketError> for Outcome {
    fn from(error: SocketError) -> Outcome {
        Outcome::error(error)
    }
}

/// Puts a layer in front of a route's handler (once per route, at
/// start-up), type-erased for [`Ori::layer`](crate::Ori::layer) and the
/// routers' `layer = ..`.
pub(crate) type Wrap = Arc<dyn Fn(Arc<dyn MessageHandler>) -> Arc<dyn MessageHandler> + Send + Sync>;

/// The [`Wrap`] of `layer`.
pub(crate) fn wrapper<L: SocketLayer>(layer: Arc<L>) -> Wrap {
    Arc::new(move |inner| Arc::new(Layered { layer: layer.clone(), inner }))
}

/// A route behind a layer. Per message: `data` copied out of the frame (the
/// layer runs after the frame is gone), the layer's future boxed, and the
/// layer and the rest of the route each held by one more `Arc`.
struct Layered<L> {
    layer: Arc<L>,
    inner: Arc<dyn MessageHandler>,
}

impl<L: SocketLayer> MessageHandler for Layered<L> {
    fn call(&self, socket: Socket, message_type: &'static str, data: &RawValue) -> Started {
        let message = LayerMessage { socket, message_type, data: data.to_owned() };
        let next = Next { inner: self.inner.clone() };
        let layer = self.layer.clone();
        Ok(async move { layer.call(message, next).await.into_reply() }.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_shows_its_data_however_it_was_written() {
        // Written straight into the reply frame, after a `type` whose escaped
        // form holds the bytes of the `data` key.
        let encoded = Outcome(Reply::json_for("odd\",\"data\":", &serde_json::json!({"n": 1})));
        assert!(matches!(encoded.0, Reply::Encoded(_)));
        assert_eq!(encoded.data_json(), Some(r#"{"n":1}"#));
        assert_eq!(Outcome::data(&[1, 2]).data_json(), Some("[1,2]"));
        assert_eq!(Outcome::data(&()).data_json(), None);
        assert_eq!(Outcome::ack().data_json(), None);
        let refused = Outcome::from(SocketError::forbidden("no"));
        assert_eq!(
            (refused.is_error(), refused.as_error().map(SocketError::code)),
            (true, Some("forbidden"))
        );
        assert_eq!(refused.data_json(), None);
    }
}
