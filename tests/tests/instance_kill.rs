//! An ori instance killed with SIGKILL under traffic (issue 27, "Faults").
//! Three instances on one Redis, history on `hist:*`: one in a process of its
//! own (`instance_peer`), killed mid-stream; two in this process, publishing
//! every few milliseconds.
//! - The others keep every delivery, local and cross-instance: each watcher
//!   on them gets every message once, in order.
//! - The killed instance's clients (`ori::client::Client` with the other two
//!   as fallback URLs) reconnect elsewhere, join their topics again from the
//!   last position they saw, and miss nothing: history fills the gap.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ori::client::{Client, ClientEvent};
use ori::pubsub::RedisBackend;
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, WsClient, cross_instance};
use serde_json::json;

/// Messages published on each topic, one every [`EVERY`].
const PUBLISHES: u64 = 1_000;
const EVERY: Duration = Duration::from_millis(4);
/// When the instance is killed, after the first publish.
const KILL_AFTER: Duration = Duration::from_millis(1_500);
/// Clients of the killed instance.
const DISPLACED: usize = 12;

async fn instance(redis: &RedisServer) -> LiveServer {
    let (pattern, kept, ttl) = cross_instance::HISTORY;
    let app = cross_instance::app(RedisBackend::new(redis.url())).history(pattern, kept, ttl);
    LiveServer::start(app).await
}

/// The `instance_peer` process on `redis`, and its WebSocket URL.
fn peer(redis: &RedisServer) -> (Child, String) {
    ori_tests::spawn_listening(
        Command::new(env!("CARGO_BIN_EXE_instance_peer")).env("ORI_PUBSUB_URL", redis.url()),
    )
}

/// What one client saw of `hist:k`.
#[derive(Debug, Default)]
struct Seen {
    numbers: Vec<u64>,
    /// After the kill: when it was open again, and when it had recovered.
    reopened: Option<Duration>,
    recovered: Option<(bool, Duration)>,
}

/// Reads `client`'s events until the last number arrives (or 20 s pass).
async fn watch(client: Client, killed: tokio::sync::watch::Receiver<Option<Instant>>) -> (Seen, Client) {
    let mut events = client.events();
    let mut seen = Seen::default();
    let since_kill = || killed.borrow().map(|at| at.elapsed()).unwrap_or_default();
    let reading = async {
        while let Some(event) = events.recv().await {
            match event.expect("the listener keeps up") {
                ClientEvent::Message(push) => {
                    let n: u64 = push.data().unwrap();
                    seen.numbers.push(n);
                    if n == PUBLISHES {
                        return;
                    }
                }
                ClientEvent::Open { reconnected: true } => seen.reopened = Some(since_kill()),
                ClientEvent::Recovered { recovered, .. } => seen.recovered = Some((recovered, since_kill())),
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(20), reading).await;
    (seen, client)
}

/// `room.message` numbers on `client` until the last arrives (panics after
/// 5 s of silence).
async fn live_numbers(mut client: WsClient) -> (Vec<u64>, WsClient) {
    let mut got = Vec::new();
    loop {
        let message = client.recv().await;
        let n = message["data"].as_u64().unwrap_or_else(|| panic!("a number: {message}"));
        got.push(n);
        if n == PUBLISHES {
            return (got, client);
        }
    }
}

fn every_number() -> Vec<u64> {
    (1..=PUBLISHES).collect()
}

// Two threads: the clients and both instances share them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_loses_nothing_its_clients_land_elsewhere_and_recover() {
    let Some(redis) = RedisServer::start() else { return };
    let (mut doomed, doomed_url) = peer(&redis);
    let (b, c) = (instance(&redis).await, instance(&redis).await);

    // The killed instance's clients; half list B first, half C.
    let (killed_tx, killed_rx) = tokio::sync::watch::channel(None);
    let mut displaced = Vec::new();
    for i in 0..DISPLACED {
        let (first, second) = if i % 2 == 0 { (&b, &c) } else { (&c, &b) };
        let client = Client::builder(&doomed_url)
            .fallback_url(first.url())
            .fallback_url(second.url())
            .connect()
            .await
            .expect("the doomed instance answers");
        client.subscribe("hist:k").await.unwrap();
        displaced.push(tokio::spawn(watch(client, killed_rx.clone())));
    }
    // Watchers on the survivors: `hist:k` through the client, `live:k` (no
    // history) raw.
    let mut stayers = Vec::new();
    let mut live = Vec::new();
    for server in [&b, &c] {
        let client = Client::connect(server.url()).await.unwrap();
        client.subscribe("hist:k").await.unwrap();
        stayers.push(tokio::spawn(watch(client, killed_rx.clone())));
        let mut raw = server.connect().await;
        raw.subscribe("live:k").await;
        live.push(tokio::spawn(live_numbers(raw)));
    }
    assert_eq!(b.app.sockets().connection_count() + c.app.sockets().connection_count(), 4);
    // Every subscription is live on every instance before the first publish.
    for (server, topic, expected) in [(&b, "hist:k", DISPLACED + 2), (&c, "live:k", 2)] {
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.app.sockets().count_subscribers(topic).await != Ok(expected) {
            assert!(Instant::now() < deadline, "{topic}: subscribers not counted in 5 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // `hist:k` from B, `live:k` from C; SIGKILL the third mid-stream.
    let started = Instant::now();
    let mut ticks = tokio::time::interval(EVERY);
    let mut killed = false;
    for n in 1..=PUBLISHES {
        ticks.tick().await;
        b.app.sockets().publish("hist:k", json!({"type": "m", "data": n}).to_string()).unwrap();
        c.app.sockets().publish("live:k", json!({"type": "room.message", "data": n}).to_string()).unwrap();
        if !killed && started.elapsed() >= KILL_AFTER {
            doomed.kill().unwrap();
            doomed.wait().unwrap();
            killed_tx.send_replace(Some(Instant::now()));
            killed = true;
        }
    }
    assert!(killed, "publishing ended before the kill");
    let published_in = started.elapsed();

    let mut raw = Vec::new();
    for seen in live {
        let (seen, client) = seen.await.unwrap();
        assert_eq!(seen, every_number(), "a survivor's live delivery");
        raw.push(client);
    }
    let mut clients = Vec::new();
    for seen in stayers {
        let (seen, client) = seen.await.unwrap();
        clients.push(client);
        assert_eq!(seen.numbers, every_number(), "a survivor's history topic");
        assert_eq!((seen.reopened, seen.recovered), (None, None), "never dropped");
    }
    let mut reopened = Vec::new();
    let mut recovered = Vec::new();
    for seen in displaced {
        let (seen, client) = seen.await.unwrap();
        clients.push(client);
        assert_eq!(seen.numbers, every_number(), "a displaced client: nothing lost, nothing twice, in order");
        reopened.push(seen.reopened.expect("it reconnected"));
        let (complete, after) = seen.recovered.expect("it joined again from its position");
        assert!(complete, "history had everything it missed");
        recovered.push(after);
    }
    assert_eq!(
        b.app.sockets().connection_count() + c.app.sockets().connection_count(),
        4 + DISPLACED,
        "every displaced client landed on a survivor"
    );
    for client in clients {
        client.close().await;
    }
    reopened.sort();
    recovered.sort();
    eprintln!(
        "{PUBLISHES} messages per topic in {published_in:?}, instance killed at {KILL_AFTER:?}; \
         its {DISPLACED} clients open elsewhere after {:?} (median) / {:?} (last), recovered after {:?} / {:?}",
        reopened[DISPLACED / 2],
        reopened[DISPLACED - 1],
        recovered[DISPLACED / 2],
        recovered[DISPLACED - 1],
    );
}
