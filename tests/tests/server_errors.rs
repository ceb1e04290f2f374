//! Close 1011 (PROTOCOL.md): a failure that is not the client's fault and
//! after which the connection cannot go on. Here, a pub/sub backend (the
//! app's code) that panics while a connection is being opened: that
//! connection is closed with 1011, nothing of it is left behind, and the
//! server goes on serving.

use ori::{Ori, WebSocketConfig};
use ori_tests::LiveServer;
use ori_tests::plain_backend::PlainBackend;
use serde_json::json;

#[tokio::test]
async fn a_connection_whose_opening_fails_on_the_server_is_closed_with_1011() {
    let backend = PlainBackend::default();
    let server = LiveServer::start(
        Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).pubsub(backend.clone()),
    )
    .await;
    let mut healthy = server.connect().await;
    // Answered once it is open (its subscriptions made): only the next one fails.
    assert_eq!(healthy.request(json!({"type": "ping", "correlationId": "o"})).await["type"], "pong");
    backend.fail_next_subscribe();
    let mut unlucky = server.connect().await;
    assert_eq!(unlucky.expect_close().await, (1011, "internal error".to_owned()));
    assert_eq!(server.app.sockets().connection_count(), 1, "nothing of it is left");
    let pong = healthy.request(json!({"type": "ping", "correlationId": "p"})).await;
    assert_eq!(pong["type"], "pong");
    let mut next = server.connect().await;
    assert_eq!(next.request(json!({"type": "ping", "correlationId": "q"})).await["type"], "pong");
}
