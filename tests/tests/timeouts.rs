//! Route timeouts: `#[on("x", timeout = "..")]`, a router's `timeout` for its
//! other routes, and `SocketRoutes::timeout`. A route that takes longer is
//! answered `timeout`, its work is dropped, and the connection goes on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ori::prelude::*;
use ori_tests::LiveServer;
use serde_json::json;

/// How many stalled handlers were dropped.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

struct CountsItsDrop;

impl Drop for CountsItsDrop {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

async fn stall_forever() {
    let _counted = CountsItsDrop;
    std::future::pending::<()>().await;
}

#[injectable]
struct SlowRouter;

#[socket_router(timeout = "300ms")]
impl SlowRouter {
    /// Never finishes; its own timeout.
    #[on("slow.own", timeout = "100ms")]
    async fn own(&self) {
        stall_forever().await;
    }

    /// Never finishes; the router's timeout.
    #[on("slow.router")]
    async fn router(&self) {
        stall_forever().await;
    }

    /// Finishes at once.
    #[on("slow.quick")]
    async fn quick(&self) -> u32 {
        7
    }
}

async fn stall_by_hand(_ctx: SocketContext) {
    stall_forever().await;
}

fn app() -> Ori {
    Ori::create().websocket(WebSocketConfig::default()).socket_routes(
        SocketRoutes::named("Hand").route("slow.hand", stall_by_hand).timeout(Duration::from_millis(100)),
    )
}

#[tokio::test]
async fn a_route_past_its_timeout_is_answered_timeout_and_its_work_dropped() {
    let server = LiveServer::start(app()).await;
    let mut client = server.connect().await;
    for (message_type, limit) in [("slow.own", "100ms"), ("slow.router", "300ms"), ("slow.hand", "100ms")] {
        let dropped = DROPPED.load(Ordering::SeqCst);
        let started = Instant::now();
        let reply = client.request(json!({"type": message_type, "correlationId": message_type})).await;
        let waited = started.elapsed();
        assert_eq!(reply["error"]["code"], "timeout", "{reply}");
        assert_eq!(
            reply["error"]["message"],
            format!("`{message_type}` did not finish within {limit}; its work was dropped")
        );
        assert_eq!(reply["correlationId"], message_type);
        let limit_ms: u64 = limit.trim_end_matches("ms").parse().unwrap();
        assert!(waited >= Duration::from_millis(limit_ms), "{message_type} answered after {waited:?}");
        assert_eq!(
            DROPPED.load(Ordering::SeqCst),
            dropped + 1,
            "{message_type}: the stalled handler was dropped"
        );
    }
    // The connection goes on; a quick route under the router's timeout replies as usual.
    let quick = client.request(json!({"type": "slow.quick", "correlationId": "q"})).await;
    assert_eq!(quick["data"], 7);
}

#[test]
fn the_description_lists_the_timeout_error() {
    let description = app().describe();
    let errors = |message_type: &str| {
        description.routes.iter().find(|r| r.message_type == message_type).expect("described").errors.clone()
    };
    assert_eq!(errors("slow.own"), ["timeout", "internal"]);
    assert_eq!(errors("slow.quick"), ["timeout", "internal"]);
    assert_eq!(errors("slow.hand"), ["timeout", "internal"]);
}
