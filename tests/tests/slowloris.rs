//! A slowloris (issue 27, "Faults"): many connections that send half an
//! upgrade request and stall. The server goes on serving everyone else,
//! closes each stalled connection once its header timeout
//! (`Ori::header_timeout`) has passed, and its memory stays bounded.

use std::time::{Duration, Instant};

use ori::pubsub::InProcess;
use ori_tests::{LiveServer, cross_instance};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STALLED: usize = 1_000;
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// This process's resident memory, in KiB (`/proc/self/status`).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("a number of KiB")
}

#[tokio::test]
async fn a_thousand_half_upgrades_are_closed_after_the_header_timeout_while_others_are_served() {
    let app = cross_instance::app(InProcess::new()).header_timeout(HEADER_TIMEOUT);
    let server = LiveServer::start(app).await;
    let before = rss_kib();

    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut socket = TcpStream::connect(server.addr).await.expect("connects");
        // Half an upgrade request: the blank line that ends the headers never comes.
        socket
            .write_all(
                b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            )
            .await
            .expect("writes");
        stalled.push(socket);
    }
    let all_stalled = Instant::now();

    // Everyone else is served meanwhile.
    let mut client = server.connect().await;
    let reply = client.request(json!({"type": "id", "correlationId": "1"})).await;
    assert_eq!(reply["correlationId"], "1", "{reply}");
    let held = rss_kib().saturating_sub(before);

    // Each stalled connection is closed by the server: its read ends.
    let deadline = all_stalled + HEADER_TIMEOUT + Duration::from_secs(5);
    let mut last_closed = Instant::now();
    for socket in &mut stalled {
        let mut buf = [0u8; 512];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, socket.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue, // an error response before the close
                Err(_) => panic!(
                    "a stalled connection was still open {:?} after the last one stalled",
                    deadline - all_stalled
                ),
            }
        }
        last_closed = Instant::now();
    }
    let took = last_closed - all_stalled;
    eprintln!(
        "{STALLED} stalled connections held {held} KiB; the last was closed {took:?} after they all stalled"
    );
    assert!(took >= HEADER_TIMEOUT - Duration::from_millis(100), "closed before the timeout: {took:?}");
    assert!(held < 64 * 1024, "{STALLED} stalled connections held {held} KiB");

    // And the server still serves.
    let reply = client.request(json!({"type": "id", "correlationId": "2"})).await;
    assert_eq!(reply["correlationId"], "2", "{reply}");
}
