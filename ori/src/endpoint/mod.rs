//! The WebSocket endpoint as built at start-up ([`Endpoint`]: configuration,
//! routes, guards, hooks), what it does with one message ([`dispatch`]), and
//! the life of a connection on it ([`session`]). Transports call in here.

pub(crate) mod config;
pub(crate) mod dispatch;
pub(crate) mod session;

use crate::AppContext;
use crate::hooks::authorizer::ErasedAuthorizer;
use crate::hooks::guard::ErasedConnectionGuard;
use crate::hooks::upgrade::ErasedUpgradeHandler;
use crate::routing::lifecycle::Lifecycle;
use crate::routing::table::RouteTable;
use config::WebSocketConfig;

/// The WebSocket side of a server, built once at start-up: configuration,
/// routes, handlers, guards; everything a connection needs.
pub(crate) struct Endpoint {
    pub(crate) config: WebSocketConfig,
    pub(crate) routes: RouteTable,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) guards: Vec<ErasedConnectionGuard>,
    pub(crate) upgrade: Option<ErasedUpgradeHandler>,
    pub(crate) authorizer: Option<ErasedAuthorizer>,
    pub(crate) app: AppContext,
}
