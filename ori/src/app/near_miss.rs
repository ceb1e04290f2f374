//! A WebSocket upgrade to a path no route takes (`/websocket` for `/ws`)
//! answers 404 with where the endpoints are, in the body and in a debug log
//! line, instead of an empty 404 nobody can read. Only upgrade requests that
//! the app's routes left unanswered (404) are touched; every other request
//! passes through as it is, without an allocation.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either};
use tower_service::Service;

/// Wraps the app's router (`Router::layer`) with [`NearMiss`].
#[derive(Debug, Clone)]
pub(crate) struct NearMissLayer {
    /// The WebSocket endpoints' paths.
    paths: Arc<[String]>,
}

impl NearMissLayer {
    pub(crate) fn new(paths: Vec<String>) -> NearMissLayer {
        NearMissLayer { paths: paths.into() }
    }
}

impl<S> tower_layer::Layer<S> for NearMissLayer {
    type Service = NearMiss<S>;

    fn layer(&self, inner: S) -> NearMiss<S> {
        NearMiss { inner, paths: self.paths.clone() }
    }
}

/// The service [`NearMissLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct NearMiss<S> {
    inner: S,
    paths: Arc<[String]>,
}

impl<S> Service<Request<Body>> for NearMiss<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response<Body>, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let missed = is_upgrade(&request) && !self.paths.iter().any(|p| p == request.uri().path());
        if !missed {
            return Either::Left(self.inner.call(request));
        }
        let path = request.uri().path().to_owned();
        let paths = self.paths.clone();
        let answered = self.inner.call(request);
        Either::Right(
            async move {
                let response = answered.await?;
                if response.status() != StatusCode::NOT_FOUND {
                    return Ok(response);
                }
                let endpoints = paths.join(", ");
                tracing::debug!(path, endpoints, "WebSocket upgrade to a path without an endpoint");
                let body = if endpoints.is_empty() {
                    format!("no WebSocket endpoint at {path}: this server has none\n")
                } else {
                    format!("no WebSocket endpoint at {path}: this server's is at {endpoints}\n")
                };
                Ok(Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(Body::from(body))
                    .expect("a valid response"))
            }
            .boxed(),
        )
    }
}

/// Whether `request` asks for a WebSocket (`Upgrade: websocket`).
fn is_upgrade(request: &Request<Body>) -> bool {
    request.headers().get(header::UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}
