//! The soak (issue 27): a server in a process of its own (`bench_peer`) holds
//! many connections for minutes under churn, pub/sub and rpc, while its
//! memory, file descriptors, tasks and connections are sampled from its
//! `/metrics` (and the bytes it holds allocated, from its `/heap`). [`run`]
//! drives it and reports; [`Report::verdict`] says
//! whether it held: every figure flat after the warm-up, and every message
//! published to a connected subscriber received, once, in order.
//!
//! The load, per [`Plan`]:
//! - `connections` subscribers, connection `i` on topic `soak:{i % topics}`;
//!   every `rpc_every`-th also sends a `bench.echo` every `rpc_interval`
//!   and checks the reply;
//! - one publisher per topic: a numbered `bench.publish` every
//!   `publish_interval`, the next once the last is acknowledged;
//! - churn: `churn_per_sec` times a second, a subscriber picked at random
//!   closes and connects again (a new connection, subscribed again).
//!
//! At the end the publishers stop, and every subscriber must reach its
//! topic's last number: nothing published after it subscribed is missing.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What to hold, and for how long.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Subscriber connections held.
    pub connections: usize,
    /// Subscribers closed and connected again per second.
    pub churn_per_sec: u32,
    /// Topics, one publisher each.
    pub topics: usize,
    /// Every `rpc_every`-th subscriber also sends requests.
    pub rpc_every: usize,
    /// How often each of those sends one.
    pub rpc_interval: Duration,
    /// How often each publisher publishes.
    pub publish_interval: Duration,
    /// How long the load runs, connecting included.
    pub duration: Duration,
    /// How often the server's figures are sampled.
    pub sample_every: Duration,
    /// Samples before this are the warm-up: not held to the bound.
    pub warm_up: Duration,
}

impl Plan {
    /// Issue 27's soak: 10,000 connections, 200 connects and closes a second,
    /// 100 topics, rpc on a tenth, for 10 minutes, sampled every 10 s.
    pub fn full() -> Plan {
        Plan {
            connections: 10_000,
            churn_per_sec: 200,
            topics: 100,
            rpc_every: 10,
            rpc_interval: Duration::from_secs(1),
            publish_interval: Duration::from_secs(1),
            duration: Duration::from_secs(600),
            sample_every: Duration::from_secs(10),
            warm_up: Duration::from_secs(120),
        }
    }

    /// CI's: the same load on 2,000 connections, for 60 s (the first 30 s
    /// the warm-up: resident memory settles for minutes, BENCHMARKS.md).
    pub fn short() -> Plan {
        Plan {
            connections: 2_000,
            duration: Duration::from_secs(60),
            warm_up: Duration::from_secs(30),
            ..Plan::full()
        }
    }

    /// [`Plan::full`] with `SOAK_CONNECTIONS`, `SOAK_SECONDS`, `SOAK_CHURN`
    /// and `SOAK_WARM_UP_SECONDS` from the environment where set.
    pub fn full_from_env() -> Plan {
        let number = |name: &str| std::env::var(name).ok().map(|v| v.parse::<u64>().expect(name));
        let mut plan = Plan::full();
        if let Some(n) = number("SOAK_CONNECTIONS") {
            plan.connections = n as usize;
        }
        if let Some(s) = number("SOAK_SECONDS") {
            plan.duration = Duration::from_secs(s);
        }
        if let Some(n) = number("SOAK_CHURN") {
            plan.churn_per_sec = n as u32;
        }
        if let Some(s) = number("SOAK_WARM_UP_SECONDS") {
            plan.warm_up = Duration::from_secs(s);
        }
        plan
    }
}

/// The server's figures at one moment, from its `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Since the load started.
    pub at: Duration,
    /// `ori_connections`.
    pub connections: f64,
    /// `ori_runtime_tasks`.
    pub tasks: f64,
    /// `process_resident_memory_bytes`.
    pub rss_bytes: f64,
    /// `process_open_fds`.
    pub open_fds: f64,
    /// Bytes allocated and not freed (`bench_peer`'s `/heap`).
    pub heap_bytes: f64,
}

/// What a soak measured.
#[derive(Debug, Default)]
pub struct Report {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// Publishes acknowledged.
    pub published: u64,
    /// Messages subscribers received.
    pub delivered: u64,
    /// Numbers a subscriber skipped while connected.
    pub lost: u64,
    /// Numbers that came twice or out of order.
    pub disordered: u64,
    /// Subscribers that did not reach their topic's last number at the end.
    pub short_at_the_end: u64,
    /// Replies checked.
    pub rpcs: u64,
    /// Replies that were errors or not the data sent.
    pub rpc_failures: u64,
    /// Closes and connects again.
    pub churned: u64,
    /// Connection attempts that failed (retried).
    pub connect_failures: u64,
    /// Publishes that failed (an error reply or none).
    pub publish_failures: u64,
}

/// How far a figure moved after the warm-up: `(max - min) / min`.
pub fn spread(values: impl IntoIterator<Item = f64>) -> f64 {
    let (min, max) = values.into_iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if min <= 0.0 { f64::INFINITY } else { (max - min) / min }
}

/// A figure's name, and how to read it from a sample.
type Figure = (&'static str, fn(&Sample) -> f64);

impl Report {
    /// The samples taken after the warm-up.
    pub fn steady(&self, plan: &Plan) -> Vec<Sample> {
        self.samples.iter().copied().filter(|s| s.at >= plan.warm_up).collect()
    }

    /// What broke the soak's promises; empty when it held.
    pub fn verdict(&self, plan: &Plan) -> Vec<String> {
        let mut broken = Vec::new();
        let steady = self.steady(plan);
        if steady.len() < 3 {
            broken.push(format!("only {} samples after the warm-up", steady.len()));
        }
        let figures: [Figure; 5] = [
            ("connections", |s| s.connections),
            ("tasks", |s| s.tasks),
            ("resident memory", |s| s.rss_bytes),
            ("allocated memory", |s| s.heap_bytes),
            ("open file descriptors", |s| s.open_fds),
        ];
        for (name, figure) in figures {
            let moved = spread(steady.iter().map(figure));
            if moved > 0.05 {
                broken.push(format!("{name} moved {:.1}% after the warm-up (bound 5%)", moved * 100.0));
            }
        }
        let expected_connections = (plan.connections + plan.topics) as f64;
        if let Some(last) = steady.last()
            && (last.connections - expected_connections).abs() > expected_connections * 0.05
        {
            broken.push(format!("{} connections held, {expected_connections} expected", last.connections));
        }
        for (what, count) in [
            ("numbers lost", self.lost),
            ("numbers twice or out of order", self.disordered),
            ("subscribers short of the last number", self.short_at_the_end),
            ("failed rpcs", self.rpc_failures),
            ("failed publishes", self.publish_failures),
        ] {
            if count > 0 {
                broken.push(format!("{count} {what}"));
            }
        }
        let least_churn = plan.churn_per_sec as f64 * plan.duration.as_secs_f64() * 0.8;
        if (self.churned as f64) < least_churn {
            broken.push(format!("churned {} times, at least {least_churn} expected", self.churned));
        }
        if self.delivered == 0 || self.rpcs == 0 {
            broken.push("no traffic".to_owned());
        }
        broken
    }

    /// The samples as a Markdown table, and the totals.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| at | connections | tasks | resident memory | allocated | open fds |\n| --- | --- | --- | --- | --- | --- |\n",
        );
        for s in &self.samples {
            out.push_str(&format!(
                "| {} s | {} | {} | {:.1} MiB | {:.2} MiB | {} |\n",
                s.at.as_secs(),
                s.connections,
                s.tasks,
                s.rss_bytes / MIB,
                s.heap_bytes / MIB,
                s.open_fds
            ));
        }
        out.push_str(&format!(
            "\npublished {}, delivered {}, lost {}, out of order {}, short at the end {}; \
             rpcs {} ({} failed); churned {} (connect failures {}, publish failures {})\n",
            self.published,
            self.delivered,
            self.lost,
            self.disordered,
            self.short_at_the_end,
            self.rpcs,
            self.rpc_failures,
            self.churned,
            self.connect_failures,
            self.publish_failures
        ));
        out
    }
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    delivered: AtomicU64,
    lost: AtomicU64,
    disordered: AtomicU64,
    short_at_the_end: AtomicU64,
    rpcs: AtomicU64,
    rpc_failures: AtomicU64,
    churned: AtomicU64,
    connect_failures: AtomicU64,
    publish_failures: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// What every task shares.
struct Soak {
    plan: Plan,
    url: String,
    counters: Counters,
    /// The last number acknowledged on each topic.
    last_published: Vec<AtomicU64>,
    /// Set once the publishers stopped: subscribers read up to the last
    /// number, then close.
    draining: AtomicBool,
    drain: Notify,
    /// One per subscriber: close and connect again.
    cycle: Vec<Notify>,
    /// Connection attempts under way at most (no SYN flood at start-up).
    connecting: Semaphore,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

impl Soak {
    async fn connect(&self) -> Ws {
        loop {
            let permit = self.connecting.acquire().await.expect("never closed");
            let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
            let attempt = tokio::time::timeout(
                Duration::from_secs(10),
                tokio_tungstenite::connect_async_with_config(&self.url, Some(config), false),
            )
            .await;
            drop(permit);
            match attempt {
                Ok(Ok((ws, _))) => return ws,
                _ => {
                    add(&self.counters.connect_failures, 1);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Sends `value` and returns the reply with its `correlationId` (others
/// skipped; `None` if the connection ends or 10 s pass).
async fn request(ws: &mut Ws, value: Value) -> Option<Value> {
    let id = value["correlationId"].clone();
    ws.send(Message::text(value.to_string())).await.ok()?;
    let reply = async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message
                && let Ok(reply) = serde_json::from_str::<Value>(&text)
                && reply["correlationId"] == id
            {
                return Some(reply);
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(10), reply).await.ok().flatten()
}

/// Subscriber `slot`: connect, subscribe, read (and send requests) until
/// told to cycle, then again; at the drain, read up to the last number.
async fn subscriber(soak: Arc<Soak>, slot: usize) {
    let topic_index = slot % soak.plan.topics;
    let topic = format!("soak:{topic_index}");
    let rpc = slot.is_multiple_of(soak.plan.rpc_every);
    // Spread the first requests over the interval.
    let offset = soak.plan.rpc_interval.mul_f64((slot / soak.plan.rpc_every) as f64 * 0.618 % 1.0);
    loop {
        if soak.draining.load(Ordering::Relaxed) {
            return;
        }
        let mut ws = soak.connect().await;
        let subscribe = json!({"type": "subscribe", "data": {"topic": topic}, "correlationId": "s"});
        match request(&mut ws, subscribe).await {
            Some(ack) if ack.get("error").is_none() => {}
            _ => {
                add(&soak.counters.connect_failures, 1);
                continue;
            }
        }
        // Publishes from `floor + 2` on were sent after the subscription
        // took effect: the publisher sends the next only after the last
        // acknowledgement, and `floor` is read after the subscribe's.
        let floor = soak.last_published[topic_index].load(Ordering::Relaxed);
        let first_owed = floor + 2;
        let reached_the_end = |last: Option<u64>| {
            let end = soak.last_published[topic_index].load(Ordering::Relaxed);
            end < first_owed || last >= Some(end)
        };
        let mut last: Option<u64> = None;
        let mut requests =
            tokio::time::interval_at(tokio::time::Instant::now() + offset, soak.plan.rpc_interval);
        let mut sent_rpcs = 0u64;
        let drained = loop {
            tokio::select! {
                message = ws.next() => {
                    let Some(Ok(message)) = message else { break false };
                    let Message::Text(text) = message else { continue };
                    let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
                    if value["type"] == "bench.message" {
                        let seq = value["data"]["seq"].as_u64().unwrap_or(0);
                        add(&soak.counters.delivered, 1);
                        match last {
                            Some(l) if seq == l + 1 => {}
                            Some(l) if seq > l + 1 => add(&soak.counters.lost, seq - l - 1),
                            Some(_) => add(&soak.counters.disordered, 1),
                            None if seq > first_owed => add(&soak.counters.lost, seq - first_owed),
                            None => {}
                        }
                        last = Some(last.map_or(seq, |l| l.max(seq)));
                    } else if value["type"] == "bench.echo" {
                        add(&soak.counters.rpcs, 1);
                        let expected = value["correlationId"].as_str().and_then(|id| id.parse::<u64>().ok());
                        if value.get("error").is_some() || expected != value["data"]["n"].as_u64() {
                            add(&soak.counters.rpc_failures, 1);
                        }
                    }
                    if soak.draining.load(Ordering::Relaxed) && reached_the_end(last) {
                        break true;
                    }
                }
                _ = requests.tick(), if rpc && !soak.draining.load(Ordering::Relaxed) => {
                    sent_rpcs += 1;
                    let echo = json!({"type": "bench.echo", "data": {"n": sent_rpcs}, "correlationId": sent_rpcs.to_string()});
                    if ws.send(Message::text(echo.to_string())).await.is_err() {
                        break false;
                    }
                }
                () = soak.cycle[slot].notified(), if !soak.draining.load(Ordering::Relaxed) => {
                    let _ = ws.close(None).await;
                    add(&soak.counters.churned, 1);
                    break false;
                }
                () = soak.drain.notified(), if !soak.draining.load(Ordering::Relaxed) => {}
                () = tokio::time::sleep(Duration::from_millis(200)), if soak.draining.load(Ordering::Relaxed) => {
                    if reached_the_end(last) {
                        break true;
                    }
                }
            }
        };
        if soak.draining.load(Ordering::Relaxed) {
            if !drained && !reached_the_end(last) {
                add(&soak.counters.short_at_the_end, 1);
            }
            let _ = ws.close(None).await;
            return;
        }
    }
}

/// Publisher of topic `index`: a numbered publish every interval, the next
/// once the last is acknowledged, until `stop`.
async fn publisher(soak: Arc<Soak>, index: usize, stop: Arc<AtomicBool>) {
    let mut ws = soak.connect().await;
    let topic = format!("soak:{index}");
    let start = tokio::time::Instant::now()
        + soak.plan.publish_interval.mul_f64(index as f64 / soak.plan.topics as f64);
    let mut ticks = tokio::time::interval_at(start, soak.plan.publish_interval);
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        seq += 1;
        let publish = json!({
            "type": "bench.publish",
            "data": {"topic": topic, "payload": {"seq": seq}},
            "correlationId": seq.to_string(),
        });
        match request(&mut ws, publish).await {
            Some(ack) if ack.get("error").is_none() => {
                add(&soak.counters.published, 1);
                soak.last_published[index].store(seq, Ordering::Relaxed);
            }
            _ => {
                add(&soak.counters.publish_failures, 1);
                return;
            }
        }
    }
    let _ = ws.close(None).await;
}

const MIB: f64 = 1024.0 * 1024.0;

/// The figures in the server's `/metrics` and `/heap` at `addr`.
async fn scrape(addr: SocketAddr, at: Duration) -> Sample {
    let metrics = crate::http(addr, "GET", "/metrics", &[], "").await;
    let heap = crate::http(addr, "GET", "/heap", &[], "").await;
    assert_eq!((metrics.status, heap.status), (200, 200), "{}\n{}", metrics.body, heap.body);
    let figure = |series: &str| crate::metric(&metrics.body, series);
    Sample {
        at,
        connections: figure("ori_connections"),
        tasks: figure("ori_runtime_tasks"),
        rss_bytes: figure("process_resident_memory_bytes"),
        open_fds: figure("process_open_fds"),
        heap_bytes: heap.body.trim().parse().unwrap_or_else(|_| panic!("bytes from /heap: {}", heap.body)),
    }
}

/// Starts `bench_peer` (the binary at `server_bin`), runs `plan` against it,
/// and reports. Printing each sample as it comes (`progress`).
pub async fn run(server_bin: &str, plan: Plan, progress: bool) -> Report {
    let mut server = ServerProcess::start(server_bin);
    let addr: SocketAddr = server
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .parse()
        .expect("bench_peer listens on ws://ADDR/ws");
    let soak = Arc::new(Soak {
        url: format!("{}?token=soak", server.url),
        counters: Counters::default(),
        last_published: (0..plan.topics).map(|_| AtomicU64::new(0)).collect(),
        draining: AtomicBool::new(false),
        drain: Notify::new(),
        cycle: (0..plan.connections).map(|_| Notify::new()).collect(),
        connecting: Semaphore::new(64),
        plan: plan.clone(),
    });
    let started = Instant::now();
    let subscribers: Vec<_> =
        (0..plan.connections).map(|slot| tokio::spawn(subscriber(soak.clone(), slot))).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let publishers: Vec<_> =
        (0..plan.topics).map(|i| tokio::spawn(publisher(soak.clone(), i, stop.clone()))).collect();
    let churn = {
        let soak = soak.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1) / soak.plan.churn_per_sec.max(1));
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            loop {
                ticks.tick().await;
                // xorshift: a random subscriber, the same each run.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                soak.cycle[(state % soak.plan.connections as u64) as usize].notify_one();
            }
        })
    };
    let mut samples = Vec::new();
    let mut next_sample = started + plan.sample_every;
    while started.elapsed() < plan.duration {
        tokio::time::sleep_until(next_sample.into()).await;
        next_sample += plan.sample_every;
        let sample = scrape(addr, started.elapsed()).await;
        if progress {
            eprintln!(
                "soak {:>4} s: {} connections, {} tasks, {:.1} MiB resident, {:.2} MiB allocated, {} fds; delivered {}, lost {}",
                sample.at.as_secs(),
                sample.connections,
                sample.tasks,
                sample.rss_bytes / MIB,
                sample.heap_bytes / MIB,
                sample.open_fds,
                soak.counters.delivered.load(Ordering::Relaxed),
                soak.counters.lost.load(Ordering::Relaxed),
            );
        }
        samples.push(sample);
    }
    churn.abort();
    stop.store(true, Ordering::Relaxed);
    for publisher in publishers {
        let _ = publisher.await;
    }
    soak.draining.store(true, Ordering::Relaxed);
    soak.drain.notify_waiters();
    let drained =
        tokio::time::timeout(Duration::from_secs(30), futures_util::future::join_all(subscribers)).await;
    assert!(drained.is_ok(), "the subscribers did not finish within 30 s of the drain");
    server.stop();
    let c = &soak.counters;
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    Report {
        samples,
        published: load(&c.published),
        delivered: load(&c.delivered),
        lost: load(&c.lost),
        disordered: load(&c.disordered),
        short_at_the_end: load(&c.short_at_the_end),
        rpcs: load(&c.rpcs),
        rpc_failures: load(&c.rpc_failures),
        churned: load(&c.churned),
        connect_failures: load(&c.connect_failures),
        publish_failures: load(&c.publish_failures),
    }
}

/// The server process, killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(bin: &str) -> ServerProcess {
        let (child, url) = crate::spawn_listening(&mut Command::new(bin));
        ServerProcess { child, url }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
