//! One suite for every broker that carries ori across instances (Redis,
//! NATS): each scenario is written once, generic over [`Broker`], and
//! [`broker_suite!`](crate::broker_suite!) makes the tests of one broker from
//! all of them. What holds on one broker holds on all; what only one has
//! (Redis's channels, NATS's membership) stays in that broker's test file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ori::RawMessage;
use ori::pubsub::{BackendStats, NatsBackend, PubSubBackend, RedisBackend};
use serde_json::json;

use crate::cross_instance::{self, message, say_on};
use crate::nats_server::NatsServer;
use crate::redis_cluster::RedisCluster;
use crate::redis_server::RedisServer;
use crate::{Event, LiveServer, WAIT, WsClient};

/// What a scenario asks of a backend beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Publishes kept during an outage.
    pub outage_buffer: Option<usize>,
    /// The reconnection backoff (first wait, longest wait).
    pub reconnect: Option<(Duration, Duration)>,
    /// The prefix of the broker's channels or subjects.
    pub prefix: Option<&'static str>,
    /// How long a silent instance keeps its presence.
    pub presence_expiry: Option<Duration>,
}

/// A broker server the test starts on a free port, and stops and starts
/// again for outages.
pub trait Broker: Sized {
    /// The backend on it (cloned to read its counters).
    type Backend: PubSubBackend + Clone;

    /// Starts the server; `None` when it is not installed and skipping is
    /// allowed ([`tool_missing`](crate::tool_missing)).
    fn start() -> Option<Self>;
    /// A backend on this server.
    fn backend(&self, settings: Settings) -> Self::Backend;
    /// The URL of this server, as `ori::pubsub::from_url` takes it (for
    /// instances in processes of their own).
    fn url(&self) -> String;
    /// Kills the server (an outage).
    fn kill(&mut self);
    /// Starts it again on the same port.
    fn resume(&mut self);
    /// Stops it and starts it again without the data it kept (history).
    fn restart_empty(&mut self) {
        self.kill();
        self.resume();
    }
}

/// A Redis backend at `url` (one Redis, or `redis+cluster://`) with `settings`.
fn redis_backend(url: String, settings: Settings) -> RedisBackend {
    let mut builder = RedisBackend::builder(url);
    if let Some(messages) = settings.outage_buffer {
        builder = builder.outage_buffer(messages);
    }
    if let Some((min, max)) = settings.reconnect {
        builder = builder.reconnect_backoff(min, max);
    }
    if let Some(prefix) = settings.prefix {
        builder = builder.channel_prefix(format!("{prefix}:"));
    }
    if let Some(expiry) = settings.presence_expiry {
        builder = builder.presence_expiry(expiry);
    }
    builder.build()
}

impl Broker for RedisServer {
    type Backend = RedisBackend;

    fn start() -> Option<Self> {
        RedisServer::start()
    }

    fn backend(&self, settings: Settings) -> RedisBackend {
        redis_backend(self.url(), settings)
    }

    fn url(&self) -> String {
        RedisServer::url(self)
    }

    fn kill(&mut self) {
        RedisServer::kill(self);
    }

    fn resume(&mut self) {
        RedisServer::resume(self);
    }
}

impl Broker for RedisCluster {
    type Backend = RedisBackend;

    fn start() -> Option<Self> {
        RedisCluster::start()
    }

    fn backend(&self, settings: Settings) -> RedisBackend {
        redis_backend(self.url(), settings)
    }

    fn url(&self) -> String {
        RedisCluster::url(self)
    }

    fn kill(&mut self) {
        RedisCluster::kill(self);
    }

    fn resume(&mut self) {
        // Not waiting for `cluster_state:ok`: that would block the test's
        // runtime, where the instances run, for seconds.
        self.restart_killed();
    }
}

impl Broker for NatsServer {
    type Backend = NatsBackend;

    fn start() -> Option<Self> {
        NatsServer::start()
    }

    fn backend(&self, settings: Settings) -> NatsBackend {
        let mut builder = NatsBackend::builder(self.url());
        if let Some(messages) = settings.outage_buffer {
            builder = builder.outage_buffer(messages);
        }
        if let Some((min, max)) = settings.reconnect {
            builder = builder.reconnect_backoff(min, max);
        }
        if let Some(prefix) = settings.prefix {
            builder = builder.subject_prefix(prefix);
        }
        if let Some(expiry) = settings.presence_expiry {
            builder = builder.presence_expiry(expiry);
        }
        builder.build()
    }

    fn url(&self) -> String {
        NatsServer::url(self)
    }

    fn kill(&mut self) {
        NatsServer::kill(self);
    }

    fn resume(&mut self) {
        NatsServer::resume(self);
    }

    fn restart_empty(&mut self) {
        NatsServer::restart_empty(self);
    }
}

/// The tests of one broker: every scenario of this module, named as here.
/// `broker_suite!(RedisServer);` in a test file.
#[macro_export]
macro_rules! broker_suite {
    ($broker:ty) => {
        $crate::broker_suite!(@tests $broker;
            a_publish_reaches_every_instance_once_and_never_the_sender,
            server_publish_broadcast_and_direct_sends_cross_instances,
            a_message_published_after_the_subscribe_ack_always_arrives,
            ten_thousand_messages_from_one_publisher_arrive_in_order,
            binary_and_text_publishes_cross_instances_as_they_were_published,
            an_outage_keeps_local_traffic_and_replays_buffered_publishes,
            publishes_past_the_outage_buffer_are_dropped_and_counted,
            traffic_resumes_without_duplicates_when_the_broker_restarts_mid_stream,
            instances_with_different_prefixes_do_not_share_topics,
            a_socket_is_controlled_from_any_instance,
            counts_cover_every_instance,
            a_socket_connected_nowhere_is_not_found_at_once,
        );
    };
    (@tests $broker:ty; $($scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                $crate::broker_suite::$scenario::<$broker>().await;
            }
        )*
    };
}

/// Polls `check` until it holds, at most [`WAIT`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One instance of `cross_instance::app` on `backend`, and the backend (for its counters).
pub async fn instance<B: PubSubBackend + Clone>(backend: B) -> (LiveServer, B) {
    (LiveServer::start(cross_instance::app(backend.clone())).await, backend)
}

/// `count` instances with default settings.
pub async fn instances<B: Broker>(broker: &B, count: usize) -> Vec<LiveServer> {
    let mut servers = Vec::new();
    for _ in 0..count {
        servers.push(instance(broker.backend(Settings::default())).await.0);
    }
    servers
}

fn stats(backend: &impl PubSubBackend) -> BackendStats {
    backend.stats().expect("a broker backend reports its counters")
}

/// Reads `{"type":"n","data":N}` messages, checking each is newer than the last.
pub async fn next_in_order(client: &mut WsClient, last: &mut Option<u64>) -> u64 {
    let received = client.recv().await;
    let n = received["data"].as_u64().unwrap_or_else(|| panic!("a sequence number: {received}"));
    assert!(last.is_none_or(|last| n > last), "{n} arrived after {last:?}: duplicated or reordered");
    *last = Some(n);
    n
}

/// A publish reaches every other instance's subscribers once, never the sender.
pub async fn a_publish_reaches_every_instance_once_and_never_the_sender<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 3).await;
    cross_instance::a_publish_reaches_every_instance_once_and_never_the_sender(&servers).await;
}

/// Server-level publishes, broadcasts and direct sends cross instances.
pub async fn server_publish_broadcast_and_direct_sends_cross_instances<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 2).await;
    cross_instance::server_level_sends_cross_instances(&servers[0], &servers[1]).await;
}

/// A subscribe is acknowledged once the broker delivers the topic to it.
pub async fn a_message_published_after_the_subscribe_ack_always_arrives<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 2).await;
    let mut subscriber = servers[1].connect().await;
    // A fresh topic each round (with a dot: one token on NATS): the ack must wait for the broker.
    for round in 0..50 {
        let topic = format!("race.{round}");
        subscriber.subscribe(&topic).await;
        servers[0].app.sockets().publish(&topic, format!(r#"{{"type":"r","data":{round}}}"#)).unwrap();
        assert_eq!(subscriber.recv().await, json!({"type": "r", "data": round}), "round {round}");
    }
}

/// In order per publisher, and nothing extra.
pub async fn ten_thousand_messages_from_one_publisher_arrive_in_order<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 2).await;
    let mut subscriber = servers[1].connect().await;
    subscriber.subscribe("seq").await;
    let sockets = servers[0].app.sockets().clone();
    let publisher = tokio::spawn(async move {
        for n in 0..10_000 {
            sockets.publish("seq", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
            if n % 500 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    for n in 0..10_000 {
        assert_eq!(subscriber.recv().await, json!({"type": "n", "data": n}));
    }
    publisher.await.unwrap();
    subscriber.assert_silent().await;
}

/// A binary publish stays binary across instances, a text one text.
pub async fn binary_and_text_publishes_cross_instances_as_they_were_published<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 2).await;
    let mut receiver = servers[1].connect().await;
    receiver.subscribe("room:bin").await;
    let sockets = servers[0].app.sockets();
    sockets.publish("room:bin", RawMessage::Binary(vec![0u8, 0xff, 7].into())).unwrap();
    assert_eq!(receiver.next_event().await, Event::Binary(vec![0, 0xff, 7]));
    sockets.publish("room:bin", r#"{"type":"room.message","data":"text"}"#).unwrap();
    assert_eq!(receiver.recv().await, message("text"), "text stays text");
}

/// During an outage local traffic goes on; what was published is sent once
/// the broker is back, and subscriptions made meanwhile go live.
pub async fn an_outage_keeps_local_traffic_and_replays_buffered_publishes<B: Broker>() {
    let Some(mut broker) = B::start() else { return };
    // The publishing instance reconnects slowly, so the other one listens
    // again before the buffered publishes are sent.
    let slow =
        Settings { reconnect: Some((Duration::from_secs(1), Duration::from_secs(1))), ..Settings::default() };
    let fast = Settings {
        reconnect: Some((Duration::from_millis(20), Duration::from_millis(20))),
        ..Settings::default()
    };
    let (publisher, publisher_backend) = instance(broker.backend(slow)).await;
    let (receiver, receiver_backend) = instance(broker.backend(fast)).await;
    let mut sender = publisher.connect().await;
    let mut local = publisher.connect().await;
    let mut remote = receiver.connect().await;
    local.subscribe("room").await;
    remote.subscribe("room").await;

    broker.kill();
    eventually("both instances notice the outage", || {
        !stats(&publisher_backend).connected && !stats(&receiver_backend).connected
    })
    .await;
    assert!(!publisher_backend.is_ready(), "/readyz says so");

    // Local traffic goes on: connects, subscribes (acknowledged at once), publishes.
    let mut late = receiver.connect().await;
    late.subscribe("joined-during-outage").await;
    say_on(&mut sender, "room", "during").await;
    assert_eq!(local.recv().await, message("during"));

    broker.resume();
    eventually("both instances reconnect", || {
        stats(&publisher_backend).connected && stats(&receiver_backend).connected
    })
    .await;

    // The buffered publish is sent once the publisher is back.
    assert_eq!(remote.recv().await, message("during"));
    // The subscription made during the outage is live now.
    let deadline = Instant::now() + WAIT;
    loop {
        publisher.app.sockets().publish("joined-during-outage", r#"{"type":"x","data":1}"#).unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), late.recv()).await {
            assert_eq!(got, json!({"type": "x", "data": 1}));
            break;
        }
        assert!(Instant::now() < deadline, "the subscription made during the outage never went live");
    }

    let stats = stats(&publisher_backend);
    assert_eq!((stats.reconnects, stats.dropped), (1, 0), "{stats:?}");
    assert!(stats.outage > Duration::ZERO);
    local.assert_silent().await;
    remote.assert_silent().await;
}

/// Past the outage buffer, publishes are dropped, counted, and never sent.
pub async fn publishes_past_the_outage_buffer_are_dropped_and_counted<B: Broker>() {
    let Some(mut broker) = B::start() else { return };
    let (publisher, publisher_backend) = instance(broker.backend(Settings {
        outage_buffer: Some(2),
        reconnect: Some((Duration::from_millis(500), Duration::from_millis(500))),
        ..Settings::default()
    }))
    .await;
    let fast = Settings {
        reconnect: Some((Duration::from_millis(20), Duration::from_millis(20))),
        ..Settings::default()
    };
    let (receiver, receiver_backend) = instance(broker.backend(fast)).await;
    let mut remote = receiver.connect().await;
    remote.subscribe("room").await;

    broker.kill();
    eventually("the publisher notices the outage", || !stats(&publisher_backend).connected).await;
    for n in 0..5 {
        publisher.app.sockets().publish("room", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
    }
    broker.resume();
    eventually("both instances reconnect", || {
        stats(&publisher_backend).connected && stats(&receiver_backend).connected
    })
    .await;

    // The oldest two were kept, in order; three were dropped.
    assert_eq!(remote.recv().await, json!({"type": "n", "data": 0}));
    assert_eq!(remote.recv().await, json!({"type": "n", "data": 1}));
    remote.assert_silent().await;
    assert_eq!(stats(&publisher_backend).dropped, 3);
}

/// A stream of publishes resumes after a restart of the broker, in order
/// and without duplicates (some may be lost: at most once).
pub async fn traffic_resumes_without_duplicates_when_the_broker_restarts_mid_stream<B: Broker>() {
    let Some(mut broker) = B::start() else { return };
    let fast = Settings {
        reconnect: Some((Duration::from_millis(20), Duration::from_millis(50))),
        ..Settings::default()
    };
    let (publisher, publisher_backend) = instance(broker.backend(fast)).await;
    let (receiver, receiver_backend) = instance(broker.backend(fast)).await;
    let mut remote = receiver.connect().await;
    remote.subscribe("stream").await;

    let sockets = publisher.app.sockets().clone();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let stream = tokio::spawn(async move {
        for n in 0u64.. {
            sockets.publish("stream", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
            counter.store(n, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });

    let mut last = None;
    while next_in_order(&mut remote, &mut last).await < 100 {}
    broker.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.resume();
    eventually("both instances reconnect", || {
        stats(&publisher_backend).connected && stats(&receiver_backend).connected
    })
    .await;
    let after_restart = sent.load(Ordering::Relaxed);
    while next_in_order(&mut remote, &mut last).await < after_restart + 100 {}
    stream.abort();
    assert_eq!(stats(&publisher_backend).reconnects, 1);
    assert_eq!(stats(&receiver_backend).reconnects, 1);
}

/// Instances share topics only when they share the prefix.
pub async fn instances_with_different_prefixes_do_not_share_topics<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let (one, _) = instance(broker.backend(Settings { prefix: Some("one"), ..Settings::default() })).await;
    let (two, _) = instance(broker.backend(Settings { prefix: Some("two"), ..Settings::default() })).await;
    let mut client = two.connect().await;
    client.subscribe("room").await;
    one.app.sockets().publish("room", r#"{"type":"x","data":null}"#).unwrap();
    client.assert_silent().await;
}

/// Disconnect, subscribe and unsubscribe a socket of another instance.
pub async fn a_socket_is_controlled_from_any_instance<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 3).await;
    cross_instance::a_socket_is_controlled_from_any_instance(&servers).await;
}

/// Counts from any instance are those of every instance.
pub async fn counts_cover_every_instance<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 3).await;
    cross_instance::counts_cover_every_instance(&servers).await;
}

/// A socket connected nowhere is "unknown socket" at once.
pub async fn a_socket_connected_nowhere_is_not_found_at_once<B: Broker>() {
    let Some(broker) = B::start() else { return };
    let servers = instances(&broker, 3).await;
    cross_instance::a_socket_connected_nowhere_is_not_found_at_once(&servers).await;
}
