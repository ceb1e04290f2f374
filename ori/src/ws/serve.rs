//! The task of one accepted WebSocket: open it through the endpoint's
//! lifetime (guards, `on_open`), drive it until it ends, then close it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::driver::Driver;
use super::message_io::MessageIo;
use super::transport::{TcpTransport, Transport};
use crate::connection::admission::Admission;
use crate::connection::core::Negotiated;
use crate::connection::socket_id::SocketId;
use crate::connection::state::AnyState;
use crate::endpoint::lifetime::Refusal;
use crate::endpoint::{Endpoint, lifetime};
use crate::hooks::upgrade::UpgradeRequest;
use crate::telemetry;
use crate::util::panic::panic_message;

/// What the upgrade endpoint hands to the connection task.
pub(crate) struct Accepted {
    pub(crate) id: SocketId,
    pub(crate) request: UpgradeRequest,
    pub(crate) upgrade_data: Option<AnyState>,
    pub(crate) admission: Admission,
    /// What the upgrade agreed on (`None`: nothing, a plain JSON connection).
    pub(crate) negotiated: Option<Box<Negotiated>>,
}

/// Serves the connection `upgraded` became: the TCP stream of ori's own
/// server as a [`TcpTransport`]; anything else (TLS, another server) through
/// hyper's `Upgraded`, boxed so that it does not make every plain
/// connection's task as large as its own. A plain function, so that the
/// temporaries of telling them apart take no room in the task.
pub(crate) fn serve_upgraded(
    upgraded: Upgraded,
    accepted: Box<Accepted>,
    endpoint: Arc<Endpoint>,
) -> Either<impl Future<Output = ()> + Send + 'static, BoxFuture<'static, ()>> {
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => {
            let io = TcpTransport::new(parts.io.into_inner());
            Either::Left(serve(io, parts.read_buf, accepted, endpoint))
        }
        Err(upgraded) => {
            Either::Right(serve(TokioIo::new(upgraded), Bytes::new(), accepted, endpoint).boxed())
        }
    }
}

/// Serves one upgraded connection to its end. While the connection is open,
/// the future holds one [`Driver`] and little else: the arguments go into the
/// boxed opening (as arguments of an `async fn` they would keep their room in
/// the connection's task for its whole life; an idle connection is mostly
/// that task).
fn serve<IO>(
    io: IO,
    read_ahead: Bytes,
    accepted: Box<Accepted>,
    endpoint: Arc<Endpoint>,
) -> impl Future<Output = ()> + Send + 'static
where
    IO: Transport,
{
    let opening = open(io, read_ahead, accepted, endpoint);
    async move {
        let Some(mut driver) = opening.await else { return };
        let end = std::future::poll_fn(|cx| driver.poll_open(cx)).await;
        driver.finish(end).await;
    }
}

/// Opens the connection ([`lifetime::open`]); `None` when it was refused, after
/// the close frame saying why.
fn open<IO>(
    io: IO,
    read_ahead: Bytes,
    accepted: Box<Accepted>,
    endpoint: Arc<Endpoint>,
) -> BoxFuture<'static, Option<Driver<IO>>>
where
    IO: Transport,
{
    async move {
        let Accepted { id, request, upgrade_data, admission, negotiated } = *accepted;
        let config = &endpoint.config;
        let mut frames = MessageIo::new(io, &read_ahead, config.max_message_size);
        drop(read_ahead);
        if negotiated.as_ref().is_some_and(|n| n.encoding.deflate.is_some()) {
            frames.inflate_messages();
        }
        // Opening runs the app's code (guards, `on_open`, the pub/sub
        // backend's `subscribe`): a panic there is not the client's fault,
        // and the connection cannot go on: close 1011.
        let opened =
            AssertUnwindSafe(lifetime::open(endpoint.clone(), id, request, upgrade_data, negotiated))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| {
                    tracing::error!(
                        panic = panic_message(&*panic),
                        "opening a connection panicked; closing it with 1011"
                    );
                    Err(Refusal { code: 1011, reason: "internal error".to_owned() })
                });
        match opened {
            Ok(socket) => {
                if let Some(telemetry) = telemetry::get() {
                    telemetry.opened();
                }
                Some(Driver::new(frames, socket, endpoint, admission))
            }
            Err(refusal) => {
                if let Some(telemetry) = telemetry::get() {
                    telemetry.closed(refusal.code, false);
                }
                frames.close(refusal.code, &refusal.reason, false, config.close_timeout).await;
                None
            }
        }
    }
    .boxed()
}
