//! Health and planned restarts: `/healthz` and `/readyz`, readiness failing
//! before the first close frame, the drain's close code (1012), and ori's
//! client coming back at once after it, over real sockets.

use std::time::{Duration, Instant};

use ori::client::{Client, ClientEvent};
use ori::pubsub::RedisBackend;
use ori::testing::TestServer;
use ori::{Error, Ori, WebSocketConfig};
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, WsClient, http};

fn app() -> Ori {
    Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).health_routes()
}

#[tokio::test]
async fn health_is_served_and_readiness_fails_before_the_first_close_frame() {
    let server =
        LiveServer::start(app().drain_pause(Duration::from_millis(1500)).drain_close_code(1012)).await;
    let alive = http(server.addr, "GET", "/healthz", &[], "").await;
    assert_eq!((alive.status, alive.body.as_str()), (200, r#"{"alive":true}"#));
    let ready = http(server.addr, "GET", "/readyz", &[], "").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, r#"{"ready":true}"#));
    let mut client = server.connect().await;

    server.shutdown_handle().shutdown();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let ready = http(server.addr, "GET", "/readyz", &[], "").await;
        if ready.status == 503 {
            assert_eq!(ready.body, r#"{"ready":false,"reason":"draining"}"#);
            break;
        }
        assert!(Instant::now() < deadline, "readiness never failed");
    }
    // Readiness failed; the connection is still open (the pause).
    let pong = client.request(serde_json::json!({"type": "ping", "correlationId": "p"})).await;
    assert_eq!(pong["type"], "pong");
    assert_eq!(client.expect_close().await, (1012, "server restarting".to_owned()));
}

#[tokio::test]
async fn a_drain_close_code_other_than_1001_or_1012_is_refused_at_start_up() {
    let error = TestServer::start(app().drain_close_code(1000)).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidConfig(m) if m.contains("1012")), "{error}");
}

#[tokio::test]
async fn readiness_fails_while_redis_is_unreachable() {
    let Some(mut redis) = RedisServer::start() else { return };
    let backend = RedisBackend::builder(redis.url())
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(100))
        .build();
    let server = LiveServer::start(app().pubsub(backend.clone())).await;
    assert_eq!(http(server.addr, "GET", "/readyz", &[], "").await.status, 200);
    redis.kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = http(server.addr, "GET", "/readyz", &[], "").await;
        if ready.status == 503 {
            assert!(ready.body.contains("pub/sub backend disconnected"), "{}", ready.body);
            break;
        }
        assert!(Instant::now() < deadline, "readiness never failed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http(server.addr, "GET", "/readyz", &[], "").await.status != 200 {
        assert!(Instant::now() < deadline, "readiness never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(WsClient::try_connect(&server.url()).await.is_ok());
}

/// After a 1012 the client's first attempt waits jitter only (at most
/// 250 ms, though its backoff starts at 600 ms), and it is back within 1 s
/// of the restart. (A drop without a close frame backs off as configured:
/// `client_reconnect.rs`.)
#[tokio::test]
async fn the_client_comes_back_at_once_after_a_planned_restart() {
    let first = TestServer::start(app().drain_close_code(1012)).await.unwrap();
    let addr = first.addr();
    let client = Client::builder(first.url())
        .reconnect_delay(Duration::from_millis(600))
        .max_reconnect_delay(Duration::from_millis(600))
        .connect()
        .await
        .unwrap();
    let mut events = client.events();
    first.shutdown().await.unwrap();
    let restarted = Instant::now();
    let _second = TestServer::start_at(app().drain_close_code(1012), addr).await.unwrap();
    let mut delays = Vec::new();
    let back = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Some(Ok(ClientEvent::Reconnecting { delay, .. })) => delays.push(delay),
                Some(Ok(ClientEvent::Open { reconnected: true })) => return restarted.elapsed(),
                _ => {}
            }
        }
    })
    .await
    .expect("the client came back");
    assert!(delays[0] <= Duration::from_millis(250), "the first attempt is at once: {delays:?}");
    assert!(back < Duration::from_secs(1), "back after {back:?}");

    client.close().await;
}
