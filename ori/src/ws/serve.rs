//! The task of one accepted WebSocket: open it through the endpoint's
//! lifetime (guards, `on_open`), drive it until it ends, then close it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use hyper::upgrade::OnUpgrade;
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

/// The task of one accepted WebSocket, from the upgrade to its end.
///
/// Written by hand rather than as an `async` block, which would keep room
/// for what it captured and for the temporaries of every step for the
/// connection's whole life: this holds one stage at a time, so an open
/// connection's task is its [`Driver`] and a tag (an idle connection is
/// mostly its task). What runs once (upgrading and opening, closing) is boxed.
pub(crate) struct ConnectionTask(Stage);

#[allow(clippy::large_enum_variant, reason = "the driver inline is the point: one allocation per connection")]
enum Stage {
    /// Waiting for hyper's upgrade, then opening (guards, `on_open`); it
    /// ends in the next stage.
    Opening(BoxFuture<'static, Stage>),
    /// Open, on ori's own TCP stream.
    Open(Driver<TcpTransport>),
    /// What is left: the closing handshake and `on_close`; or, on another
    /// transport (TLS, a server other than ori's), the whole connection.
    Boxed(BoxFuture<'static, ()>),
    /// Over (or refused, after the close frame saying why).
    Done,
}

impl ConnectionTask {
    pub(crate) fn new(on_upgrade: OnUpgrade, accepted: Accepted, endpoint: Arc<Endpoint>) -> ConnectionTask {
        ConnectionTask(Stage::Opening(Box::pin(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(error) => {
                    tracing::debug!(%error, "upgrade failed");
                    return Stage::Done;
                }
            };
            match upgraded.downcast::<TokioIo<TcpStream>>() {
                Ok(parts) => {
                    let io = TcpTransport::new(parts.io.into_inner());
                    open(io, parts.read_buf, accepted, endpoint).await.map_or(Stage::Done, Stage::Open)
                }
                Err(upgraded) => {
                    Stage::Boxed(serve(TokioIo::new(upgraded), Bytes::new(), accepted, endpoint).boxed())
                }
            }
        })))
    }
}

impl Future for ConnectionTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let stage = &mut self.0;
        loop {
            match stage {
                Stage::Opening(opening) => *stage = ready!(opening.as_mut().poll(cx)),
                Stage::Open(driver) => {
                    let end = ready!(driver.poll_open(cx));
                    if let Stage::Open(driver) = std::mem::replace(stage, Stage::Done) {
                        *stage = Stage::Boxed(driver.finish(end));
                    }
                }
                Stage::Boxed(rest) => {
                    ready!(rest.as_mut().poll(cx));
                    *stage = Stage::Done;
                }
                Stage::Done => return Poll::Ready(()),
            }
        }
    }
}

/// Serves one upgraded connection on another transport than ori's own TCP
/// stream to its end (boxed by [`ConnectionTask`]).
async fn serve<IO>(io: IO, read_ahead: Bytes, accepted: Accepted, endpoint: Arc<Endpoint>)
where
    IO: Transport,
{
    let Some(mut driver) = open(io, read_ahead, accepted, endpoint).await else { return };
    let end = std::future::poll_fn(|cx| driver.poll_open(cx)).await;
    driver.finish(end).await;
}

/// Opens the connection ([`lifetime::open`]); `None` when it was refused, after
/// the close frame saying why.
/// Not boxed: it runs inside a boxed future ([`ConnectionTask`]'s opening, or
/// [`serve`]).
async fn open<IO>(
    io: IO,
    read_ahead: Bytes,
    accepted: Accepted,
    endpoint: Arc<Endpoint>,
) -> Option<Driver<IO>>
where
    IO: Transport,
{
    let Accepted { id, request, upgrade_data, admission, negotiated } = accepted;
    let config = &endpoint.config;
    let mut frames = MessageIo::new(io, &read_ahead, config.max_message_size);
    drop(read_ahead);
    if negotiated.as_ref().is_some_and(|n| n.encoding.deflate.is_some()) {
        frames.inflate_messages();
    }
    // Opening runs the app's code (guards, `on_open`, the pub/sub
    // backend's `subscribe`): a panic there is not the client's fault,
    // and the connection cannot go on: close 1011.
    let opened = AssertUnwindSafe(lifetime::open(endpoint.clone(), id, request, upgrade_data, negotiated))
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
