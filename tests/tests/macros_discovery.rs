//! Discovery: `Ori::create().websocket(..)` mounts every `#[socket_router]`
//! and builds every `#[injectable]` in the binary, with no registration code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ori::prelude::*;
use ori_tests::LiveServer;
use serde_json::json;

#[injectable]
struct Counter {
    #[inject(default)]
    hits: AtomicUsize,
}

#[injectable]
struct MathRouter {
    counter: Arc<Counter>,
}

#[socket_router]
impl MathRouter {
    #[on("math.double")]
    async fn double(&self, n: i64) -> i64 {
        self.counter.hits.fetch_add(1, Ordering::SeqCst);
        n * 2
    }
}

#[injectable]
struct TextRouter {
    counter: Arc<Counter>,
}

#[socket_router]
impl TextRouter {
    #[on("text.upper")]
    async fn upper(&self, ctx: SocketContext, text: String) -> Result<String, SocketError> {
        self.counter.hits.fetch_add(1, Ordering::SeqCst);
        let _ = ctx.id();
        Ok(text.to_uppercase())
    }
}

/// Built because it is registered, though no router needs it.
#[injectable]
struct Settings;

#[tokio::test]
async fn every_router_and_provider_in_the_binary_is_mounted() {
    let server = LiveServer::start(Ori::create().websocket(WebSocketConfig::default())).await;
    let mut c = server.connect().await;
    assert_eq!(c.request(json!({"type": "math.double", "data": 21})).await["data"], 42);
    assert_eq!(c.request(json!({"type": "text.upper", "data": "hi"})).await["data"], "HI");
    // One `Counter`, shared by both routers.
    assert_eq!(server.app.get::<Counter>().unwrap().hits.load(Ordering::SeqCst), 2);
    assert!(server.app.get::<Settings>().is_some());
}

#[tokio::test]
async fn explicit_mode_mounts_only_the_named_router_and_what_it_needs() {
    let server = LiveServer::start(
        Ori::create().websocket(WebSocketConfig::default()).only_socket_router::<MathRouter>(),
    )
    .await;
    let mut c = server.connect().await;
    assert_eq!(c.request(json!({"type": "math.double", "data": 2})).await["data"], 4);
    assert_eq!(c.request(json!({"type": "text.upper", "data": "hi"})).await["error"]["code"], "unknown_type");
    assert!(server.app.get::<Counter>().is_some());
    assert!(server.app.get::<Settings>().is_none(), "unneeded providers are not built in explicit mode");
}

#[tokio::test]
async fn tests_can_override_an_injectable_provider() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .override_value(Counter { hits: AtomicUsize::new(100) });
    let server = LiveServer::start(app).await;
    let mut c = server.connect().await;
    c.request(json!({"type": "math.double", "data": 1})).await;
    assert_eq!(server.app.get::<Counter>().unwrap().hits.load(Ordering::SeqCst), 101);
}

#[tokio::test]
async fn a_router_without_a_websocket_endpoint_is_a_start_up_error() {
    let error = Ori::create().bind("127.0.0.1:0").await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("MathRouter") && message.contains("TextRouter"), "{message}");
    assert!(message.contains(".websocket(WebSocketConfig::default())"), "{message}");
}
