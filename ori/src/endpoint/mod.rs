//! The WebSocket endpoint as built at start-up ([`Endpoint`]: configuration,
//! routes, hooks), what it does with one message ([`dispatch`], and the
//! built-in [`control`] messages), and the life of a connection on it
//! ([`lifetime`]). Transports call in here.

pub(crate) mod compression;
pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod dispatch;
pub(crate) mod lifetime;
pub(crate) mod rate_limit;
pub(crate) mod reauth;

use std::sync::Arc;

use axum::http::HeaderValue;

use crate::connection::core::Limits;
use crate::connection::per_ip::PerIp;
use crate::endpoint::config::WebSocketConfig;
use crate::handles::app_context::AppContext;
use crate::hooks::ConnectionHooks;
use crate::hooks::authorizer::ErasedAuthorizer;
use crate::protocol::codec::Codec;
use crate::routing::table::RouteTable;
use crate::util::tracker::Tracker;

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
    pub(crate) subprotocols: Vec<Subprotocol>,
    pub(crate) config: WebSocketConfig,
    pub(crate) routes: RouteTable,
    pub(crate) hooks: ConnectionHooks,
    pub(crate) authorizer: Option<ErasedAuthorizer>,
    pub(crate) app: AppContext,
    /// `config.path`, shared by every connection (introspection).
    pub(crate) path: Arc<str>,
    /// The per-address limits, when configured.
    pub(crate) per_ip: Option<Arc<PerIp>>,
}

/// A subprotocol an endpoint accepts, with what choosing it means, worked
/// out once at start-up rather than at every upgrade.
#[derive(Debug, Clone)]
pub(crate) struct Subprotocol {
    pub(crate) name: Arc<str>,
    /// The 101's `Sec-WebSocket-Protocol` value.
    pub(crate) header: HeaderValue,
    /// The codec of the connection's envelopes.
    pub(crate) codec: Codec,
}

impl AsRef<str> for Subprotocol {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl Endpoint {
    /// The endpoint at position `index` among the server's endpoints.
    /// Subprotocol names are valid header values (`WebSocketConfig::validate`).
    pub(crate) fn new(
        index: u8,
        kind: EndpointKind,
        config: WebSocketConfig,
        routes: RouteTable,
        hooks: ConnectionHooks,
        authorizer: Option<ErasedAuthorizer>,
        app: &AppContext,
    ) -> Endpoint {
        let codecs = match kind {
            EndpointKind::Envelopes => crate::protocol::SUBPROTOCOLS,
            EndpointKind::Raw => &[],
        };
        let own = config.subprotocols.iter().map(String::as_str);
        let mut subprotocols: Vec<Subprotocol> = Vec::new();
        for name in codecs.iter().copied().chain(own) {
            if subprotocols.iter().any(|s| &*s.name == name) {
                continue;
            }
            let codec = match kind {
                EndpointKind::Envelopes => Codec::from_subprotocol(name).unwrap_or_default(),
                EndpointKind::Raw => Codec::Json,
            };
            let header = HeaderValue::from_str(name).expect("validated subprotocol names are header values");
            subprotocols.push(Subprotocol { name: name.into(), header, codec });
        }
        let limited = config.max_connections_per_ip.is_some() || config.connection_rate_per_ip.is_some();
        Endpoint {
            per_ip: limited
                .then(|| Arc::new(PerIp::new(config.max_connections_per_ip, config.connection_rate_per_ip))),
            path: config.path.as_str().into(),
            kind,
            index,
            live: Arc::default(),
            subprotocols,
            config,
            routes,
            hooks,
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
