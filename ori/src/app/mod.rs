//! The built app: what [`Ori`](crate::Ori) assembles and the server runs
//! ([`BuiltApp`]), the background work of a serving app (the [`idle`]
//! sweeper), how it ends ([`drain`]), its health routes ([`health`]), and
//! what the server says when it starts ([`startup`]).

pub(crate) mod drain;
pub(crate) mod health;
mod idle;
pub(crate) mod metrics;
pub(crate) mod near_miss;
pub(crate) mod startup;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use self::drain::Drain;
use crate::endpoint::{Endpoint, EndpointKind};
use crate::error::Error;
use crate::handles::app_context::AppContext;

/// A built application: the HTTP router (WebSocket endpoints included), its
/// context, and what serving it needs. [`Ori`](crate::Ori) assembles one;
/// [`Server`](crate::Server), [`Mounted`](crate::Mounted) and the test
/// [`Harness`](crate::testing::Harness) run it.
pub(crate) struct BuiltApp {
    pub(crate) router: axum::Router,
    pub(crate) app: AppContext,
    /// Every WebSocket endpoint (the envelope endpoint first, if any).
    pub(crate) endpoints: Vec<Arc<Endpoint>>,
    /// How the app ends when it shuts down.
    pub(crate) drain: Drain,
    pub(crate) shutdown_signal: Option<BoxFuture<'static, ()>>,
    /// What is mounted on the envelope endpoint, one line per router or
    /// route set, said when the server starts.
    pub(crate) mounted: Vec<String>,
}

impl BuiltApp {
    /// The envelope endpoint, when configured.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn envelope_endpoint(&self) -> Option<Arc<Endpoint>> {
        self.endpoints.iter().find(|e| e.kind == EndpointKind::Envelopes).cloned()
    }

    /// Starts the pub/sub backend (e.g. connects to Redis).
    pub(crate) async fn start_pubsub(&self) -> Result<(), Error> {
        let context = self.app.sockets().backend_context();
        self.app.shared().pubsub.start(context).await.map_err(Error::PubSubStart)
    }

    /// Starts the background work a serving app needs (the idle sweeper);
    /// must run inside a tokio runtime.
    pub(crate) fn start_background(&self) {
        for endpoint in &self.endpoints {
            idle::spawn_sweeper(
                &endpoint.app.shared().connections,
                endpoint.index,
                endpoint.config.idle_timeout,
            );
        }
    }
}
