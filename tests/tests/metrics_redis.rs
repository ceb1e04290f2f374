//! The backend's figures on `/metrics` with a real Redis that goes away and
//! comes back: `ori_backend_connected`, published, received, reconnects and
//! outage time. Its own test binary: the Prometheus exporter is the
//! process's `metrics` recorder.

use std::time::{Duration, Instant};

use ori::pubsub::RedisBackend;
use ori::{Ori, WebSocketConfig};
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, metric, scrape_metrics};

/// Scrapes until `series` satisfies `ok` (within 10 s).
async fn until(server: &LiveServer, series: &str, ok: impl Fn(f64) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape_metrics(server).await;
        if ok(metric(&text, series)) {
            return text;
        }
        assert!(Instant::now() < deadline, "{series} never right:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_backend_figures_follow_a_redis_outage() {
    let Some(mut redis) = RedisServer::start() else { return };
    let backend = |redis: &RedisServer| {
        RedisBackend::builder(redis.url())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(100))
            .build()
    };
    let app = |backend: RedisBackend| {
        Ori::create()
            .allow_no_routers()
            .websocket(WebSocketConfig::default())
            .pubsub(backend)
            .metrics_route("/metrics")
    };
    let server = LiveServer::start(app(backend(&redis))).await;
    let other = LiveServer::start(app(backend(&redis))).await;
    // `server`'s scrapes sample `server`'s backend.
    let (mut here, mut there) = (server.connect().await, other.connect().await);
    here.subscribe("t").await;
    there.subscribe("t").await;
    let before = until(&server, "ori_backend_connected", |v| v == 1.0).await;
    let (published, received) =
        (metric(&before, "ori_backend_published_total"), metric(&before, "ori_backend_received_total"));
    server.app.sockets().publish("t", r#"{"type":"x","data":1}"#).unwrap();
    assert_eq!(there.recv().await["data"], 1);
    other.app.sockets().publish("t", r#"{"type":"x","data":2}"#).unwrap();
    assert_eq!(here.recv().await["data"], 1);
    assert_eq!(here.recv().await["data"], 2);
    let after = until(&server, "ori_backend_received_total", |v| v >= received + 1.0).await;
    assert!(metric(&after, "ori_backend_published_total") >= published + 1.0, "{after}");
    assert_eq!(metric(&after, "ori_backend_reconnects_total"), 0.0, "{after}");

    redis.kill();
    until(&server, "ori_backend_connected", |v| v == 0.0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.resume();
    let back = until(&server, "ori_backend_reconnects_total", |v| v >= 1.0).await;
    assert_eq!(metric(&back, "ori_backend_connected"), 1.0, "{back}");
    let outage = metric(&back, "ori_backend_outage_seconds");
    assert!((0.3..10.0).contains(&outage), "the outage lasted 300 ms and more: {outage}\n{back}");
}
