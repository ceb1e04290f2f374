//! The two apps compared by `benches/dispatch.rs` and
//! `examples/dispatch_count.rs`: one route, generated and hand-written (and
//! generated behind a pass-through layer).

use std::sync::Arc;

use futures_util::FutureExt;
use ori::prelude::*;
use ori::testing::Harness;
use serde::{Deserialize, Serialize};

/// The connection state the handler reads.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    /// The user.
    pub(crate) user: u64,
}

#[derive(Deserialize)]
struct Heartbeat {
    status: String,
    battery: u8,
}

#[derive(Serialize)]
struct Ack {
    user: u64,
    ok: bool,
}

#[injectable]
struct Counter;

impl Counter {
    fn check(&self, status: &str) -> bool {
        !status.is_empty()
    }
}

#[injectable]
struct Generated {
    counter: Arc<Counter>,
}

#[socket_router]
impl Generated {
    #[on("bench.heartbeat")]
    async fn heartbeat(&self, ctx: SocketContext<Auth>, data: Heartbeat) -> Result<Ack, SocketError> {
        Ok(Ack { user: ctx.state().user, ok: self.counter.check(&data.status) && data.battery > 0 })
    }
}

/// The state comes from each test connection; the upgrade handler only
/// declares who produces it (start-up checks that someone does).
fn app() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .upgrade_handler(|_req: UpgradeRequest| async { Some(Auth { user: 0 }) })
}

/// The route written with `#[socket_router]`.
pub(crate) fn generated() -> Harness {
    Harness::new(app().only_socket_router::<Generated>())
        .now_or_never()
        .expect("in-process providers start at once")
        .expect("builds")
}

/// The generated route behind one pass-through layer (what a layer costs).
pub(crate) fn layered() -> Harness {
    let pass_through = ori::layer::from_fn(|message, next| next.run(message));
    Harness::new(app().only_socket_router::<Generated>().layer(pass_through))
        .now_or_never()
        .expect("in-process providers start at once")
        .expect("builds")
}

/// The same route written by hand with `SocketRoutes`.
pub(crate) fn hand_written() -> Harness {
    let counter = Arc::new(Counter);
    let routes = SocketRoutes::named("HandWritten").route(
        "bench.heartbeat",
        move |ctx: SocketContext<Auth>, data: Heartbeat| {
            let counter = counter.clone();
            async move {
                Ok::<_, SocketError>(Ack {
                    user: ctx.state().user,
                    ok: counter.check(&data.status) && data.battery > 0,
                })
            }
        },
    );
    Harness::new(app().discover(false).socket_routes(routes))
        .now_or_never()
        .expect("in-process providers start at once")
        .expect("builds")
}

/// The message both dispatch.
pub(crate) const MESSAGE: &str = r#"{"type":"bench.heartbeat","data":{"status":"online","battery":80},"correlationId":"5f2b7c1e-0000-4000-8000-000000000001"}"#;
