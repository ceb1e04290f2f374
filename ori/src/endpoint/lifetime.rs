//! The life of one connection on an endpoint, written once for every way a
//! connection is made: opening (connection guards, register, join
//! `__broadcast__`, `on_open`) and leaving (every topic and the registry).
//! The WebSocket transport (`ws::serve`, `ws::driver`) and the in-process
//! [`Harness`](crate::testing::Harness) both go through it.
//!
//! Memory matters here: an idle connection is its task's future. Opening
//! runs once, so its future is boxed: allocated while it runs instead of
//! being laid out in the connection's future for its whole life.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::connection::core::{ConnectionCore, Negotiated, Origin, PresenceSets};
use crate::connection::socket_id::SocketId;
use crate::connection::state::{AnyState, StateMap};
use crate::endpoint::{Endpoint, reauth};
use crate::handles::socket::Socket;
use crate::hooks::lifecycle::run_hook;
use crate::hooks::upgrade::UpgradeRequest;
use crate::protocol::names::BROADCAST_TOPIC;
use crate::pubsub::{Subscribed, Subscriber};
use crate::util::sync::lock;

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
        let timeout = endpoint.config.guard_timeout;
        let states = endpoint
            .hooks
            .check_connection(&request, upgrade_data, timeout)
            .await
            .map_err(|reason| Refusal { code: 1008, reason })?;
        if endpoint.app.shared().admissions.is_shutting_down() {
            return Err(Refusal { code: 1001, reason: "server shutting down".to_owned() });
        }
        let (socket, subscribed) = attach(&endpoint, id, states, negotiated, request.remote_addr());
        // Should the backend's code panic from here on, the connection leaves again.
        let mut leave_on_panic = LeaveOnPanic(Some(socket.clone()));
        reauth::after_connect(&endpoint, &socket, &request);
        if let Err(error) = subscribed.await {
            tracing::warn!(%error, "could not subscribe the connection to the broadcast topic");
        }
        tracing::debug!("connection open");
        if let Some(open) = &endpoint.hooks.lifecycle.open {
            run_hook("on_open", || (open.call)(socket.clone())).await;
        }
        leave_on_panic.0 = None; // Opened: it stays.
        Ok(socket)
    }
    .boxed()
}

/// Detaches its connection when dropped while opening unwinds.
struct LeaveOnPanic(Option<Socket>);

impl Drop for LeaveOnPanic {
    fn drop(&mut self) {
        if let Some(socket) = self.0.take() {
            detach(&socket);
        }
    }
}

/// Registers a connection whose states are known (the guards ran, or a test
/// gave them) and starts its `__broadcast__` subscription; the future
/// resolves once the subscription is live on every instance.
pub(crate) fn attach(
    endpoint: &Endpoint,
    id: SocketId,
    states: StateMap,
    negotiated: Option<Box<Negotiated>>,
    remote_addr: Option<std::net::SocketAddr>,
) -> (Socket, Subscribed) {
    let origin = Origin {
        remote_addr,
        connected_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX)),
        endpoint_path: endpoint.path.clone(),
    };
    let core = Arc::new(ConnectionCore::new(id, states, endpoint.limits(), negotiated, origin));
    let shared = endpoint.app.shared();
    // Subscribed before it is registered: a backend that panics here leaves nothing behind.
    let subscribed = shared.pubsub.subscribe(BROADCAST_TOPIC, &Subscriber::new(core.clone()));
    shared.connections.register(&core);
    (Socket::new(core, endpoint.app.clone()), subscribed)
}

/// Untracks the connection's presence, then leaves every topic (the
/// server's `__broadcast__` included) and the registry: the connection
/// receives nothing more from pub/sub or direct sends. Idempotent.
pub(crate) fn detach(socket: &Socket) {
    let (core, shared) = (socket.core(), socket.app().shared());
    {
        let mut subs = lock(&core.subscriptions);
        if subs.closed {
            return;
        }
        subs.closed = true;
        let PresenceSets { tracked, watching } = subs.take_presence();
        for (topic, key) in tracked {
            shared.pubsub.untrack(&topic, &key, core.id);
        }
        for topic in watching {
            shared.pubsub.unwatch_presence(&topic, core.id);
        }
        for topic in subs.take_topics() {
            shared.pubsub.unsubscribe(&topic, core.id);
        }
    }
    shared.pubsub.unsubscribe(BROADCAST_TOPIC, core.id);
    shared.connections.deregister(&core.id);
    reauth::forget(socket);
}
