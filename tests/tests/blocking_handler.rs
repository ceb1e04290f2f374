//! A handler that blocks its worker thread (issue 27, "Handlers that
//! misbehave"): what happens, measured. The connections of that worker wait
//! until it returns; the other workers' connections are served meanwhile;
//! the watchdog warns and counts the stall (`ori_worker_stalls_total`).
//! Its own test binary: it installs the process's metrics recorder.

use std::time::{Duration, Instant};

use ori::{Ori, SocketContext, SocketRoutes, WebSocketConfig};
use ori_tests::{LiveServer, WsClient};
use serde_json::json;

const BLOCK: Duration = Duration::from_millis(2_000);

async fn block(_ctx: SocketContext) {
    // What not to do: blocking code on the worker's thread.
    std::thread::sleep(BLOCK);
}

async fn echo(_ctx: SocketContext, data: serde_json::Value) -> ori::Data<serde_json::Value> {
    ori::Data(data)
}

fn stalls(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("ori_worker_stalls_total "))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

#[tokio::test]
async fn a_blocked_worker_stalls_only_its_connections_and_the_watchdog_says_so() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::new().route("block", block).route("echo", echo))
        .metrics_route("/metrics")
        .workers(2);
    let server = LiveServer::start(app).await;
    let before = stalls(&ori_tests::http(server.addr, "GET", "/metrics", &[], "").await.body);

    let mut blocker = server.connect().await;
    // Connections spread over both workers (the kernel picks, by address:
    // that none of 16 lands on the other worker has odds of 1 in 65,536).
    let mut others: Vec<WsClient> = Vec::new();
    for _ in 0..16 {
        others.push(server.connect().await);
    }
    blocker.send(json!({"type": "block", "correlationId": "b"})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let blocked_at = Instant::now();
    for (i, other) in others.iter_mut().enumerate() {
        other.send(json!({"type": "echo", "data": i, "correlationId": "e"})).await;
    }
    // Each connection's reply, timed as it arrives.
    let waits = futures_util::future::join_all(others.iter_mut().enumerate().map(|(i, other)| async move {
        let reply = other.recv().await;
        assert_eq!(reply["data"], i, "{reply}");
        blocked_at.elapsed()
    }))
    .await;
    let reply = blocker.recv().await;
    assert_eq!(reply["correlationId"], "b", "{reply}");
    let unblocked = blocked_at.elapsed();
    let served_during = waits.iter().filter(|wait| **wait < Duration::from_millis(500)).count();
    let waited = waits.iter().filter(|wait| **wait >= Duration::from_millis(1_000)).count();
    eprintln!(
        "during a {BLOCK:?} block: {served_during} of {} connections answered within 0.5 s, {waited} waited for the \
         block to end ({unblocked:?} after the requests); replies at {waits:?}",
        others.len()
    );
    assert!(served_during >= 1, "no connection was served while one worker was blocked: {waits:?}");

    // The watchdog counted the stall.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = stalls(&ori_tests::http(server.addr, "GET", "/metrics", &[], "").await.body);
        if now > before {
            break;
        }
        assert!(Instant::now() < deadline, "the stall was not counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
