//! [`Runtime`]: everything a connection needs, built once at start-up.

use crate::authorizer::ErasedAuthorizer;
use crate::guard::ErasedConnectionGuard;
use crate::lifecycle::Lifecycle;
use crate::routing::table::RouteTable;
use crate::upgrade::ErasedUpgradeHandler;
use crate::{AppContext, WebSocketConfig};

/// The WebSocket side of a server: configuration, routes, handlers, guards.
pub(crate) struct Runtime {
    pub(crate) config: WebSocketConfig,
    pub(crate) routes: RouteTable,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) guards: Vec<ErasedConnectionGuard>,
    pub(crate) upgrade: Option<ErasedUpgradeHandler>,
    pub(crate) authorizer: Option<ErasedAuthorizer>,
    pub(crate) app: AppContext,
}
