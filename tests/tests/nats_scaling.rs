//! PROTOCOL.md "Pub/sub semantics" across instances on NATS: several ori
//! servers sharing one real `nats-server` (started per test on a free port)
//! behave as one, and keep serving through a NATS outage. The scenarios are
//! the Redis suite's (`ori_tests::cross_instance`), run on NATS.

use std::time::{Duration, Instant};

use ori::PubSubError;
use ori::pubsub::{NatsBackend, NatsBackendBuilder};
use ori_tests::cross_instance::{self, message, say_on};
use ori_tests::nats_server::NatsServer;
use ori_tests::{LiveServer, WAIT};
use serde_json::json;

/// One instance on NATS, returning its backend to read the counters.
async fn instance(builder: NatsBackendBuilder) -> (LiveServer, NatsBackend) {
    let backend = builder.build();
    (LiveServer::start(cross_instance::app(backend.clone())).await, backend)
}

async fn instances(nats: &NatsServer, count: usize) -> Vec<LiveServer> {
    let mut servers = Vec::new();
    for _ in 0..count {
        servers.push(instance(NatsBackend::builder(nats.url())).await.0);
    }
    servers
}

/// Polls `check` until it holds.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_publish_reaches_every_instance_once_and_never_the_sender() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 3).await;
    cross_instance::a_publish_reaches_every_instance_once_and_never_the_sender(&servers).await;
}

#[tokio::test]
async fn server_publish_broadcast_and_direct_sends_cross_instances() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 2).await;
    cross_instance::server_level_sends_cross_instances(&servers[0], &servers[1]).await;
}

#[tokio::test]
async fn a_message_published_after_the_subscribe_ack_always_arrives() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 2).await;
    let mut subscriber = servers[1].connect().await;
    // A fresh topic each round: the ack must wait for NATS to have the subscription.
    for round in 0..50 {
        let topic = format!("race.{round}");
        subscriber.subscribe(&topic).await;
        servers[0].app.sockets().publish(&topic, format!(r#"{{"type":"r","data":{round}}}"#)).unwrap();
        assert_eq!(subscriber.recv().await, json!({"type": "r", "data": round}), "round {round}");
    }
}

#[tokio::test]
async fn ten_thousand_messages_from_one_publisher_arrive_in_order() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 2).await;
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

#[tokio::test]
async fn an_outage_keeps_local_traffic_and_replays_buffered_publishes() {
    let Some(mut nats) = NatsServer::start() else { return };
    // The publishing instance reconnects slowly, so the other one has
    // subscribed again before the buffered publishes are sent.
    let (publisher, publisher_nats) = instance(
        NatsBackend::builder(nats.url()).reconnect_backoff(Duration::from_secs(1), Duration::from_secs(1)),
    )
    .await;
    let (receiver, receiver_nats) = instance(
        NatsBackend::builder(nats.url())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(20)),
    )
    .await;
    let mut sender = publisher.connect().await;
    let mut local = publisher.connect().await;
    let mut remote = receiver.connect().await;
    local.subscribe("room").await;
    remote.subscribe("room").await;

    nats.kill();
    eventually("both instances notice the outage", || {
        !publisher_nats.stats().connected && !receiver_nats.stats().connected
    })
    .await;

    // Local traffic goes on: connects, subscribes (acknowledged at once), publishes.
    let mut late = receiver.connect().await;
    late.subscribe("joined-during-outage").await;
    say_on(&mut sender, "room", "during").await;
    assert_eq!(local.recv().await, message("during"));

    nats.resume();
    eventually("both instances reconnect", || {
        publisher_nats.stats().connected && receiver_nats.stats().connected
    })
    .await;

    // The buffered publish is sent once the publisher is back.
    assert_eq!(remote.recv().await, message("during"));
    // The subscription made during the outage is live now.
    publisher.app.sockets().publish("joined-during-outage", r#"{"type":"x","data":1}"#).unwrap();
    assert_eq!(late.recv().await, json!({"type": "x", "data": 1}));

    let stats = publisher_nats.stats();
    assert_eq!((stats.reconnects, stats.dropped), (1, 0), "{stats:?}");
    assert!(stats.outage > Duration::ZERO);
    local.assert_silent().await;
    remote.assert_silent().await;
}

#[tokio::test]
async fn publishes_past_the_outage_buffer_are_dropped_and_counted() {
    let Some(mut nats) = NatsServer::start() else { return };
    let (publisher, publisher_nats) = instance(
        NatsBackend::builder(nats.url())
            .outage_buffer(2)
            .reconnect_backoff(Duration::from_millis(500), Duration::from_millis(500)),
    )
    .await;
    let (receiver, receiver_nats) = instance(
        NatsBackend::builder(nats.url())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(20)),
    )
    .await;
    let mut remote = receiver.connect().await;
    remote.subscribe("room").await;

    nats.kill();
    eventually("the publisher notices the outage", || !publisher_nats.stats().connected).await;
    for n in 0..5 {
        publisher.app.sockets().publish("room", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
    }
    nats.resume();
    eventually("both instances reconnect", || {
        publisher_nats.stats().connected && receiver_nats.stats().connected
    })
    .await;

    // The oldest two were kept, in order; three were dropped.
    assert_eq!(remote.recv().await, json!({"type": "n", "data": 0}));
    assert_eq!(remote.recv().await, json!({"type": "n", "data": 1}));
    remote.assert_silent().await;
    assert_eq!(publisher_nats.stats().dropped, 3);
}

#[tokio::test]
async fn foreign_messages_on_ori_subjects_are_skipped_and_counted() {
    let Some(nats) = NatsServer::start() else { return };
    let (server, backend) = instance(NatsBackend::builder(nats.url())).await;
    let mut client = server.connect().await;
    client.subscribe("room").await;

    for junk in [&b"hello"[..], br#"{"type":"room.message","data":"not framed"}"#, b""] {
        nats.publish_raw("ori.t.room", junk);
    }
    nats.publish_raw("ori.direct", b"\xc1junk");

    eventually("the junk is counted", || backend.stats().junk == 4).await;
    client.assert_silent().await;
    server.app.sockets().publish("room", r#"{"type":"ok","data":null}"#).unwrap();
    assert_eq!(client.recv().await, json!({"type": "ok", "data": null}));
}

#[tokio::test]
async fn instances_with_different_prefixes_do_not_share_topics() {
    let Some(nats) = NatsServer::start() else { return };
    let (one, _) = instance(NatsBackend::builder(nats.url()).subject_prefix("app1")).await;
    let (two, _) = instance(NatsBackend::builder(nats.url()).subject_prefix("app2")).await;
    let mut listener = two.connect().await;
    listener.subscribe("room").await;
    one.app.sockets().publish("room", r#"{"type":"x","data":1}"#).unwrap();
    listener.assert_silent().await;
}

#[tokio::test]
async fn an_unreachable_nats_fails_start_up_unless_degraded_start_is_allowed() {
    let Some(mut nats) = NatsServer::reserve() else { return };
    let app = cross_instance::app(
        NatsBackend::builder(nats.url()).connect_timeout(Duration::from_millis(500)).build(),
    );
    let error = app.bind("127.0.0.1:0").await.map(|_| ()).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("cannot connect to NATS at `nats://127.0.0.1:"), "{text}");
    assert!(text.contains("start_degraded(true)"), "{text}");

    let (server, backend) = instance(NatsBackend::builder(nats.url()).start_degraded(true)).await;
    assert!(!backend.stats().connected);
    let mut client = server.connect().await;
    client.subscribe("room").await; // acknowledged for local delivery
    nats.resume();
    eventually("it connects once NATS is up", || backend.stats().connected).await;
    let (other, _) = instance(NatsBackend::builder(nats.url())).await;
    // The subscription made before NATS was up is live now.
    let deadline = Instant::now() + WAIT;
    loop {
        other.app.sockets().publish("room", r#"{"type":"late","data":0}"#).unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), client.recv()).await {
            assert_eq!(got, json!({"type": "late", "data": 0}));
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never went live");
    }
}

#[tokio::test]
async fn a_socket_is_controlled_from_any_instance() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 3).await;
    cross_instance::a_socket_is_controlled_from_any_instance(&servers).await;
}

#[tokio::test]
async fn counts_cover_every_instance() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 3).await;
    cross_instance::counts_cover_every_instance(&servers).await;
}

#[tokio::test]
async fn a_socket_connected_nowhere_is_not_found_at_once() {
    let Some(nats) = NatsServer::start() else { return };
    let servers = instances(&nats, 3).await;
    cross_instance::a_socket_connected_nowhere_is_not_found_at_once(&servers).await;
}

#[tokio::test]
async fn a_member_that_does_not_answer_fails_a_count_and_one_that_said_bye_does_not() {
    let Some(nats) = NatsServer::start() else { return };
    let (asker, _) =
        instance(NatsBackend::builder(nats.url()).control_timeout(Duration::from_millis(300))).await;
    // Another program says it is an instance, and then never answers.
    let ghost = "ab".repeat(16);
    nats.publish_raw("ori.instances", format!("{ghost} beat").as_bytes());
    // (The asker hears the beat a moment after the server has it.)
    let deadline = Instant::now() + WAIT;
    let counted = loop {
        let counted = asker.app.sockets().count_connections().await;
        if counted != Ok(0) || Instant::now() > deadline {
            break counted;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        counted,
        Err(PubSubError::Backend("1 of 1 other instances did not answer within 300ms".to_owned()))
    );
    // Once it says bye, nobody is waited for.
    nats.publish_raw("ori.instances", format!("{ghost} bye").as_bytes());
    while asker.app.sockets().count_connections().await != Ok(0) {
        assert!(Instant::now() < deadline, "the ghost is still a member");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Junk on the membership subject is counted, not believed.
    nats.publish_raw("ori.instances", b"not an instance");
    assert_eq!(asker.app.sockets().count_connections().await, Ok(0));
}

#[tokio::test]
async fn a_stopped_instance_says_bye_and_is_not_waited_for() {
    let Some(nats) = NatsServer::start() else { return };
    let builder = || NatsBackend::builder(nats.url()).control_timeout(Duration::from_millis(200));
    let (stays, _) = instance(builder()).await;
    let (stops, _) = instance(builder()).await;
    let mut client = stops.connect().await;
    client.request(json!({"type": "ping"})).await;
    assert_eq!(stays.app.sockets().count_connections().await, Ok(1));
    stops.shutdown().await.unwrap();
    // Its `bye` reaches the other a moment later; then nobody is waited for,
    // long before the stopped instance would expire (3.5 s).
    let started = Instant::now();
    while stays.app.sockets().count_connections().await != Ok(0) {
        assert!(started.elapsed() < Duration::from_secs(2), "it waited for the stopped instance");
    }
}

#[test]
fn the_start_up_line_names_nats_without_credentials() {
    let backend = NatsBackend::new("nats://user:hunter2@127.0.0.1:4222");
    let name = ori::pubsub::PubSubBackend::name(&backend);
    assert_eq!(name, "NATS at nats://***@127.0.0.1:4222 (across instances)");
}
