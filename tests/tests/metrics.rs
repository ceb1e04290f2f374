//! Metrics over real sockets: a scripted session, then a scrape of
//! `/metrics` (`Ori::metrics_route`) whose counters moved by exactly what
//! the session did; junk message types count under one `unknown` label; a
//! scrape during a flood answers. One test in its own binary: the exporter
//! is the process's `metrics` recorder, shared by every app in it.

use std::time::{Duration, Instant};

use ori::prelude::*;
use ori_tests::{LiveServer, WsClient, metric, scrape_metrics};
use serde_json::{Value, json};

#[injectable]
struct MetricsRouter;

#[socket_router]
impl MetricsRouter {
    #[on("m.echo")]
    async fn echo(&self, data: Value) -> Value {
        data
    }

    #[on("m.fail", errors = ["teapot"])]
    async fn fail(&self) -> Result<(), SocketError> {
        Err(SocketError::new("teapot", "I am a teapot"))
    }

    /// Fails with a code no route declares: counted as `other`.
    #[on("m.odd")]
    async fn odd(&self) -> Result<(), SocketError> {
        Err(SocketError::new("odd", "an undeclared code"))
    }

    /// Publishes `data` to `room`, except to the sender.
    #[on("m.publish")]
    async fn publish(&self, ctx: SocketContext, data: Value) -> Result<(), SocketError> {
        ctx.publish(
            "room",
            ori::Outbound::json("m.note", &data).map_err(|e| SocketError::bad_request(e.to_string()))?,
        )?;
        Ok(())
    }
}

#[tokio::test]
async fn a_scripted_session_moves_the_counters_by_exact_amounts() {
    let app = Ori::create()
        .only_socket_router::<MetricsRouter>()
        .websocket(WebSocketConfig::default())
        .metrics_route("/metrics");
    let server = LiveServer::start(app).await;
    let before = scrape_metrics(&server).await;
    assert_eq!(metric(&before, "ori_connections_opened_total"), 0.0, "{before}");

    let mut a = server.connect().await;
    let mut b = server.connect().await;
    a.subscribe("room").await;
    b.subscribe("room").await;
    for n in 0..3 {
        let reply = a.request(json!({"type": "m.echo", "data": n, "correlationId": "e"})).await;
        assert_eq!(reply["data"], n);
    }
    let fail = a.request(json!({"type": "m.fail", "correlationId": "f"})).await;
    assert_eq!(fail["error"]["code"], "teapot");
    let odd = a.request(json!({"type": "m.odd", "correlationId": "o"})).await;
    assert_eq!(odd["error"]["code"], "odd");
    for junk in ["nope.1", "nope.2"] {
        let reply = a.request(json!({"type": junk, "correlationId": "j"})).await;
        assert_eq!(reply["error"]["code"], "unknown_type");
    }
    assert_eq!(a.request(json!({"type": "ping", "correlationId": "p"})).await["type"], "pong");
    let published = b.request(json!({"type": "m.publish", "data": "hi", "correlationId": "b"})).await;
    assert_eq!(published["data"], Value::Null);
    assert_eq!(a.recv().await, json!({"type": "m.note", "data": "hi"}));
    a.close().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.app.sockets().connections().len() != 1 {
        assert!(Instant::now() < deadline, "the closed connection is gone within 5 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let after = scrape_metrics(&server).await;
    let moved = |series: &str| metric(&after, series) - metric(&before, series);
    let expected = [
        ("ori_connections_opened_total", 2.0),
        ("ori_connections_closed_total{code=\"1000\"}", 1.0),
        ("ori_connections", 1.0),
        ("ori_messages_received_total{type=\"m.echo\"}", 3.0),
        ("ori_messages_received_total{type=\"m.fail\"}", 1.0),
        ("ori_messages_received_total{type=\"m.odd\"}", 1.0),
        ("ori_messages_received_total{type=\"m.publish\"}", 1.0),
        ("ori_messages_received_total{type=\"subscribe\"}", 2.0),
        ("ori_messages_received_total{type=\"ping\"}", 1.0),
        ("ori_messages_received_total{type=\"unknown\"}", 2.0),
        ("ori_errors_total{code=\"teapot\"}", 1.0),
        ("ori_errors_total{code=\"other\"}", 1.0),
        ("ori_errors_total{code=\"unknown_type\"}", 2.0),
        // a: its subscribe, 3 echoes, fail, odd, 2 unknown, pong; b: its subscribe and its publish.
        ("ori_messages_sent_total{kind=\"reply\"}", 11.0),
        ("ori_messages_sent_total{kind=\"push\"}", 1.0),
        ("ori_publish_fanout_count", 1.0),
        ("ori_publish_fanout_sum", 1.0),
        ("ori_handler_duration_seconds_count{type=\"m.echo\"}", 3.0),
        ("ori_subscriptions", 1.0),
        ("ori_topics", 1.0),
        ("ori_outbound_queue_bytes", 0.0),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(series, amount)| moved(series) != *amount)
        .map(|(series, amount)| format!("{series}: moved {} (expected {amount})", moved(series)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}\n{after}");
    // The process's figures: what a leak shows in first.
    assert!(metric(&after, "ori_runtime_tasks") >= 1.0, "the open connection's task:\n{after}");
    assert!(metric(&after, "process_open_fds") >= 2.0, "the listener and the connection:\n{after}");
    assert!(metric(&after, "process_resident_memory_bytes") > f64::from(1u32 << 20), "{after}");
    let echo_bytes = r#"{"type":"m.echo","data":0,"correlationId":"e"}"#.len() as f64 * 3.0;
    assert_eq!(moved("ori_messages_received_bytes_total{type=\"m.echo\"}"), echo_bytes);
    let note = r#"{"type":"m.note","data":"hi"}"#.len() as f64;
    assert_eq!(moved("ori_messages_sent_bytes_total{kind=\"push\"}"), note);
    assert!(!after.contains("nope"), "junk types are one `unknown` series, never their own:\n{after}");
    assert!(!after.contains("room"), "no topic labels:\n{after}");
    assert!(after.contains("# HELP ori_publish_fanout connections of this instance one publish reached"));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut described = std::collections::BTreeSet::new();
    for line in after.lines().filter_map(|l| l.strip_prefix("# HELP ")) {
        let name = line.split(' ').next().unwrap();
        assert!(described.insert(name), "`{name}` is described twice, which Prometheus refuses:\n{after}");
        assert!(readme.contains(&format!("| `{name}")), "README's metric table lacks `{name}`");
    }
    assert!(described.contains("ori_handler_duration_seconds"), "{after}");

    // A flood from one connection: the scrape still answers, at once.
    let mut flooder = WsClient::connect(&server.url()).await;
    let flood = tokio::spawn(async move {
        for n in 0..5_000 {
            flooder.send(json!({"type": "m.echo", "data": n})).await;
        }
        flooder
    });
    let started = Instant::now();
    let during = scrape_metrics(&server).await;
    assert!(started.elapsed() < Duration::from_secs(2), "scraped in {:?}", started.elapsed());
    assert!(metric(&during, "ori_messages_received_total{type=\"m.echo\"}") >= 3.0);
    let _flooder = flood.await.unwrap();
}
