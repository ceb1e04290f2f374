//! Graceful shutdown: stop accepting, let running handlers finish and reply,
//! close every WebSocket with 1001, return within the grace period.

use std::time::Duration;

use ori::{Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::{LiveServer, WsClient};
use serde_json::json;

async fn slow(_ctx: SocketContext, millis: u64) -> Result<u64, SocketError> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(millis)
}

fn app(grace: Duration) -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .shutdown_grace(grace)
        .socket_routes(SocketRoutes::new().route("slow", slow))
}

#[tokio::test]
async fn running_handlers_finish_then_every_connection_gets_1001() {
    let server = LiveServer::start(app(Duration::from_secs(10))).await;
    let url = server.url();
    let (mut busy, mut idle) = (server.connect().await, server.connect().await);
    busy.send(json!({"type": "slow", "data": 400, "correlationId": "s"})).await;
    busy.request(json!({"type": "ping"})).await; // the slow handler is running
    let handle = server.shutdown_handle();
    let started = tokio::time::Instant::now();
    handle.shutdown();
    assert_eq!(idle.expect_close().await, (1001, "server shutting down".to_owned()));
    assert_eq!(busy.recv().await, json!({"type": "slow", "data": 400, "correlationId": "s"}));
    assert_eq!(busy.expect_close().await.0, 1001);
    server.stopped().await.expect("serve returns Ok");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(WsClient::try_connect(&url).await.is_err(), "no new connections after shutdown");
}

#[tokio::test]
async fn the_grace_period_bounds_the_wait() {
    let server = LiveServer::start(app(Duration::from_millis(300))).await;
    let mut stuck = server.connect().await;
    stuck.send(json!({"type": "slow", "data": 60_000})).await;
    stuck.request(json!({"type": "ping"})).await;
    let started = tokio::time::Instant::now();
    server.shutdown().await.expect("serve returns Ok");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    // The handler still running was dropped, and the close frame was sent all the same.
    assert_eq!(stuck.expect_close().await, (1001, "server shutting down".to_owned()));
}

#[tokio::test]
async fn a_custom_signal_triggers_the_shutdown() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = app(Duration::from_secs(5))
        .shutdown_signal(async move {
            let _ = rx.await;
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/ws", server.local_addr());
    let task = tokio::spawn(server.serve());
    let mut c = WsClient::connect(&url).await;
    tx.send(()).unwrap();
    assert_eq!(c.expect_close().await.0, 1001);
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
}
