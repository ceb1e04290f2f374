//! The benchmark server (`cargo run -p ori-examples --example bench_server`),
//! served as it ships, against PROTOCOL.md's "Benchmark messages".

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/bench_server/app.rs"]
mod bench;

use ori::WebSocketConfig;
use ori_tests::{ConnectError, LiveServer, WsClient};
use serde_json::json;

async fn server() -> LiveServer {
    LiveServer::start(bench::app(WebSocketConfig::default())).await
}

#[tokio::test]
async fn the_upgrade_needs_a_non_empty_token() {
    let server = server().await;
    for query in ["", "?token="] {
        match WsClient::try_connect(&format!("{}{query}", server.url())).await {
            Err(ConnectError::Status(401)) => {}
            other => panic!("{query:?}: expected HTTP 401, got {other:?}"),
        }
    }
    let mut c = WsClient::connect(&format!("{}?token=bench", server.url())).await;
    let pong = c.request(json!({"type": "ping", "correlationId": "p"})).await;
    assert_eq!(pong["type"], "pong");
}

#[tokio::test]
async fn echo_returns_data_unchanged() {
    let server = server().await;
    let mut c = WsClient::connect(&format!("{}?token=bench", server.url())).await;
    let data = json!({"seq": 7, "p": "abc", "nested": [1, {"x": null}]});
    let reply = c.request(json!({"type": "bench.echo", "data": data, "correlationId": "e"})).await;
    assert_eq!(reply, json!({"type": "bench.echo", "data": data, "correlationId": "e"}));
}

#[tokio::test]
async fn publish_reaches_other_subscribers_not_the_sender_and_checks_the_topic() {
    let server = server().await;
    let url = format!("{}?token=bench", server.url());
    let (mut sender, mut other) = (WsClient::connect(&url).await, WsClient::connect(&url).await);
    sender.subscribe("t1").await;
    other.subscribe("t1").await;

    let payload = json!({"seq": 1, "ts": 2, "p": "xyz"});
    let ack = sender
        .request(json!({"type": "bench.publish", "data": {"topic": "t1", "payload": payload}, "correlationId": "1"}))
        .await;
    assert_eq!(ack, json!({"type": "bench.publish", "data": null, "correlationId": "1"}));
    assert_eq!(other.recv().await, json!({"type": "bench.message", "data": payload}));
    sender.assert_silent().await;

    let invalid = sender
        .request(
            json!({"type": "bench.publish", "data": {"topic": "a b", "payload": 1}, "correlationId": "2"}),
        )
        .await;
    assert_eq!(invalid["error"]["code"], "bad_request", "{invalid}");
    let reserved = sender
        .request(json!({"type": "bench.publish", "data": {"topic": "__broadcast__", "payload": 1}, "correlationId": "3"}))
        .await;
    assert_eq!(reserved["error"]["code"], "forbidden", "{reserved}");
    other.assert_silent().await;
}
