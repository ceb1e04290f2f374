//! Runs inside a network namespace of its own (`tests/tests/half_open.rs`
//! starts it with `ip netns exec`): a server and two clients on that
//! namespace's loopback, one of them subscribed to a topic being published
//! to; then the namespace's loopback goes down, so both clients vanish
//! without a FIN (a half-open connection, as after a peer's power loss or a
//! cable pulled). Prints how long the server took to close both, and exits
//! non-zero past the bound (idle timeout + close timeout + 2 s).

use std::process::Command;
use std::time::{Duration, Instant};

use ori::WebSocketConfig;
use ori::pubsub::InProcess;
use ori_tests::{LiveServer, WsClient, cross_instance};

const IDLE: Duration = Duration::from_secs(1);
const CLOSE: Duration = Duration::from_secs(1);

fn loopback(state: &str) {
    let status = Command::new("ip").args(["link", "set", "lo", state]).status().expect("ip runs");
    assert!(status.success(), "ip link set lo {state}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    loopback("up");
    let config =
        WebSocketConfig::default().idle_timeout(IDLE).close_timeout(CLOSE).outbound_queue_bytes(64 * 1024);
    let server = LiveServer::start(cross_instance::app(InProcess::new()).websocket(config)).await;
    let _idle = WsClient::connect(&server.url()).await;
    let mut busy = WsClient::connect(&server.url()).await;
    busy.subscribe("room").await;
    while server.app.sockets().connection_count() != 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    loopback("down");
    let vanished = Instant::now();
    let bound = IDLE + CLOSE + Duration::from_secs(2);
    let message = format!(r#"{{"type":"room.message","data":"{}"}}"#, "x".repeat(1024));
    while server.app.sockets().connection_count() > 0 {
        if vanished.elapsed() > bound {
            println!(
                "still {} connections {:?} after the peers vanished",
                server.app.sockets().connection_count(),
                vanished.elapsed()
            );
            std::process::exit(1);
        }
        // Traffic for the vanished subscriber: it queues, bounded, until the connection goes.
        let _ = server.app.sockets().publish("room", &message);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "closed both half-open connections {:?} after their peers vanished (idle timeout {IDLE:?}, close timeout {CLOSE:?})",
        vanished.elapsed()
    );
}
