//! Everything that runs around a connection rather than for one of its
//! messages: connection and message guards ([`guard`]), the upgrade handler
//! ([`upgrade`]), the topic authorizer ([`authorizer`]), the lifecycle
//! handlers ([`lifecycle`]: `on_open`, `on_message`, `on_raw_message`,
//! `on_close`), and [`ConnectionHooks`], the set of them each endpoint has,
//! with how they run at connect time and the builder methods that set them
//! ([`connection_hook_setters`]).

pub(crate) mod authorizer;
pub(crate) mod guard;
pub(crate) mod guard_scope;
pub(crate) mod lifecycle;
pub(crate) mod upgrade;

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

pub use authorizer::TopicAuthorizer;
pub use guard::{ConnectionGuard, MessageGuard, Reject};
pub use guard_scope::GuardScope;
pub use lifecycle::{CloseInfo, UnroutedMessage};
pub use upgrade::{IntoUpgradeOutcome, UpgradeRequest};

use crate::connection::state::{AnyState, GuardScopeBit, StateKey, StateMap};
use crate::util::panic::{Unfinished, supervised};
use guard::{Admitted, ErasedConnectionGuard};
use lifecycle::Lifecycle;
use upgrade::ErasedUpgradeHandler;

/// What runs around an endpoint's connections besides its routes: the
/// connection guards, the upgrade handler, the lifecycle handlers. Each
/// endpoint builder ([`Ori`](crate::Ori), [`RawWebSocket`](crate::RawWebSocket))
/// collects one with the setters of [`connection_hook_setters`].
#[derive(Default)]
pub(crate) struct ConnectionHooks {
    /// Guards every connection must pass, in order.
    pub(crate) guards: Vec<ErasedConnectionGuard>,
    /// Router-scoped guards (see [`GuardScope::Router`]); a guard's position
    /// is its [`GuardScopeBit`].
    pub(crate) router_guards: Vec<ErasedConnectionGuard>,
    pub(crate) upgrade: Option<ErasedUpgradeHandler>,
    pub(crate) lifecycle: Lifecycle,
}

impl ConnectionHooks {
    /// Runs the connection guards in order, each within `timeout`, then the
    /// router-scoped ones: the connection's states (with the upgrade
    /// handler's `upgrade_data`) and the router-scoped refusals, or the close
    /// reason of the first connection guard that refused.
    pub(crate) fn check_connection<'a>(
        &'a self,
        request: &'a UpgradeRequest,
        upgrade_data: Option<AnyState>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<StateMap, String>> {
        async move {
            let mut states = StateMap::default();
            if let Some(data) = upgrade_data {
                states.insert(data);
            }
            self.run_guards(request, timeout, &mut states).await?;
            Ok(states)
        }
        .boxed()
    }

    /// Runs every guard on `request` into `states`: each state produced
    /// replaces the one of its type; a router-scoped guard's refusal is
    /// recorded (and its state removed); a connection guard's refusal is the
    /// error, its reason the close reason.
    pub(crate) async fn run_guards(
        &self,
        request: &UpgradeRequest,
        timeout: Duration,
        states: &mut StateMap,
    ) -> Result<(), String> {
        for guard in &self.guards {
            let (state, expires_at) = run_guard(guard, request, timeout).await?;
            states.insert(state);
            states.expire_at(expires_at);
        }
        for (position, guard) in self.router_guards.iter().enumerate() {
            let scope = GuardScopeBit(position as u8);
            match run_guard(guard, request, timeout).await {
                Ok((state, expires_at)) => {
                    states.admit(scope);
                    states.insert(state);
                    states.expire_at(expires_at);
                }
                Err(reason) => {
                    if let Some(state) = guard.state {
                        states.remove(state.id);
                    }
                    states.refuse(scope, reason);
                }
            }
        }
        Ok(())
    }

    /// The state types the guards of either scope produce (a
    /// re-authentication replaces these).
    pub(crate) fn guard_states(&self) -> impl Iterator<Item = std::any::TypeId> + '_ {
        self.guards.iter().chain(&self.router_guards).filter_map(|g| g.state).map(|s| s.id)
    }

    /// The connection states the guards and the upgrade handler produce.
    pub(crate) fn produced_states(&self) -> impl Iterator<Item = StateKey> + '_ {
        let upgrade = self.upgrade.as_ref().and_then(|u| u.state);
        self.guards.iter().filter_map(|g| g.state).chain(upgrade)
    }
}

/// Runs one guard within `timeout`: its state, or the reason it refused. A
/// guard that fails, panics or times out refuses with a generic reason; the
/// cause is logged.
async fn run_guard(
    guard: &ErasedConnectionGuard,
    request: &UpgradeRequest,
    timeout: Duration,
) -> Result<Admitted, String> {
    match supervised(guard.check(request.clone()), timeout).await {
        Ok(Ok(admitted)) => Ok(admitted),
        Ok(Err(reject)) => {
            match reject.source() {
                Some(error) => tracing::error!(guard = guard.name, %error, "connection guard failed"),
                None => tracing::debug!(guard = guard.name, reason = reject.reason(), "connection refused"),
            }
            Err(reject.reason().to_owned())
        }
        Err(Unfinished::Panicked(panic)) => {
            tracing::error!(guard = guard.name, panic, "connection guard panicked");
            Err("guard failed".to_owned())
        }
        Err(Unfinished::TimedOut) => {
            tracing::error!(guard = guard.name, ?timeout, "connection guard timed out");
            Err("guard timed out".to_owned())
        }
    }
}

impl std::fmt::Debug for ConnectionHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionHooks").field("guards", &self.guards).finish_non_exhaustive()
    }
}

/// The builder methods that set an endpoint's [`ConnectionHooks`], written
/// once for every endpoint builder (each has a field `hooks`):
/// `connection_guard`, `upgrade_handler`, `on_open`, `on_close`, and the
/// raw message handler under the name and docs given. `$builder` is an
/// expression making the builder, for the examples.
macro_rules! connection_hook_setters {
    ($builder:literal, $(#[$raw_doc:meta])* fn $raw:ident) => {
        $(#[$raw_doc])*
        pub fn $raw<S, F, Fut, R>(mut self, handler: F) -> Self
        where
            S: Send + Sync + 'static,
            F: Fn($crate::handles::SocketContext<S>, $crate::protocol::RawMessage) -> Fut + Send + Sync + 'static,
            Fut: ::std::future::Future<Output = R> + Send + 'static,
            R: $crate::protocol::IntoRawReply + 'static,
        {
            self.hooks.lifecycle.set_raw(handler);
            self
        }

        /// Adds a connection guard; guards run once per connection, in the
        /// order added, and each one's `State` becomes available to handlers
        /// (`SocketContext<State>`). A refusal closes the connection with 1008.
        pub fn connection_guard<G: $crate::hooks::ConnectionGuard>(mut self, guard: G) -> Self {
            let guard = $crate::hooks::guard::ErasedConnectionGuard::new(::std::sync::Arc::new(guard));
            self.hooks.guards.push(guard);
            self
        }

        /// Sets the upgrade handler: it sees the HTTP request before any
        /// WebSocket is opened. `None` answers HTTP 401; an `Err`, a panic or
        /// the [upgrade timeout](crate::WebSocketConfig::upgrade_timeout)
        /// answers 500. `Some(data)` attaches `data` to the connection
        /// (`SocketContext<T>`).
        ///
        /// ```
        /// # use ori::*;
        /// #[derive(Clone)]
        /// struct Token(String);
        ///
        #[doc = concat!("let endpoint = ", $builder, ".upgrade_handler(|req: UpgradeRequest| async move {")]
        ///     req.query("token").filter(|t| !t.is_empty()).map(Token)
        /// });
        /// ```
        pub fn upgrade_handler<F, Fut>(mut self, handler: F) -> Self
        where
            F: Fn($crate::hooks::UpgradeRequest) -> Fut + Send + Sync + 'static,
            Fut: ::std::future::Future + Send + 'static,
            Fut::Output: $crate::hooks::IntoUpgradeOutcome,
        {
            self.hooks.upgrade = Some($crate::hooks::upgrade::ErasedUpgradeHandler::new(handler));
            self
        }

        /// Runs when a connection opens (after the guards, before any message).
        pub fn on_open<S, F, Fut>(mut self, handler: F) -> Self
        where
            S: Send + Sync + 'static,
            F: Fn($crate::handles::SocketContext<S>) -> Fut + Send + Sync + 'static,
            Fut: ::std::future::Future<Output = ()> + Send + 'static,
        {
            self.hooks.lifecycle.set_open(handler);
            self
        }

        /// Runs once when a connection has closed (after its subscriptions
        /// are gone and its running handlers finished).
        pub fn on_close<S, F, Fut>(mut self, handler: F) -> Self
        where
            S: Send + Sync + 'static,
            F: Fn($crate::handles::SocketContext<S>, $crate::hooks::CloseInfo) -> Fut + Send + Sync + 'static,
            Fut: ::std::future::Future<Output = ()> + Send + 'static,
        {
            self.hooks.lifecycle.set_close(handler);
            self
        }
    };
}

pub(crate) use connection_hook_setters;
