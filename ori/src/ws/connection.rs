//! The life of one accepted WebSocket: connection guards, `open`, the driver,
//! cleanup, `close`.
//!
//! Memory matters here: an idle connection is this task's future. Phases
//! that run once (guards with their timers, the closing handshake, lifecycle
//! hooks) are boxed, so their futures are allocated while they run instead of
//! being laid out in the future for the connection's whole life.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::driver::Driver;
use super::frame_io::FrameIo;
use super::transport::Transport;
use crate::connection::ConnectionCore;
use crate::dispatch::panic_message;
use crate::hub::Admission;
use crate::protocol::BROADCAST_TOPIC;
use crate::runtime::Runtime;
use crate::state::{AnyState, StateMap};
use crate::{Socket, SocketError, SocketId, Subscriber, UpgradeRequest};

/// What the upgrade endpoint hands to the connection task.
pub(crate) struct Accepted {
    pub(crate) id: SocketId,
    pub(crate) request: UpgradeRequest,
    pub(crate) upgrade_data: Option<AnyState>,
    pub(crate) admission: Admission,
}

/// Serves one upgraded connection to its end. While the connection is open,
/// this future holds one [`Driver`] and nothing else.
pub(crate) async fn serve<IO>(io: IO, read_ahead: Bytes, accepted: Accepted, runtime: Arc<Runtime>)
where
    IO: Transport,
{
    let Some(mut driver) = open(io, read_ahead, accepted, runtime).await else { return };
    let end = std::future::poll_fn(|cx| driver.poll_open(cx)).await;
    driver.finish(end).await;
}

/// Runs the guards, registers the connection and its `__broadcast__`
/// subscription, runs `on_open`; `None` when the connection was refused.
fn open<IO>(
    io: IO,
    read_ahead: Bytes,
    accepted: Accepted,
    runtime: Arc<Runtime>,
) -> BoxFuture<'static, Option<Driver<IO>>>
where
    IO: Transport,
{
    async move {
        let Accepted { id, request, upgrade_data, admission } = accepted;
        let config = &runtime.config;
        let frames = FrameIo::new(io, &read_ahead, config.max_message_size);
        drop(read_ahead);
        let states = match run_guards(runtime.clone(), request, upgrade_data).await {
            Ok(states) => states,
            Err(refusal) => {
                frames.close(1008, &refusal, false, config.close_timeout).await;
                return None;
            }
        };
        let hub = runtime.app.hub();
        if hub.is_shutting_down() {
            frames.close(1001, "server shutting down", false, config.close_timeout).await;
            return None;
        }
        let core = Arc::new(ConnectionCore::new(id, states, runtime.app.clone()));
        let socket = Socket::new(core.clone());
        hub.register(&core);
        if let Err(error) = hub.provider.subscribe(BROADCAST_TOPIC, &Subscriber::new(core)).await {
            tracing::warn!(%error, "could not subscribe the connection to the broadcast topic");
        }
        tracing::debug!("connection open");
        if let Some(open) = &runtime.lifecycle.open {
            run_hook("on_open", || (open.call)(socket.clone())).await;
        }
        Some(Driver::new(frames, socket, runtime, admission))
    }
    .boxed()
}

/// Runs the connection guards in order; `Err` holds the close reason.
fn run_guards(
    runtime: Arc<Runtime>,
    request: UpgradeRequest,
    upgrade_data: Option<AnyState>,
) -> BoxFuture<'static, Result<StateMap, String>> {
    async move {
        let mut states = StateMap::default();
        if let Some(data) = upgrade_data {
            states.insert(data);
        }
        let timeout = runtime.config.guard_timeout;
        for guard in &runtime.guards {
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
pub(super) fn run_hook<F>(name: &'static str, start: F) -> BoxFuture<'static, ()>
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
