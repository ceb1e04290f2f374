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

/// `bench.track` and `bench.untrack` (PROTOCOL.md's benchmark section), and
/// history on `hist:*`.
#[tokio::test]
async fn track_untrack_and_history_on_hist_topics() {
    let server = server().await;
    let url = format!("{}?token=bench", server.url());
    let (mut watcher, mut member) = (WsClient::connect(&url).await, WsClient::connect(&url).await);
    let ack = watcher
        .request(
            json!({"type": "subscribe", "data": {"topic": "hist:1", "presence": true}, "correlationId": "s"}),
        )
        .await;
    assert_eq!(ack["data"]["offset"], 0, "hist:* keeps history: {ack}");
    assert_eq!(watcher.recv().await["type"], "presence_state");

    let meta = json!({"device": "bench"});
    let reply = member
        .request(json!({"type": "bench.track", "data": {"topic": "hist:1", "key": "k1", "meta": meta}, "correlationId": "t"}))
        .await;
    assert_eq!(reply, json!({"type": "bench.track", "data": null, "correlationId": "t"}));
    let diff = watcher.recv().await;
    assert_eq!(diff["data"]["joins"], json!({"k1": [meta]}));
    let reply = member
        .request(
            json!({"type": "bench.untrack", "data": {"topic": "hist:1", "key": "k1"}, "correlationId": "u"}),
        )
        .await;
    assert_eq!(reply, json!({"type": "bench.untrack", "data": null, "correlationId": "u"}));
    assert_eq!(watcher.recv().await["data"]["leaves"], json!({"k1": [meta]}));

    member
        .request(
            json!({"type": "bench.publish", "data": {"topic": "hist:1", "payload": 5}, "correlationId": "p"}),
        )
        .await;
    assert_eq!(
        watcher.recv().await,
        json!({"type": "bench.message", "data": 5, "topic": "hist:1", "offset": 1})
    );
}

#[tokio::test]
async fn admin_echo_is_for_admin_tokens_only_and_the_rest_keeps_working() {
    let server = server().await;
    let mut admin = WsClient::connect(&format!("{}?token=admin-1", server.url())).await;
    let echoed = admin.request(json!({"type": "bench.admin.echo", "data": [1], "correlationId": "a"})).await;
    assert_eq!(echoed, json!({"type": "bench.admin.echo", "data": [1], "correlationId": "a"}));

    let mut guest = WsClient::connect(&format!("{}?token=guest", server.url())).await;
    let refused = guest.request(json!({"type": "bench.admin.echo", "data": [2], "correlationId": "g"})).await;
    assert_eq!(
        refused,
        json!({"type": "bench.admin.echo", "error": {"code": "forbidden", "message": "admin token required"}, "correlationId": "g"})
    );
    let echo = guest.request(json!({"type": "bench.echo", "data": 3, "correlationId": "e"})).await;
    assert_eq!(echo["data"], 3, "{echo}");
    guest.subscribe("t-admin").await;
    let publish =
        json!({"type": "bench.publish", "data": {"topic": "t-admin", "payload": 4}, "correlationId": "p"});
    assert_eq!(
        admin.request(json!({"type": "subscribe", "data": {"topic": "t-admin"}})).await["type"],
        "subscribe"
    );
    assert_eq!(admin.request(publish).await["data"], serde_json::Value::Null);
    assert_eq!(guest.recv().await, json!({"type": "bench.message", "data": 4}));
}
