//! Cross-instance delivery through Redis and through NATS, each against its
//! raw client in the same run: a publisher on instance A, N WebSocket
//! subscribers on instance B, and, as the baseline, a raw client publishing
//! frames of the same size to one raw subscriber.
//!
//! ```sh
//! cargo bench -p ori-tests --bench broker_fanout            # 200,000 messages per case
//! MESSAGES=50000 cargo bench -p ori-tests --bench broker_fanout
//! ```
//! It starts its own `redis-server`, `nats-server` and a six-node Redis
//! Cluster (three masters) on free ports. The last rows compare a single
//! Redis with the cluster where sharding matters: three instances, each
//! publishing to 30 topics (spread over the shards) and each with a
//! subscriber of all of them, so every message is delivered three times
//! (once locally, twice across instances). Two measures per case:
//! saturated (the publisher keeps at most `WINDOW` messages ahead of the
//! slowest subscriber: messages/s, and latency under that load) and paced
//! (5,000 messages/s: latency p50/p99). Latency is publish call to the
//! subscriber's parse of the message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ori::pubsub::{NatsBackend, PubSubBackend, RedisBackend};
use ori::{AppContext, Ori, WebSocketConfig};
use ori_tests::nats_server::NatsServer;
use ori_tests::redis_cluster::RedisCluster;
use ori_tests::redis_server::RedisServer;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// Publishes at most this many messages ahead of the slowest subscriber.
const WINDOW: u64 = 4096;
const PACED_RATE: u64 = 5_000;
const PACED_SECS: u64 = 2;
/// The ori frame header the raw baseline pads its messages with.
const FRAME_HEADER: usize = 34;

#[derive(Deserialize)]
struct Envelope {
    data: Stamp,
}

#[derive(Deserialize)]
struct Stamp {
    t: u64,
}

/// Progress of the subscribers, shared with the publisher.
struct Progress {
    received: Vec<AtomicU64>,
    advanced: Notify,
    latencies: std::sync::Mutex<Vec<u64>>,
}

impl Progress {
    fn new(subscribers: usize) -> Arc<Progress> {
        Arc::new(Progress {
            received: (0..subscribers).map(|_| AtomicU64::new(0)).collect(),
            advanced: Notify::new(),
            latencies: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn slowest(&self) -> u64 {
        self.received.iter().map(|r| r.load(Ordering::Acquire)).min().unwrap_or(0)
    }

    /// Records one message for subscriber `index`; one in 16 is timed.
    fn record(&self, index: usize, base: Instant, text: &str) {
        let count = self.received[index].fetch_add(1, Ordering::AcqRel) + 1;
        if count.is_multiple_of(16) {
            let envelope: Envelope = serde_json::from_str(text).expect("a bench message");
            let now = base.elapsed().as_nanos() as u64;
            self.latencies.lock().unwrap().push(now.saturating_sub(envelope.data.t));
        } else {
            // Every message is parsed, as a real client would.
            let _: Envelope = serde_json::from_str(text).expect("a bench message");
        }
        if count.is_multiple_of(256) {
            self.advanced.notify_one();
        }
    }

    async fn wait_for(&self, count: u64) {
        while self.slowest() < count {
            let _ = tokio::time::timeout(Duration::from_millis(5), self.advanced.notified()).await;
        }
    }

    fn take_latencies(&self) -> (f64, f64) {
        let mut latencies = std::mem::take(&mut *self.latencies.lock().unwrap());
        latencies.sort_unstable();
        let at = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0);
        (at(0.50) as f64 / 1e6, at(0.99) as f64 / 1e6)
    }
}

fn message(base: Instant) -> String {
    let t = base.elapsed().as_nanos() as u64;
    format!(r#"{{"type":"bench.message","data":{{"t":{t},"p":"{}"}}}}"#, "x".repeat(48))
}

/// Publishes `count` messages through `publish`, `WINDOW` ahead at most.
async fn saturate(
    progress: &Progress,
    base: Instant,
    count: u64,
    mut publish: impl AsyncFnMut(Vec<String>),
) -> f64 {
    let started = Instant::now();
    let mut sent = 0;
    while sent < count {
        let batch = 256.min(count - sent);
        publish((0..batch).map(|_| message(base)).collect()).await;
        sent += batch;
        if sent > WINDOW {
            progress.wait_for(sent - WINDOW).await;
        }
    }
    progress.wait_for(count).await;
    count as f64 / started.elapsed().as_secs_f64()
}

/// Publishes `PACED_RATE` messages per second for `PACED_SECS`, in 1 ms steps.
async fn pace(progress: &Progress, base: Instant, mut publish: impl AsyncFnMut(Vec<String>)) {
    let before = progress.slowest();
    let total = PACED_RATE * PACED_SECS;
    let per_tick = PACED_RATE / 1000;
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    for _ in 0..total / per_tick {
        ticks.tick().await;
        publish((0..per_tick).map(|_| message(base)).collect()).await;
    }
    progress.wait_for(before + total).await;
}

/// Saturated, then paced: messages/s and both latencies.
async fn measure(
    progress: &Progress,
    base: Instant,
    count: u64,
    publish: &mut impl AsyncFnMut(Vec<String>),
) -> Measured {
    let rate = saturate(progress, base, count, &mut *publish).await;
    let saturated = progress.take_latencies();
    pace(progress, base, &mut *publish).await;
    (rate, saturated, progress.take_latencies())
}

/// A WebSocket client of `url` subscribed to `topics`, recording what it
/// receives as subscriber `index`.
async fn subscriber(
    url: &str,
    topics: impl IntoIterator<Item = String>,
    progress: &Arc<Progress>,
    index: usize,
    base: Instant,
) -> tokio::task::JoinHandle<()> {
    use futures_util::SinkExt;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    for topic in topics {
        let subscribe = format!(r#"{{"type":"subscribe","data":{{"topic":"{topic}"}}}}"#);
        ws.send(Message::text(subscribe)).await.unwrap();
        let ack = ws.next().await.unwrap().unwrap();
        assert!(ack.to_text().unwrap().contains("subscribe"), "{ack}");
    }
    let progress = progress.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                progress.record(index, base, &text);
            }
        }
    })
}

/// Raw Redis pub/sub: frames of ori's size, pipelined, to one subscriber.
async fn raw_baseline(redis: &RedisServer, count: u64) -> Measured {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut subscriber = client.get_async_pubsub().await.unwrap();
    subscriber.subscribe("raw").await.unwrap();
    let mut publisher = client.get_multiplexed_async_connection().await.unwrap();
    let progress = Progress::new(1);
    let base = Instant::now();
    let reader = {
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut stream = subscriber.into_on_message();
            while let Some(message) = stream.next().await {
                let bytes = message.get_payload_bytes();
                let text = std::str::from_utf8(&bytes[FRAME_HEADER..]).unwrap();
                progress.record(0, base, text);
            }
        })
    };
    let mut publish = async |messages: Vec<String>| {
        let mut pipe = redis::pipe();
        for text in messages {
            let mut frame = vec![0u8; FRAME_HEADER];
            frame.extend_from_slice(text.as_bytes());
            pipe.cmd("PUBLISH").arg("raw").arg(frame).ignore();
        }
        pipe.query_async::<()>(&mut publisher).await.unwrap();
    };
    let measured = measure(&progress, base, count, &mut publish).await;
    reader.abort();
    measured
}

/// The same baseline on NATS: a raw async-nats client.
async fn raw_nats(nats: &NatsServer, count: u64) -> Measured {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut subscriber = client.subscribe("raw").await.unwrap();
    client.flush().await.unwrap();
    let progress = Progress::new(1);
    let base = Instant::now();
    let reader = {
        let progress = progress.clone();
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let text = std::str::from_utf8(&message.payload[FRAME_HEADER..]).unwrap();
                progress.record(0, base, text);
            }
        })
    };
    let mut publish = async |messages: Vec<String>| {
        for text in messages {
            let mut frame = vec![0u8; FRAME_HEADER];
            frame.extend_from_slice(text.as_bytes());
            client.publish("raw", frame.into()).await.unwrap();
        }
    };
    let measured = measure(&progress, base, count, &mut publish).await;
    reader.abort();
    measured
}

async fn instance(backend: impl PubSubBackend) -> (ori::Server, AppContext) {
    let server = Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default())
        .pubsub(backend)
        .workers(1)
        .shutdown_signal(std::future::pending())
        .bind("127.0.0.1:0")
        .await
        .expect("instance starts");
    let app = server.app().clone();
    (server, app)
}

async fn ori_fanout<B: PubSubBackend>(backend: &impl Fn() -> B, subscribers: usize, count: u64) -> Measured {
    let (a, a_app) = instance(backend()).await;
    let (b, _) = instance(backend()).await;
    let url = format!("ws://{}/ws", b.local_addr());
    tokio::spawn(a.serve());
    tokio::spawn(b.serve());
    let progress = Progress::new(subscribers);
    let base = Instant::now();
    let mut readers = Vec::new();
    for index in 0..subscribers {
        readers.push(subscriber(&url, ["bench".to_owned()], &progress, index, base).await);
    }
    let sockets = a_app.sockets().clone();
    let mut publish = async |messages: Vec<String>| {
        for text in messages {
            sockets.publish("bench", &text).unwrap();
        }
        tokio::task::yield_now().await;
    };
    let measured = measure(&progress, base, count, &mut publish).await;
    for reader in readers {
        reader.abort();
    }
    measured
}

/// Topics of the spread case.
const SPREAD_TOPICS: usize = 30;

/// Three instances, each with one subscriber of all `SPREAD_TOPICS` topics;
/// messages are published from each instance in turn, to each topic in turn.
async fn ori_spread<B: PubSubBackend>(backend: &impl Fn() -> B, count: u64) -> Measured {
    let mut apps = Vec::new();
    let progress = Progress::new(3);
    let base = Instant::now();
    let mut readers = Vec::new();
    for index in 0..3 {
        let (server, app) = instance(backend()).await;
        let url = format!("ws://{}/ws", server.local_addr());
        tokio::spawn(server.serve());
        apps.push(app);
        let topics = (0..SPREAD_TOPICS).map(|topic| format!("spread.{topic}"));
        readers.push(subscriber(&url, topics, &progress, index, base).await);
    }
    let sockets: Vec<_> = apps.iter().map(|app| app.sockets().clone()).collect();
    let topics: Vec<String> = (0..SPREAD_TOPICS).map(|topic| format!("spread.{topic}")).collect();
    let mut sent = 0usize;
    let mut publish = async |messages: Vec<String>| {
        for text in messages {
            sockets[sent % 3].publish(&topics[sent % SPREAD_TOPICS], &text).unwrap();
            sent += 1;
        }
        tokio::task::yield_now().await;
    };
    let measured = measure(&progress, base, count, &mut publish).await;
    for reader in readers {
        reader.abort();
    }
    measured
}

/// What one case measured: messages/s, saturated and paced latency (p50, p99 ms).
type Measured = (f64, (f64, f64), (f64, f64));

fn row(name: &str, (rate, saturated, paced): Measured) {
    println!(
        "{name:<34} {rate:>12.0} {:>22} {:>22}",
        format!("{:.2} / {:.2}", saturated.0, saturated.1),
        format!("{:.2} / {:.2}", paced.0, paced.1)
    );
}

/// The rows of one broker: its raw client, then ori on it with 1 and 10
/// subscribers, each against the raw client's messages/s.
async fn compare<B: PubSubBackend>(broker: &str, raw: Measured, backend: impl Fn() -> B, count: u64) {
    row(&format!("raw {broker}, 1 subscriber"), raw);
    for subscribers in [1, 10] {
        let measured = ori_fanout(&backend, subscribers, count).await;
        row(&format!("ori on {broker}, {subscribers} subscriber(s)"), measured);
        println!(
            "{:<34} {:>11.1}%",
            format!("  vs raw {broker} (messages/s)"),
            (measured.0 / raw.0 - 1.0) * 100.0
        );
    }
}

/// CPU seconds used so far by this process and by every `redis-server`
/// and `nats-server` on the machine (the benchmark's own brokers; the idle
/// system ones add nothing measurable), from `/proc`.
fn cpu_seconds() -> (f64, f64) {
    let (mut own, mut brokers) = (0.0, 0.0);
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime, in clock ticks (100 per second on Linux).
        let ticks: f64 = fields.get(11..13).into_iter().flatten().filter_map(|f| f.parse::<f64>().ok()).sum();
        let name = &stat[open + 1..close];
        if pid == me {
            own += ticks / 100.0;
        } else if name == "redis-server" || name == "nats-server" {
            brokers += ticks / 100.0;
        }
    }
    (own, brokers)
}

/// Runs the spread case, printing its row and the CPU it cost per message.
async fn spread_row<B: PubSubBackend>(name: &str, backend: impl Fn() -> B, count: u64) -> Measured {
    let before = cpu_seconds();
    let measured = ori_spread(&backend, count).await;
    let after = cpu_seconds();
    row(name, measured);
    let messages = (count + PACED_RATE * PACED_SECS) as f64;
    println!(
        "{:<34} {:>8.2} µs ori + {:.2} µs broker",
        "  CPU per message",
        (after.0 - before.0) / messages * 1e6,
        (after.1 - before.1) / messages * 1e6
    );
    measured
}

fn main() {
    let count: u64 = std::env::var("MESSAGES").ok().and_then(|m| m.parse().ok()).unwrap_or(200_000);
    let (Some(redis), Some(nats), Some(cluster)) =
        (RedisServer::start(), NatsServer::start(), RedisCluster::start())
    else {
        eprintln!("redis-server, redis-cli and nats-server are needed for this benchmark");
        std::process::exit(1);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        println!(
            "{count} messages of {} bytes; saturated = at most {WINDOW} in flight",
            message(Instant::now()).len()
        );
        println!(
            "{:<34} {:>12} {:>22} {:>22}",
            "case", "messages/s", "saturated p50/p99 ms", "paced 5k/s p50/p99 ms"
        );
        let raw = raw_baseline(&redis, count).await;
        compare("redis", raw, || RedisBackend::builder(redis.url()).build(), count).await;
        let raw = raw_nats(&nats, count).await;
        compare("nats", raw, || NatsBackend::builder(nats.url()).build(), count).await;
        let name = format!("redis, 3 instances x {SPREAD_TOPICS} topics");
        let single = spread_row(&name, || RedisBackend::builder(redis.url()).build(), count).await;
        let cluster_backend = || RedisBackend::builder(cluster.url()).build();
        let sharded = spread_row("redis cluster (3 shards), same", cluster_backend, count).await;
        println!(
            "{:<34} {:>11.1}%",
            "  vs a single redis (messages/s)",
            (sharded.0 / single.0 - 1.0) * 100.0
        );
        spread_row("nats, same", || NatsBackend::builder(nats.url()).build(), count).await;
    });
}
