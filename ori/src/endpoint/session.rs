//! The life of one connection, written once for every way a connection is
//! made: connection guards, opening (register, join `__broadcast__`, run
//! `on_open`), leaving (every topic and the registry), and lifecycle hooks.
//! The WebSocket transport (`ws::serve`, `ws::driver`) and the in-process
//! [`Harness`](crate::testing::Harness) both go through it.
//!
//! Memory matters here: an idle connection is its task's future. Phases
//! that run once (guards with their timers, lifecycle hooks) are boxed, so
//! their futures are allocated while they run instead of being laid out in
//! the future for the connection's whole life.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::Endpoint;
use super::dispatch::panic_message;
use crate::connection::core::{ConnectionCore, Negotiated};
use crate::connection::state::{AnyState, StateMap};
use crate::protocol::BROADCAST_TOPIC;
use crate::pubsub::{Subscribed, Subscriber};
use crate::util::sync::lock;
use crate::{Socket, SocketError, SocketId, UpgradeRequest};

/// Why a connection was not opened: the close frame to send.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) code: u16,
    pub(crate) reason: String,
}

/// Opens a connection accepted by a transport: runs the connection guards,
/// registers the connection and its `__broadcast__` subscription (waiting
/// until it is live), runs `on_open`. `Err` holds the close to send.
pub(crate) fn open(
    endpoint: Arc<Endpoint>,
    id: SocketId,
    request: UpgradeRequest,
    upgrade_data: Option<AnyState>,
    negotiated: Option<Box<Negotiated>>,
) -> BoxFuture<'static, Result<Socket, Refusal>> {
    async move {
        let states = run_guards(endpoint.clone(), request, upgrade_data)
            .await
            .map_err(|reason| Refusal { code: 1008, reason })?;
        if endpoint.app.shared().admissions.is_shutting_down() {
            return Err(Refusal { code: 1001, reason: "server shutting down".to_owned() });
        }
        let (socket, subscribed) = attach(&endpoint, id, states, negotiated);
        if let Err(error) = subscribed.await {
            tracing::warn!(%error, "could not subscribe the connection to the broadcast topic");
        }
        tracing::debug!("connection open");
        if let Some(open) = &endpoint.lifecycle.open {
            run_hook("on_open", || (open.call)(socket.clone())).await;
        }
        Ok(socket)
    }
    .boxed()
}

/// Registers a connection whose states are known (the guards ran, or a test
/// gave them) and starts its `__broadcast__` subscription; the future
/// resolves once the subscription is live on every instance.
pub(crate) fn attach(
    endpoint: &Endpoint,
    id: SocketId,
    states: StateMap,
    negotiated: Option<Box<Negotiated>>,
) -> (Socket, Subscribed) {
    let core = Arc::new(ConnectionCore::new(id, states, endpoint.limits(), negotiated));
    let shared = endpoint.app.shared();
    shared.connections.register(&core);
    let subscribed = shared.pubsub.subscribe(BROADCAST_TOPIC, &Subscriber::new(core.clone()));
    (Socket::new(core, endpoint.app.clone()), subscribed)
}

/// Leaves every topic (the server's `__broadcast__` included) and the
/// registry: the connection receives nothing more from pub/sub or direct
/// sends. Idempotent.
pub(crate) fn detach(socket: &Socket) {
    let (core, shared) = (socket.core(), socket.app().shared());
    {
        let mut subs = lock(&core.subscriptions);
        if subs.closed {
            return;
        }
        subs.closed = true;
        for topic in subs.topics.drain() {
            shared.pubsub.unsubscribe(&topic, core.id);
        }
    }
    shared.pubsub.unsubscribe(BROADCAST_TOPIC, core.id);
    shared.connections.deregister(&core.id);
}

/// Runs the connection guards in order; `Err` holds the close reason.
fn run_guards(
    endpoint: Arc<Endpoint>,
    request: UpgradeRequest,
    upgrade_data: Option<AnyState>,
) -> BoxFuture<'static, Result<StateMap, String>> {
    async move {
        let mut states = StateMap::default();
        if let Some(data) = upgrade_data {
            states.insert(data);
        }
        let timeout = endpoint.config.guard_timeout;
        for guard in &endpoint.guards {
            let checked = AssertUnwindSafe(guard.check(request.clone())).catch_unwind();
            match tokio::time::timeout(timeout, checked).await {
                Ok(Ok(Ok(state))) => states.insert(state),
                Ok(Ok(Err(reject))) => {
                    match reject.source() {
                        Some(error) => tracing::error!(guard = guard.name, %error, "connection guard failed"),
                        None => tracing::debug!(
                            guard = guard.name,
                            reason = reject.reason(),
                            "connection refused"
                        ),
                    }
                    return Err(reject.reason().to_owned());
                }
                Ok(Err(panic)) => {
                    tracing::error!(
                        guard = guard.name,
                        panic = panic_message(&*panic),
                        "connection guard panicked"
                    );
                    return Err("guard failed".to_owned());
                }
                Err(_) => {
                    tracing::error!(guard = guard.name, ?timeout, "connection guard timed out");
                    return Err("guard timed out".to_owned());
                }
            }
        }
        Ok(states)
    }
    .boxed()
}

/// Runs a lifecycle handler, logging failures and panics.
pub(crate) fn run_hook<F>(name: &'static str, start: F) -> BoxFuture<'static, ()>
where
    F: FnOnce() -> Result<BoxFuture<'static, ()>, SocketError>,
{
    let started = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(Ok(work)) => work,
        Ok(Err(error)) => {
            tracing::error!(handler = name, %error, "lifecycle handler failed");
            return std::future::ready(()).boxed();
        }
        Err(panic) => {
            tracing::error!(handler = name, panic = panic_message(&*panic), "lifecycle handler panicked");
            return std::future::ready(()).boxed();
        }
    };
    async move {
        if let Err(panic) = AssertUnwindSafe(started).catch_unwind().await {
            tracing::error!(handler = name, panic = panic_message(&*panic), "lifecycle handler panicked");
        }
    }
    .boxed()
}
