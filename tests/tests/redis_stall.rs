//! The backend stalls (issue 27, "Faults"): `redis-server` stopped with
//! SIGSTOP for 10 s under publish traffic, then resumed. Local traffic does
//! not notice (local rpc p99 within 2x of before, every local delivery
//! made); cross-instance delivery resumes; what is lost is within the
//! outage policy: at most once, in order, only around the outage. Both
//! instances lose Redis, so what the publisher kept in its outage buffer
//! and sends when it is back can reach the other before that one has
//! subscribed again: those are lost too (the publisher cannot count them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ori::pubsub::RedisBackend;
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, WsClient, cross_instance};
use serde_json::json;

const STALL: Duration = Duration::from_secs(10);

async fn instance(redis: &RedisServer) -> (LiveServer, RedisBackend) {
    let backend = RedisBackend::builder(redis.url())
        .health_check_interval(Duration::from_millis(500))
        .response_timeout(Duration::from_secs(1))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .build();
    (LiveServer::start(cross_instance::app(backend.clone())).await, backend)
}

/// Local rpc round trips on `client`, one after another, for `span`.
async fn rpc_times(client: &mut WsClient, span: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let started = Instant::now();
    while started.elapsed() < span {
        let sent = Instant::now();
        let id = times.len().to_string();
        let reply = client.request(json!({"type": "id", "correlationId": id})).await;
        assert_eq!(reply["correlationId"], id, "{reply}");
        times.push(sent.elapsed());
    }
    times
}

fn p99(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() * 99 / 100]
}

/// The numbers of the `room.message`s `client` receives until none comes for `wait`.
async fn numbers(client: &mut WsClient, wait: Duration) -> Vec<u64> {
    let mut got = Vec::new();
    while let Ok(message) = tokio::time::timeout(wait, client.recv()).await {
        if message["type"] == "room.message" {
            got.push(message["data"].as_str().and_then(|n| n.parse().ok()).expect("a number"));
        }
    }
    got
}

// Two threads: the clients' timings do not wait behind the backends' tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_leaves_local_traffic_alone_and_delivery_resumes() {
    let Some(redis) = RedisServer::start() else { return };
    let (here, backend) = instance(&redis).await;
    let (there, other) = instance(&redis).await;
    let mut local = here.connect().await;
    local.subscribe("room").await;
    let mut remote = there.connect().await;
    remote.subscribe("room").await;
    let mut rpc = here.connect().await;

    // Publishes from `here`, every 10 ms, before, during and after the stall.
    let publisher = here.app.clone();
    let sent = Arc::new(AtomicU64::new(0));
    let counted = sent.clone();
    let traffic = tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < STALL + Duration::from_secs(6) {
            let n = counted.load(Ordering::SeqCst);
            let message = json!({"type": "room.message", "data": n.to_string()}).to_string();
            publisher.sockets().publish("room", &message).unwrap();
            counted.store(n + 1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let before = p99(rpc_times(&mut rpc, Duration::from_secs(1)).await);
    let before_stall = sent.load(Ordering::SeqCst);
    redis.signal("-STOP");
    let during = p99(rpc_times(&mut rpc, STALL).await);
    redis.signal("-CONT");
    traffic.await.unwrap();
    let published = sent.load(Ordering::SeqCst);

    let local_got = numbers(&mut local, Duration::from_secs(2)).await;
    // (Under the 5 s after which a client's read fails the test.)
    let remote_got = numbers(&mut remote, Duration::from_secs(3)).await;
    let (stats, theirs) = (backend.stats(), other.stats());
    let lost = published - remote_got.len() as u64;
    eprintln!(
        "local rpc p99: {before:?} in the second before, {during:?} during the {STALL:?} stall; published {published}; \
         local subscriber got {}, the other instance's {} ({lost} lost: the publisher counted {} dropped; each \
         instance reconnected {} and {} times)",
        local_got.len(),
        remote_got.len(),
        stats.dropped,
        stats.reconnects,
        theirs.reconnects,
    );
    // 2x, or 20 ms for a test run beside others on a loaded machine (on a
    // quiet one: 0.30 ms before, 0.27 ms during).
    assert!(
        during <= (before * 2).max(before + Duration::from_millis(20)),
        "local rpc p99 went from {before:?} to {during:?}"
    );
    assert_eq!(local_got, (0..published).collect::<Vec<_>>(), "every local delivery, in order");
    assert!(remote_got.windows(2).all(|w| w[0] < w[1]), "in order, never twice: {remote_got:?}");
    // Losses only around the outage: all before it (but the last 100 ms, in
    // flight when Redis stopped), and the last second (about 4 s after Redis
    // resumed, both instances back) without a gap.
    let prefix = before_stall.saturating_sub(10);
    assert_eq!(remote_got[..prefix as usize], (0..prefix).collect::<Vec<_>>(), "everything before the stall");
    let tail: Vec<u64> = (published - 100..published).collect();
    assert!(remote_got.ends_with(&tail), "delivery resumed: the last second all arrived");
    assert!(stats.reconnects >= 1 && theirs.reconnects >= 1, "the stall was seen as an outage by both");
}
