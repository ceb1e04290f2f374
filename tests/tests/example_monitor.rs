//! The monitor example (`cargo run -p ori-examples --example monitor`): an
//! HTTP route publishes typed `monitor.statusChanged` to `monitor:{id}`.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/monitor/app.rs"]
mod monitor;

use ori_tests::{LiveServer, http};
use serde_json::{Value, json};

#[tokio::test]
async fn http_reports_reach_the_subscribers_of_that_monitor() {
    let server = LiveServer::start(monitor::app()).await;
    let (mut watcher, mut other) = (server.connect().await, server.connect().await);
    watcher.subscribe("monitor:7").await;
    other.subscribe("monitor:8").await;
    assert_eq!(watcher.request(json!({"type": "monitor.get", "data": {"id": 7}})).await["data"], Value::Null);

    let json_header = [("content-type", "application/json")];
    let response = http(server.addr, "PUT", "/monitors/7/status", &json_header, r#"{"status":"down"}"#).await;
    assert_eq!(response.status, 200);
    let pushed = watcher.recv().await;
    assert_eq!(pushed["type"], "monitor.statusChanged");
    assert_eq!((pushed["data"]["id"].clone(), pushed["data"]["status"].clone()), (json!(7), json!("down")));
    assert!(pushed.get("correlationId").is_none());
    other.assert_silent().await;

    // The same status again is not a change: no push.
    http(server.addr, "PUT", "/monitors/7/status", &json_header, r#"{"status":"down"}"#).await;
    watcher.assert_silent().await;

    let current =
        watcher.request(json!({"type": "monitor.get", "data": {"id": 7}, "correlationId": "g"})).await;
    assert_eq!(current["data"]["status"], "down");
    let http_current = http(server.addr, "GET", "/monitors/7", &[], "").await;
    assert_eq!(serde_json::from_str::<Value>(&http_current.body).unwrap()["status"], "down");
    assert_eq!(http(server.addr, "GET", "/monitors/99", &[], "").await.status, 404);
    let invalid =
        http(server.addr, "PUT", "/monitors/7/status", &json_header, r#"{"status":"purple"}"#).await;
    assert_eq!(invalid.status, 422);
}

/// On NATS, a report made on one instance reaches a watcher on another
/// (`ORI_PUBSUB_URL=nats://... --example monitor`, twice).
#[tokio::test]
async fn a_report_on_one_instance_reaches_a_watcher_on_another_over_nats() {
    let Some(nats) = ori_tests::nats_server::NatsServer::start() else { return };
    let app = || monitor::app().pubsub(ori::pubsub::NatsBackend::new(nats.url()));
    let (one, two) = (LiveServer::start(app()).await, LiveServer::start(app()).await);
    let mut watcher = two.connect().await;
    watcher.subscribe("monitor:7").await;

    let json_header = [("content-type", "application/json")];
    let response = http(one.addr, "PUT", "/monitors/7/status", &json_header, r#"{"status":"down"}"#).await;
    assert_eq!(response.status, 200);
    let pushed = watcher.recv().await;
    assert_eq!(
        (pushed["type"].clone(), pushed["data"]["status"].clone()),
        (json!("monitor.statusChanged"), json!("down"))
    );
}
