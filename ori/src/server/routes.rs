//! [`Routes`]: what ori's own server answers each HTTP request with.
//!
//! A request to a WebSocket endpoint's path goes straight to the endpoint's
//! upgrade (`ws::upgrade`), past axum's routing, which costs about a dozen
//! allocations per connection (the router's boxed services and futures) for
//! a decision made here with one comparison per endpoint. Everything else
//! goes to the app's axum router, which routes the endpoints' paths the same
//! way: a host app that mounts ori (`server::mounted`) only has that way.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use futures_util::future::{Either, Future};
use hyper::body::Incoming;
use tower_service::Service;

use crate::endpoint::Endpoint;
use crate::handles::app_context::AppContext;
use crate::ws::upgrade::upgrade;

/// The app's HTTP router, and the WebSocket endpoints it routes.
#[derive(Clone)]
pub(crate) struct Routes {
    router: axum::Router,
    endpoints: Arc<[Arc<Endpoint>]>,
    /// What the router's `Extension` layer gives its requests.
    app: AppContext,
}

impl Routes {
    pub(crate) fn new(router: axum::Router, endpoints: &[Arc<Endpoint>], app: AppContext) -> Routes {
        Routes { router, endpoints: endpoints.into(), app }
    }

    /// Answers `request`, which came from `peer`.
    pub(crate) fn answer(
        &self,
        mut request: hyper::Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send + use<> {
        request.extensions_mut().insert(ConnectInfo(peer));
        let path = request.uri().path();
        match self.endpoints.iter().find(|endpoint| endpoint.config.path == path) {
            Some(endpoint) => {
                request.extensions_mut().insert(self.app.clone());
                Either::Left(upgrade(State(endpoint.clone()), request.map(Body::new)))
            }
            None => {
                let mut router = self.router.clone();
                Either::Right(
                    async move { router.call(request).await.unwrap_or_else(|never| match never {}) },
                )
            }
        }
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes").field("endpoints", &self.endpoints.len()).finish_non_exhaustive()
    }
}
