//! Handlers that panic where no reply can say so (issue 27, "Handlers that
//! misbehave"): in `Drop`, when their future is dropped unfinished (its
//! route timed out, or its connection closed), and in a lifecycle handler.
//! (A panic in the future, in a layer, in a guard and in the upgrade handler
//! are in messages.rs, layers.rs, upgrade.rs.) The connection, the others
//! and the server's bookkeeping carry on.

use std::time::Duration;

use ori::{Ori, SocketContext, SocketRoutes, WebSocketConfig};
use ori_tests::LiveServer;
use serde_json::json;

/// Panics when dropped.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a handler's state panicked in Drop");
    }
}

/// Never finishes, holding a value that panics when dropped.
async fn stalls(_ctx: SocketContext) {
    let _held = PanicsOnDrop;
    std::future::pending::<()>().await;
}

async fn fine(_ctx: SocketContext) -> ori::Data<&'static str> {
    ori::Data("fine")
}

fn app() -> Ori {
    Ori::create().websocket(WebSocketConfig::default()).socket_routes(
        SocketRoutes::new().route("stalls", stalls).timeout(Duration::from_millis(100)).route("fine", fine),
    )
}

async fn wait_for_connections(server: &LiveServer, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.app.sockets().connection_count() != count {
        assert!(
            std::time::Instant::now() < deadline,
            "connection count stuck at {}",
            server.app.sockets().connection_count()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The timed-out future is dropped while its reply is made: the panic is the
/// handler's, answered `internal` as any other.
#[tokio::test]
async fn a_panic_in_drop_after_a_timeout_is_answered_internal_and_the_connection_goes_on() {
    let server = LiveServer::start(app()).await;
    let mut bystander = server.connect().await;
    let mut c = server.connect().await;
    let reply = c.request(json!({"type": "stalls", "correlationId": "s"})).await;
    assert_eq!(reply["error"]["code"], "internal", "{reply}");
    assert_eq!(c.request(json!({"type": "fine", "correlationId": "f"})).await["data"], "fine");
    assert_eq!(bystander.request(json!({"type": "fine"})).await["data"], "fine");
    c.close().await;
    wait_for_connections(&server, 1).await;
}

#[tokio::test]
async fn a_panic_in_drop_when_the_connection_closes_mid_handler_leaves_no_trace() {
    let server = LiveServer::start(app()).await;
    let mut bystander = server.connect().await;
    bystander.subscribe("room").await;
    for _ in 0..20 {
        let mut c = server.connect().await;
        c.subscribe("room").await;
        c.send(json!({"type": "stalls"})).await;
        c.close().await; // the handler's future is dropped with the connection
    }
    wait_for_connections(&server, 1).await;
    assert_eq!(server.app.sockets().subscriber_count("room"), 1, "the closed connections left the topic");
    server.app.sockets().publish("room", r#"{"type":"still","data":"here"}"#).unwrap();
    assert_eq!(bystander.recv().await, json!({"type": "still", "data": "here"}));
}
