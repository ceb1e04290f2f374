//! The WebSocket endpoint as built at start-up ([`Endpoint`]: configuration,
//! routes, guards, hooks), what it does with one message ([`dispatch`]), and
//! the life of a connection on it ([`session`]). Transports call in here.

pub(crate) mod compression;
pub(crate) mod config;
pub(crate) mod dispatch;
pub(crate) mod session;

use std::sync::Arc;

use crate::AppContext;
use crate::connection::core::Limits;
use crate::hooks::authorizer::ErasedAuthorizer;
use crate::hooks::guard::ErasedConnectionGuard;
use crate::hooks::upgrade::ErasedUpgradeHandler;
use crate::routing::lifecycle::Lifecycle;
use crate::routing::table::RouteTable;
use crate::util::tracker::Tracker;
use config::WebSocketConfig;

/// What the messages of an endpoint are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointKind {
    /// ori's envelopes, routed by `type` (binary frames and non-envelopes go
    /// to the raw handler if there is one).
    Envelopes,
    /// Every message goes to the raw handler as is.
    Raw,
}

/// One WebSocket endpoint of a server, built once at start-up: configuration,
/// routes, handlers, guards; everything a connection needs.
pub(crate) struct Endpoint {
    pub(crate) kind: EndpointKind,
    /// Position among the server's endpoints (see `connection::core::Limits::endpoint`).
    pub(crate) index: u8,
    /// This endpoint's connections, counted against `max_connections`.
    pub(crate) live: Arc<Tracker>,
    /// The subprotocols it accepts: the codecs (envelope endpoints), then the app's own.
    pub(crate) subprotocols: Vec<Arc<str>>,
    pub(crate) config: WebSocketConfig,
    pub(crate) routes: RouteTable,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) guards: Vec<ErasedConnectionGuard>,
    pub(crate) upgrade: Option<ErasedUpgradeHandler>,
    pub(crate) authorizer: Option<ErasedAuthorizer>,
    pub(crate) app: AppContext,
}

impl Endpoint {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kind: EndpointKind,
        config: WebSocketConfig,
        routes: RouteTable,
        lifecycle: Lifecycle,
        guards: Vec<ErasedConnectionGuard>,
        upgrade: Option<ErasedUpgradeHandler>,
        authorizer: Option<ErasedAuthorizer>,
        app: &AppContext,
    ) -> Endpoint {
        let codecs = match kind {
            EndpointKind::Envelopes => crate::protocol::SUBPROTOCOLS,
            EndpointKind::Raw => &[],
        };
        let own = config.subprotocols.iter().map(String::as_str);
        let mut subprotocols: Vec<Arc<str>> = Vec::new();
        for name in codecs.iter().copied().chain(own) {
            if !subprotocols.iter().any(|s| **s == *name) {
                subprotocols.push(name.into());
            }
        }
        Endpoint {
            kind,
            index: 0,
            live: Arc::default(),
            subprotocols,
            config,
            routes,
            lifecycle,
            guards,
            upgrade,
            authorizer,
            app: app.clone(),
        }
    }

    /// What this endpoint allows each of its connections.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_subscriptions: self.config.max_subscriptions,
            outbound_queue_bytes: self.config.outbound_queue_bytes,
            endpoint: self.index,
        }
    }
}
