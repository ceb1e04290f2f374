//! The life of one accepted WebSocket: connection guards, `open`, the driver,
//! cleanup, `close`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite};

use super::driver::Driver;
use super::frame_io::FrameIo;
use crate::connection::ConnectionCore;
use crate::dispatch::panic_message;
use crate::hub::Admission;
use crate::protocol::BROADCAST_TOPIC;
use crate::runtime::Runtime;
use crate::state::{AnyState, StateMap};
use crate::{Socket, SocketId, Subscriber, UpgradeRequest};

/// What the upgrade endpoint hands to the connection task.
pub(crate) struct Accepted {
    pub(crate) id: SocketId,
    pub(crate) request: UpgradeRequest,
    pub(crate) upgrade_data: Option<AnyState>,
    pub(crate) admission: Admission,
}

/// Serves one upgraded connection to its end.
pub(crate) async fn serve<IO>(io: IO, read_ahead: Bytes, accepted: Accepted, runtime: Arc<Runtime>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Accepted { id, request, upgrade_data, admission: _admission } = accepted;
    let config = &runtime.config;
    let frames = FrameIo::new(io, read_ahead, config.max_message_size);

    let mut states = StateMap::default();
    if let Some(data) = upgrade_data {
        states.insert(data);
    }
    for guard in &runtime.guards {
        let checked = AssertUnwindSafe(guard.check(request.clone())).catch_unwind();
        let refusal = match tokio::time::timeout(config.guard_timeout, checked).await {
            Ok(Ok(Ok(state))) => {
                states.insert(state);
                continue;
            }
            Ok(Ok(Err(reject))) => {
                match reject.source() {
                    Some(error) => {
                        tracing::error!(guard = guard.name, %error, "connection guard failed")
                    }
                    None => {
                        tracing::debug!(guard = guard.name, reason = reject.reason(), "connection refused")
                    }
                }
                reject.reason().to_owned()
            }
            Ok(Err(panic)) => {
                tracing::error!(
                    guard = guard.name,
                    panic = panic_message(&*panic),
                    "connection guard panicked"
                );
                "guard failed".to_owned()
            }
            Err(_) => {
                tracing::error!(guard = guard.name, timeout = ?config.guard_timeout, "connection guard timed out");
                "guard timed out".to_owned()
            }
        };
        frames.close(1008, &refusal, false, config.close_timeout).await;
        return;
    }
    drop(request);

    let hub = runtime.app.hub();
    if hub.is_shutting_down() {
        frames.close(1001, "server shutting down", false, config.close_timeout).await;
        return;
    }
    let core = Arc::new(ConnectionCore::new(id, states, runtime.app.clone()));
    let socket = Socket::new(core.clone());
    hub.register(&core);
    if let Err(error) = hub.provider.subscribe(BROADCAST_TOPIC, &Subscriber::new(core.clone())).await {
        tracing::warn!(%error, "could not subscribe the connection to the broadcast topic");
    }
    tracing::debug!("connection open");

    if let Some(open) = &runtime.lifecycle.open {
        run_hook("on_open", || (open.call)(socket.clone())).await;
    }

    let (info, session) = Driver::new(frames, socket.clone(), runtime.clone()).run().await;
    tracing::debug!(code = info.code, reason = %info.reason, "connection closed");
    session.finish_in_flight().await;

    if let Some(close) = &runtime.lifecycle.close {
        run_hook("on_close", || (close.call)(socket.clone(), info)).await;
    }
}

/// Runs a lifecycle handler, logging failures and panics.
async fn run_hook<F>(name: &'static str, start: F)
where
    F: FnOnce() -> Result<futures_util::future::BoxFuture<'static, ()>, crate::SocketError>,
{
    let started = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(Ok(work)) => work,
        Ok(Err(error)) => {
            return tracing::error!(handler = name, %error, "lifecycle handler failed");
        }
        Err(panic) => {
            return tracing::error!(
                handler = name,
                panic = panic_message(&*panic),
                "lifecycle handler panicked"
            );
        }
    };
    if let Err(panic) = AssertUnwindSafe(started).catch_unwind().await {
        tracing::error!(handler = name, panic = panic_message(&*panic), "lifecycle handler panicked");
    }
}
