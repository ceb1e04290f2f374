//! [`Provided<T>`]: an axum extractor for a provider, in HTTP handlers.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::handles::app_context::AppContext;

/// The provider of type `T`, in an HTTP handler: `Provided(counter): Provided<Counter>`.
///
/// Works in the routes given to [`Ori::routes`](crate::Ori::routes) and in
/// a host app served by [`Mounted::serve`](crate::Mounted::serve) (both
/// carry ori's [`AppContext`] as a request extension).
///
/// A type nothing provides cannot be found before a request asks for it
/// (axum does not list a handler's extractors), so it is answered with
/// HTTP 500, a body naming the type and the fix, and an error log line.
///
/// ```
/// use ori::{Ori, Provided};
///
/// struct Counter(std::sync::atomic::AtomicU64);
///
/// async fn hits(Provided(counter): Provided<Counter>) -> String {
///     counter.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string()
/// }
///
/// let app = Ori::create()
///     .provide_value(Counter(Default::default()))
///     .routes(axum::Router::new().route("/hits", axum::routing::get(hits)));
/// ```
#[derive(Debug)]
pub struct Provided<T>(pub Arc<T>);

impl<T> std::ops::Deref for Provided<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<S, T> FromRequestParts<S> for Provided<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = NotProvided;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(app) = parts.extensions.get::<AppContext>() else {
            return Err(NotProvided::new::<T>(
                "ori's AppContext is not on this request: serve the router with `Mounted::serve`, \
                 or add `.layer(Extension(mounted.context()))` to it",
            ));
        };
        app.get::<T>().map(Provided).ok_or_else(|| {
            NotProvided::new::<T>(
                "nothing provides it: register it with `.provide(..)` / `.provide_value(..)` or \
                 `#[injectable]`",
            )
        })
    }
}

/// Why [`Provided<T>`] found no provider: HTTP 500 with a message naming
/// the type and the fix (also logged).
#[derive(Debug)]
pub struct NotProvided {
    message: String,
}

impl NotProvided {
    fn new<T>(why: &str) -> NotProvided {
        NotProvided { message: format!("no provider of `{}`: {why}", std::any::type_name::<T>()) }
    }
}

impl std::fmt::Display for NotProvided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for NotProvided {
    fn into_response(self) -> Response {
        tracing::error!(message = %self.message, "an HTTP handler asked for a provider");
        (StatusCode::INTERNAL_SERVER_ERROR, self.message).into_response()
    }
}
