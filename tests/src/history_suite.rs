//! PROTOCOL.md "History and recovery" across instances, once for every
//! broker that keeps history (Redis, a Redis Cluster, NATS JetStream):
//! one offset sequence per topic whoever publishes, delivery in offset order
//! everywhere, recovery on another instance to the exact bound, the time to
//! live, a broker back without its data (a new epoch, announced), and a
//! subscribe while the broker is down. [`history_suite!`](crate::history_suite!)
//! makes the tests of one broker; what only one broker has stays in its file.

use std::time::{Duration, Instant};

use ori::pubsub::{BackendStats, PubSubBackend};
use serde_json::{Value, json};

use crate::broker_suite::{Broker, Settings};
use crate::{LiveServer, WsClient, cross_instance};

/// Messages kept per topic.
pub const KEPT: usize = 1_000;

/// The tests of one broker: every scenario of this module.
/// `history_suite!(NatsServer);` in a test file.
#[macro_export]
macro_rules! history_suite {
    ($broker:ty) => {
        $crate::history_suite!(@tests $broker;
            one_offset_sequence_whoever_publishes_delivered_in_order_everywhere,
            a_client_recovers_on_another_instance_exactly_to_the_bound,
            messages_older_than_the_ttl_are_not_recovered,
            a_broker_back_empty_is_a_new_epoch_announced_before_its_first_message,
            with_the_broker_down_a_subscribe_is_live_without_a_position,
        );
    };
    (@tests $broker:ty; $($scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                $crate::history_suite::$scenario::<$broker>().await;
            }
        )*
    };
}

/// An instance keeping `hist:*` (`KEPT` messages, `ttl`), and its backend.
pub async fn instance_with<B: Broker>(
    broker: &B,
    settings: Settings,
    ttl: Duration,
) -> (LiveServer, B::Backend) {
    let backend = broker.backend(settings);
    let app = cross_instance::app(backend.clone()).history("hist:*", KEPT, ttl);
    (LiveServer::start(app).await, backend)
}

async fn instances<B: Broker>(broker: &B, count: usize) -> Vec<LiveServer> {
    let mut servers = Vec::new();
    for _ in 0..count {
        servers.push(instance_with(broker, Settings::default(), Duration::from_secs(300)).await.0);
    }
    servers
}

fn fast() -> Settings {
    Settings {
        reconnect: Some((Duration::from_millis(20), Duration::from_millis(100))),
        ..Settings::default()
    }
}

fn stats(backend: &impl PubSubBackend) -> BackendStats {
    backend.stats().expect("a broker backend reports its counters")
}

/// Subscribes with `data`; the acknowledgement's data.
pub async fn subscribe(c: &mut WsClient, data: Value) -> Value {
    let ack = c.request(json!({"type": "subscribe", "data": data, "correlationId": "s"})).await;
    assert_eq!(ack["type"], "subscribe", "{ack}");
    ack["data"].clone()
}

/// The `(data, offset)` of the next `n` messages of `topic`.
pub async fn received(c: &mut WsClient, topic: &str, n: usize) -> Vec<(Value, u64)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let m = c.recv().await;
        assert_eq!(m["topic"], topic, "{m}");
        out.push((m["data"].clone(), m["offset"].as_u64().unwrap_or_else(|| panic!("no offset: {m}"))));
    }
    out
}

/// Publishes each of `texts` on `topic` from `server`.
pub fn publish(server: &LiveServer, topic: &str, texts: impl IntoIterator<Item = String>) {
    for text in texts {
        server.app.sockets().publish(topic, cross_instance::message(&text).to_string()).unwrap();
    }
}

/// Publishes from three instances and a client share one offset sequence,
/// delivered in offset order on every instance (never back to the client).
pub async fn one_offset_sequence_whoever_publishes_delivered_in_order_everywhere<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 3).await;
    let mut clients = Vec::new();
    for server in &servers {
        let mut c = server.connect().await;
        assert_eq!(subscribe(&mut c, json!({"topic": "hist:1"})).await["offset"], 0);
        clients.push(c);
    }
    // One publish from a client (not delivered back to it), first: its
    // acknowledgement is then the next message it gets, not one of the
    // others in flight. Then interleaved publishes from all three instances.
    cross_instance::say_on(&mut clients[1], "hist:1", "from a client").await;
    for round in 0..20 {
        for (i, server) in servers.iter().enumerate() {
            publish(server, "hist:1", [format!("{round}/{i}")]);
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let expected = if i == 1 { 60 } else { 61 };
        let got = received(c, "hist:1", expected).await;
        let offsets: Vec<u64> = got.iter().map(|(_, o)| *o).collect();
        let mut sorted = offsets.clone();
        sorted.sort_unstable();
        assert_eq!(offsets, sorted, "instance {i}: in offset order");
        if i != 1 {
            assert_eq!(offsets, (1..=61).collect::<Vec<_>>(), "instance {i}: every offset once");
        }
        // Per publisher, in publish order.
        for publisher in 0..3 {
            let mine: Vec<&Value> = got
                .iter()
                .map(|(d, _)| d)
                .filter(|d| d.as_str().is_some_and(|s| s.ends_with(&format!("/{publisher}"))))
                .collect();
            let expected: Vec<String> = (0..20).map(|r| format!("{r}/{publisher}")).collect();
            assert_eq!(mine, expected.iter().collect::<Vec<_>>());
        }
        c.assert_silent().await;
    }
}

/// A client back on another instance recovers what it missed, exactly up
/// to the number of messages kept; one further behind does not.
pub async fn a_client_recovers_on_another_instance_exactly_to_the_bound<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 2).await;
    let mut first = servers[0].connect().await;
    let epoch = subscribe(&mut first, json!({"topic": "hist:r"})).await["epoch"].clone();
    publish(&servers[1], "hist:r", (1..=3).map(|n| n.to_string()));
    assert_eq!(received(&mut first, "hist:r", 3).await.last().unwrap().1, 3);
    first.close().await;

    publish(&servers[1], "hist:r", (4..=KEPT as u64 + 3).map(|n| n.to_string()));
    let mut back = servers[1].connect().await;
    // Wait for the last publish to land: the acknowledgement says where the topic is.
    let mut last = 0;
    for _ in 0..100 {
        let mut probe = servers[0].connect().await;
        last = subscribe(&mut probe, json!({"topic": "hist:r"})).await["offset"].as_u64().unwrap();
        if last == KEPT as u64 + 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last, KEPT as u64 + 3);
    let started = Instant::now();
    let ack = subscribe(&mut back, json!({"topic": "hist:r", "since": {"epoch": epoch, "offset": 3}})).await;
    assert_eq!(ack, json!({"topic": "hist:r", "epoch": epoch, "offset": last, "recovered": true}));
    let replay = received(&mut back, "hist:r", KEPT).await;
    let took = started.elapsed();
    assert_eq!(replay.iter().map(|(_, o)| *o).collect::<Vec<_>>(), (4..=last).collect::<Vec<_>>());
    assert_eq!(replay[0].0, json!("4"));
    eprintln!("recovered {KEPT} messages through the broker in {took:?}");
    back.assert_silent().await;

    let mut behind = servers[0].connect().await;
    let ack =
        subscribe(&mut behind, json!({"topic": "hist:r", "since": {"epoch": epoch, "offset": 2}})).await;
    assert_eq!(ack["recovered"], false, "one further behind than kept: {ack}");
    behind.assert_silent().await;
}

/// Past the time to live a message is not recovered, and the epoch stays.
pub async fn messages_older_than_the_ttl_are_not_recovered<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let (server, _) = instance_with(&broker, Settings::default(), Duration::from_millis(300)).await;
    let mut c = server.connect().await;
    let epoch = subscribe(&mut c, json!({"topic": "hist:ttl"})).await["epoch"].clone();
    publish(&server, "hist:ttl", ["1".to_owned()]);
    received(&mut c, "hist:ttl", 1).await;
    publish(&server, "hist:ttl", ["2".to_owned()]);
    received(&mut c, "hist:ttl", 1).await;
    let mut fresh = server.connect().await;
    let ack =
        subscribe(&mut fresh, json!({"topic": "hist:ttl", "since": {"epoch": epoch, "offset": 1}})).await;
    assert_eq!(ack["recovered"], true, "within the ttl: {ack}");
    received(&mut fresh, "hist:ttl", 1).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut late = server.connect().await;
    let ack =
        subscribe(&mut late, json!({"topic": "hist:ttl", "since": {"epoch": epoch, "offset": 1}})).await;
    assert_eq!(ack["recovered"], false, "past the ttl: {ack}");
    assert_eq!(ack["epoch"], epoch, "the epoch outlives the messages");
    assert_eq!(ack["offset"], 2);
}

/// A broker back without its data starts a new epoch, announced to the
/// subscribers before its first message.
pub async fn a_broker_back_empty_is_a_new_epoch_announced_before_its_first_message<B: Broker>() {
    let Some(mut broker) = B::start() else { return };
    let (server, backend) = instance_with(&broker, fast(), Duration::from_secs(300)).await;
    let mut c = server.connect().await;
    let epoch = subscribe(&mut c, json!({"topic": "hist:e"})).await["epoch"].clone();
    publish(&server, "hist:e", ["1".to_owned()]);
    assert_eq!(received(&mut c, "hist:e", 1).await[0].1, 1);

    broker.restart_empty();
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats(&backend).reconnects == 0 {
        assert!(Instant::now() < deadline, "no reconnection");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    publish(&server, "hist:e", ["2".to_owned()]);
    let change = c.recv().await;
    assert_eq!(change["type"], "subscribe", "{change}");
    assert!(change.get("correlationId").is_none());
    let new_epoch = change["data"]["epoch"].clone();
    assert_ne!(new_epoch, epoch);
    assert_eq!(
        change["data"],
        json!({"topic": "hist:e", "epoch": new_epoch, "offset": 0, "recovered": false})
    );
    let first = c.recv().await;
    assert_eq!((first["data"].clone(), first["offset"].clone()), (json!("2"), json!(1)));
    publish(&server, "hist:e", ["3".to_owned()]);
    assert_eq!(received(&mut c, "hist:e", 1).await[0].1, 2);
    c.assert_silent().await;
    // A client of the old epoch does not recover.
    let mut old = server.connect().await;
    let ack = subscribe(&mut old, json!({"topic": "hist:e", "since": {"epoch": epoch, "offset": 1}})).await;
    assert_eq!(ack["recovered"], false);
}

/// With the broker down a subscribe is acknowledged without a position,
/// and what is published meanwhile arrives, positioned, once it is back.
pub async fn with_the_broker_down_a_subscribe_is_live_without_a_position<B: Broker>() {
    let Some(mut broker) = B::start() else { return };
    let (server, backend) = instance_with(&broker, fast(), Duration::from_secs(300)).await;
    broker.kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats(&backend).connected {
        assert!(Instant::now() < deadline, "the outage was not noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = server.connect().await;
    let ack = subscribe(&mut c, json!({"topic": "hist:down", "since": {"epoch": "E", "offset": 3}})).await;
    assert_eq!(ack, json!({"topic": "hist:down", "recovered": false}));
    // Publishes wait for the broker (within the outage buffer), then arrive with positions.
    publish(&server, "hist:down", ["1".to_owned()]);
    broker.resume();
    assert_eq!(received(&mut c, "hist:down", 1).await[0], (json!("1"), 1));
}
