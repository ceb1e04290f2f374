//! Presence at scale across instances: `CONNS` connections (default 10,000)
//! tracked on one topic over three instances (`instance_peer` processes on
//! one `redis-server`, or with `BROKER=nats` one `nats-server -js`, started
//! here on a free port), then all untracked, with one presence watcher per
//! instance.
//!
//! ```sh
//! cargo bench -p ori-tests --bench presence_scale
//! CONNS=3000 cargo bench -p ori-tests --bench presence_scale
//! BROKER=nats cargo bench -p ori-tests --bench presence_scale
//! ```
//! Reports how long tracking and untracking took, how long after the last
//! untrack's reply the last leave reached every watcher (the target: under
//! 1 s), and how many broker commands each track and untrack cost (counted
//! by the broker: Redis's `INFO commandstats`; on NATS, the messages the
//! presence stream took), which must not grow with the members.

use std::process::{Child, Command, Stdio};
use std::time::Instant;

use futures_util::future::join_all;
use ori_tests::WsClient;
use ori_tests::nats_server::NatsServer;
use ori_tests::redis_server::RedisServer;
use serde_json::{Value, json};

const TOPIC: &str = "room:scale";
const INSTANCES: usize = 3;

/// The broker the instances share.
enum Broker {
    Redis(RedisServer),
    Nats(NatsServer),
}

impl Broker {
    fn url(&self) -> String {
        match self {
            Broker::Redis(redis) => redis.url(),
            Broker::Nats(nats) => nats.url(),
        }
    }

    /// The broker's count of what it did so far: Redis's commands, or the
    /// messages NATS's presence stream took.
    async fn commands(&self) -> u64 {
        match self {
            Broker::Redis(redis) => commands(redis),
            Broker::Nats(nats) => {
                let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
                let mut stream = js.get_stream("ORI_presence").await.expect("the presence stream");
                stream.info().await.unwrap().state.last_sequence
            }
        }
    }
}

fn peer(broker: &Broker) -> (Child, String) {
    ori_tests::spawn_listening(
        Command::new(env!("CARGO_BIN_EXE_instance_peer"))
            .env("ORI_PUBSUB_URL", broker.url())
            .stderr(Stdio::null()),
    )
}

/// Redis's count of every command it ran so far.
fn commands(redis: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut redis.connection()).unwrap();
    info.lines().filter_map(|line| line.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok()).sum()
}

/// Reads `watcher`'s diffs until it has seen `count` joins (or leaves); returns when the last came.
async fn await_changes(watcher: &mut WsClient, count: usize, field: &str) -> Instant {
    let mut seen = 0;
    loop {
        let diff = watcher.recv().await;
        assert_eq!(diff["type"], "presence_diff", "{diff}");
        seen += diff["data"][field]
            .as_object()
            .map_or(0, |m| m.values().map(|v| v.as_array().unwrap().len()).sum());
        if seen >= count {
            return Instant::now();
        }
    }
}

async fn request_all(clients: &mut [WsClient], message: impl Fn(usize) -> Value) {
    for chunk in clients.chunks_mut(256).enumerate().map(|(c, chunk)| (c * 256, chunk)).collect::<Vec<_>>() {
        let (base, chunk) = chunk;
        join_all(chunk.iter_mut().enumerate().map(|(i, client)| {
            let request = message(base + i);
            async move {
                let reply = client.request(request).await;
                assert!(reply.get("error").is_none(), "{reply}");
            }
        }))
        .await;
    }
}

#[tokio::main]
async fn main() {
    let conns: usize = std::env::var("CONNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let broker = match std::env::var("BROKER").as_deref() {
        Ok("nats") => Broker::Nats(NatsServer::start().expect("nats-server")),
        _ => Broker::Redis(RedisServer::start().expect("redis-server")),
    };
    let peers: Vec<(Child, String)> = (0..INSTANCES).map(|_| peer(&broker)).collect();
    let mut watchers = Vec::new();
    for (_, url) in &peers {
        let mut watcher = WsClient::connect(url).await;
        watcher.send(json!({"type": "subscribe", "data": {"topic": TOPIC, "presence": true}})).await;
        assert_eq!(watcher.recv().await["type"], "subscribe");
        assert_eq!(watcher.recv().await["type"], "presence_state");
        watchers.push(watcher);
    }
    let mut clients = Vec::with_capacity(conns);
    for chunk in (0..conns).collect::<Vec<_>>().chunks(64) {
        clients.extend(join_all(chunk.iter().map(|i| WsClient::connect(&peers[i % INSTANCES].1))).await);
    }
    eprintln!("{conns} connections over {INSTANCES} instances");

    let before = broker.commands().await;
    let started = Instant::now();
    let track = |i: usize| json!({"type": "presence.track", "data": {"topic": TOPIC, "key": format!("u{i}")}, "correlationId": "t"});
    request_all(&mut clients, track).await;
    let tracked = started.elapsed();
    let joined = join_all(watchers.iter_mut().map(|w| await_changes(w, conns, "joins"))).await;
    let track_commands = broker.commands().await - before;
    eprintln!(
        "tracked in {tracked:?}; every watcher had every join {:?} after the last reply; {:.2} broker commands per track",
        joined.iter().max().unwrap().duration_since(started + tracked),
        track_commands as f64 / conns as f64
    );

    let before = broker.commands().await;
    let started = Instant::now();
    let untrack = |i: usize| json!({"type": "presence.untrack", "data": {"topic": TOPIC, "key": format!("u{i}")}, "correlationId": "u"});
    request_all(&mut clients, untrack).await;
    let last_reply = Instant::now();
    let left = join_all(watchers.iter_mut().map(|w| await_changes(w, conns, "leaves"))).await;
    let untrack_commands = broker.commands().await - before;
    let lag = left.iter().max().unwrap().duration_since(last_reply);
    eprintln!(
        "untracked in {:?}; the last leave reached every watcher {lag:?} after the last untrack's reply (target: < 1 s); {:.2} broker commands per untrack",
        last_reply - started,
        untrack_commands as f64 / conns as f64
    );
    for (mut child, _) in peers {
        let _ = child.kill();
        let _ = child.wait();
    }
}
