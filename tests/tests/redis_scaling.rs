//! PROTOCOL.md "Pub/sub semantics" across instances: several ori servers
//! sharing one real `redis-server` (started per test on a free port) behave as
//! one, and keep serving through a Redis outage.

use std::time::{Duration, Instant};

use ori::pubsub::{RedisBackend, RedisBackendBuilder};
use ori::{Ori, WebSocketConfig};
use ori_tests::cross_instance::{self, message, say_on};
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, WAIT, WsClient};
use serde_json::json;

/// One instance on `redis`, returning its provider to read the counters.
async fn instance(builder: RedisBackendBuilder) -> (LiveServer, RedisBackend) {
    let provider = builder.build();
    (LiveServer::start(cross_instance::app(provider.clone())).await, provider)
}

async fn instances(redis: &RedisServer, count: usize) -> Vec<LiveServer> {
    let mut servers = Vec::new();
    for _ in 0..count {
        servers.push(instance(RedisBackend::builder(redis.url())).await.0);
    }
    servers
}

/// Polls `check` until it holds (Redis applies unsubscribes asynchronously).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_publish_reaches_every_instance_once_and_never_the_sender() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 3).await;
    cross_instance::a_publish_reaches_every_instance_once_and_never_the_sender(&servers).await;
}

#[tokio::test]
async fn server_publish_broadcast_and_direct_sends_cross_instances() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 2).await;
    cross_instance::server_level_sends_cross_instances(&servers[0], &servers[1]).await;
}

#[tokio::test]
async fn an_instance_holds_a_redis_channel_exactly_while_it_has_local_subscribers() {
    let Some(redis) = RedisServer::start() else { return };
    let (server, provider) = instance(RedisBackend::builder(redis.url()).channel_prefix("app:")).await;
    assert_eq!(provider.channel_of("room:1"), "app:room:1");
    let base = redis.channels();
    assert!(base.contains(&"app:#direct".to_owned()), "direct channel subscribed: {base:?}");

    let mut a = server.connect().await;
    let mut b = server.connect().await;
    a.subscribe("room:1").await;
    b.subscribe("room:1").await;
    assert!(redis.channels().contains(&"app:room:1".to_owned()));

    let ack = a.request(json!({"type": "unsubscribe", "data": {"topic": "room:1"}})).await;
    assert_eq!(ack["type"], "unsubscribe");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(redis.channels().contains(&"app:room:1".to_owned()), "b still subscribes");

    b.close().await;
    eventually("the channel is released after the last subscriber left", || {
        !redis.channels().contains(&"app:room:1".to_owned())
    })
    .await;
    drop(server);
}

#[tokio::test]
async fn a_message_published_after_the_subscribe_ack_always_arrives() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 2).await;
    let mut subscriber = servers[1].connect().await;
    // A fresh topic each round: the ack must wait for Redis to confirm the channel.
    for round in 0..50 {
        let topic = format!("race:{round}");
        subscriber.subscribe(&topic).await;
        servers[0].app.sockets().publish(&topic, format!(r#"{{"type":"r","data":{round}}}"#)).unwrap();
        assert_eq!(subscriber.recv().await, json!({"type": "r", "data": round}), "round {round}");
    }
}

#[tokio::test]
async fn ten_thousand_messages_from_one_publisher_arrive_in_order() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 2).await;
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
    let Some(mut redis) = RedisServer::start() else { return };
    // The publishing instance reconnects slowly, so the other one is
    // re-subscribed before the buffered publishes are replayed.
    let (publisher, publisher_redis) = instance(
        RedisBackend::builder(redis.url()).reconnect_backoff(Duration::from_secs(1), Duration::from_secs(1)),
    )
    .await;
    let (receiver, receiver_redis) = instance(
        RedisBackend::builder(redis.url())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(20)),
    )
    .await;
    let mut sender = publisher.connect().await;
    let mut local = publisher.connect().await;
    let mut remote = receiver.connect().await;
    local.subscribe("room").await;
    remote.subscribe("room").await;

    redis.kill();
    eventually("both instances notice the outage", || {
        !publisher_redis.stats().connected && !receiver_redis.stats().connected
    })
    .await;

    // Local traffic goes on: connects, subscribes (acknowledged at once), publishes.
    let mut late = receiver.connect().await;
    late.subscribe("joined-during-outage").await;
    say_on(&mut sender, "room", "during").await;
    assert_eq!(local.recv().await, message("during"));

    redis.resume();
    eventually("both instances reconnect", || {
        publisher_redis.stats().connected && receiver_redis.stats().connected
    })
    .await;

    // The buffered publish is replayed once the publisher is back.
    assert_eq!(remote.recv().await, message("during"));
    // The subscription made during the outage is live in Redis now.
    eventually("the outage subscription is made good", || {
        redis.channels().contains(&"ori:joined-during-outage".to_owned())
    })
    .await;
    publisher.app.sockets().publish("joined-during-outage", r#"{"type":"x","data":1}"#).unwrap();
    assert_eq!(late.recv().await, json!({"type": "x", "data": 1}));

    let stats = publisher_redis.stats();
    assert_eq!((stats.reconnects, stats.dropped), (1, 0), "{stats:?}");
    local.assert_silent().await;
    remote.assert_silent().await;
}

#[tokio::test]
async fn publishes_past_the_outage_buffer_are_dropped_and_counted() {
    let Some(mut redis) = RedisServer::start() else { return };
    let (publisher, publisher_redis) = instance(
        RedisBackend::builder(redis.url())
            .outage_buffer(2)
            .reconnect_backoff(Duration::from_millis(500), Duration::from_millis(500)),
    )
    .await;
    let (receiver, receiver_redis) = instance(
        RedisBackend::builder(redis.url())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(20)),
    )
    .await;
    let mut remote = receiver.connect().await;
    remote.subscribe("room").await;

    redis.kill();
    eventually("the publisher notices the outage", || !publisher_redis.stats().connected).await;
    for n in 0..5 {
        publisher.app.sockets().publish("room", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
    }
    redis.resume();
    eventually("both instances reconnect", || {
        publisher_redis.stats().connected && receiver_redis.stats().connected
    })
    .await;

    // The oldest two were kept, in order; three were dropped.
    assert_eq!(remote.recv().await, json!({"type": "n", "data": 0}));
    assert_eq!(remote.recv().await, json!({"type": "n", "data": 1}));
    remote.assert_silent().await;
    assert_eq!(publisher_redis.stats().dropped, 3);

    publisher.app.sockets().publish("room", r#"{"type":"n","data":"after"}"#).unwrap();
    assert_eq!(remote.recv().await, json!({"type": "n", "data": "after"}));
}

#[tokio::test]
async fn foreign_messages_on_ori_channels_are_ignored() {
    let Some(redis) = RedisServer::start() else { return };
    let (server, provider) = instance(RedisBackend::builder(redis.url())).await;
    let mut client = server.connect().await;
    client.subscribe("room").await;

    let mut raw = redis.connection();
    for junk in ["hello", r#"{"type":"room.message","data":"not framed"}"#, ""] {
        let _: i64 = redis::cmd("PUBLISH").arg("ori:room").arg(junk).query(&mut raw).unwrap();
    }
    let _: i64 = redis::cmd("PUBLISH").arg("ori:#direct").arg("\u{c1}junk").query(&mut raw).unwrap();
    // A command packet (kind 5, from another instance, for a socket) whose command is not JSON.
    let mut command = vec![0xC1, 5];
    command.extend_from_slice(&[1; 16]);
    command.extend_from_slice(&[2; 16]);
    command.extend_from_slice(b"7\nnot a command");
    let _: i64 = redis::cmd("PUBLISH").arg("ori:#direct").arg(command).query(&mut raw).unwrap();

    eventually("the junk is counted", || provider.stats().junk == 5).await;
    client.assert_silent().await;
    server.app.sockets().publish("room", r#"{"type":"ok","data":null}"#).unwrap();
    assert_eq!(client.recv().await, json!({"type": "ok", "data": null}));
}

#[tokio::test]
async fn instances_with_different_prefixes_do_not_share_topics() {
    let Some(redis) = RedisServer::start() else { return };
    let (one, _) = instance(RedisBackend::builder(redis.url()).channel_prefix("one:")).await;
    let (two, _) = instance(RedisBackend::builder(redis.url()).channel_prefix("two:")).await;
    let mut client = two.connect().await;
    client.subscribe("room").await;
    one.app.sockets().publish("room", r#"{"type":"x","data":null}"#).unwrap();
    client.assert_silent().await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_start_up_unless_degraded_start_is_allowed() {
    let Some(mut redis) = RedisServer::reserve() else { return };
    let app = Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default())
        .pubsub(RedisBackend::builder(redis.url()).connect_timeout(Duration::from_secs(1)).build());
    let error = app.bind("127.0.0.1:0").await.expect_err("Redis is down");
    let text = error.to_string();
    assert!(text.contains(&redis.url()) && text.contains("start_degraded"), "{text}");

    let (degraded, degraded_redis) = instance(
        RedisBackend::builder(redis.url())
            .start_degraded(true)
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(50)),
    )
    .await;
    let mut a = degraded.connect().await;
    let mut b = degraded.connect().await;
    b.subscribe("room").await;
    say_on(&mut a, "room", "local").await;
    assert_eq!(b.recv().await, message("local"));

    redis.resume();
    eventually("the degraded instance connects", || degraded_redis.stats().connected).await;
    eventually("its subscriptions are made", || redis.channels().contains(&"ori:room".to_owned())).await;
    let (other, _) = instance(RedisBackend::builder(redis.url())).await;
    other.app.sockets().publish("room", r#"{"type":"x","data":"remote"}"#).unwrap();
    assert_eq!(b.recv().await, json!({"type": "x", "data": "remote"}));
}

/// Reads `{"type":"n","data":N}` messages, checking each is newer than the last.
async fn next_in_order(client: &mut WsClient, last: &mut Option<u64>) -> u64 {
    let received = client.recv().await;
    let n = received["data"].as_u64().unwrap_or_else(|| panic!("a sequence number: {received}"));
    assert!(last.is_none_or(|last| n > last), "{n} arrived after {last:?}: duplicated or reordered");
    *last = Some(n);
    n
}

#[tokio::test]
async fn traffic_resumes_without_duplicates_when_redis_restarts_mid_stream() {
    let Some(mut redis) = RedisServer::start() else { return };
    let fast = || {
        RedisBackend::builder(redis.url())
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(50))
    };
    let (publisher, publisher_redis) = instance(fast()).await;
    let (receiver, receiver_redis) = instance(fast()).await;
    let mut remote = receiver.connect().await;
    remote.subscribe("stream").await;

    let sockets = publisher.app.sockets().clone();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    let stream = tokio::spawn(async move {
        for n in 0u64.. {
            sockets.publish("stream", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
            counter.store(n, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });

    let mut last = None;
    while next_in_order(&mut remote, &mut last).await < 100 {}
    redis.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.resume();
    eventually("both instances reconnect", || {
        publisher_redis.stats().connected && receiver_redis.stats().connected
    })
    .await;
    let after_restart = sent.load(std::sync::atomic::Ordering::Relaxed);
    while next_in_order(&mut remote, &mut last).await < after_restart + 100 {}
    stream.abort();
    assert_eq!(publisher_redis.stats().reconnects, 1);
    assert_eq!(receiver_redis.stats().reconnects, 1);
}

#[tokio::test]
async fn a_killed_publishing_connection_is_replaced() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 2).await;
    let mut remote = servers[1].connect().await;
    remote.subscribe("room").await;
    let publish =
        |n: u64| servers[0].app.sockets().publish("room", format!(r#"{{"type":"n","data":{n}}}"#)).unwrap();
    publish(0);
    let mut last = None;
    assert_eq!(next_in_order(&mut remote, &mut last).await, 0);

    // Kill the publishing connections only (subscriber connections are of type pubsub).
    let killed: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").query(&mut redis.connection()).unwrap();
    assert!(killed >= 2, "one publishing connection per instance, killed {killed}");

    // Publishes may be lost while the connection is replaced, never duplicated.
    let mut n = 1;
    let arrived = loop {
        publish(n);
        n += 1;
        if let Ok(received) = tokio::time::timeout(Duration::from_millis(50), remote.recv()).await {
            break received;
        }
        assert!(n < 200, "publishing never recovered");
    };
    last = arrived["data"].as_u64();
    assert!(last > Some(0), "{arrived}");
    // From here on, every publish arrives, in order.
    publish(n);
    while next_in_order(&mut remote, &mut last).await < n {}
    remote.assert_silent().await;
}

#[tokio::test]
async fn a_redis_that_stops_answering_is_detected_and_the_connection_replaced() {
    let Some(redis) = RedisServer::start() else { return };
    let (server, provider) = instance(
        RedisBackend::builder(redis.url())
            .health_check_interval(Duration::from_millis(100))
            .response_timeout(Duration::from_millis(300))
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(50)),
    )
    .await;
    let (other, _) = instance(RedisBackend::builder(redis.url())).await;
    let mut client = server.connect().await;
    client.subscribe("room").await;
    // Answered health checks change nothing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(provider.stats().reconnects, 0);

    // Redis stops answering (the connection stays open): only a health check notices.
    let _: () =
        redis::cmd("CLIENT").arg("PAUSE").arg(1500).arg("ALL").query(&mut redis.connection()).unwrap();
    eventually("the silent connection is replaced", || provider.stats().reconnects >= 1).await;
    eventually("and live again", || provider.stats().connected).await;
    eventually("re-subscribed", || redis.channels().contains(&"ori:room".to_owned())).await;
    other.app.sockets().publish("room", r#"{"type":"x","data":"after"}"#).unwrap();
    assert_eq!(client.recv().await, json!({"type": "x", "data": "after"}));
}

#[tokio::test]
async fn binary_and_text_publishes_cross_instances_as_they_were_published() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 2).await;
    let mut receiver = servers[1].connect().await;
    receiver.subscribe("room:bin").await;
    // A publish from instance 0 reaches instance 1's subscriber through Redis.
    let sockets = servers[0].app.sockets();
    sockets.publish("room:bin", ori::RawMessage::Binary(vec![0u8, 0xff, 7].into())).unwrap();
    assert_eq!(receiver.next_event().await, ori_tests::Event::Binary(vec![0, 0xff, 7]));
    sockets.publish("room:bin", r#"{"type":"room.message","data":"text"}"#).unwrap();
    assert_eq!(receiver.recv().await, message("text"), "text stays text");
}

#[tokio::test]
async fn a_socket_is_controlled_from_any_instance() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 3).await;
    cross_instance::a_socket_is_controlled_from_any_instance(&servers).await;
}

#[tokio::test]
async fn counts_cover_every_instance() {
    let Some(redis) = RedisServer::start() else { return };
    let servers = instances(&redis, 3).await;
    cross_instance::counts_cover_every_instance(&servers).await;
}

#[tokio::test]
async fn a_socket_connected_nowhere_is_not_found_at_once_without_a_storm() {
    let Some(redis) = RedisServer::start() else { return };
    let mut servers = Vec::new();
    let mut providers = Vec::new();
    for _ in 0..3 {
        let (server, provider) = instance(RedisBackend::builder(redis.url())).await;
        servers.push(server);
        providers.push(provider);
    }
    let published = |providers: &[RedisBackend]| providers.iter().map(|p| p.stats().published).sum::<u64>();
    let before = published(&providers);
    cross_instance::a_socket_connected_nowhere_is_not_found_at_once(&servers).await;
    // Three commands: each one request (a PUBLISH the asker makes itself)
    // and one answer from each of the two other instances (counted once
    // Redis confirmed the answer's publish, which can be just after it arrived).
    eventually("the answers are counted", || published(&providers) - before == 3 * 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(published(&providers) - before, 3 * 2, "nothing more was sent");
}

#[tokio::test]
async fn an_instance_that_does_not_answer_fails_a_count_instead_of_returning_part_of_it() {
    let Some(redis) = RedisServer::start() else { return };
    let (asker, _) =
        instance(RedisBackend::builder(redis.url()).control_timeout(Duration::from_millis(300))).await;
    // Another program on the direct channel: a listener that never answers.
    let mut connection = redis.connection();
    let mut silent = connection.as_pubsub();
    silent.subscribe("ori:#direct").unwrap();
    let started = Instant::now();
    let counted = asker.app.sockets().count_connections().await;
    assert_eq!(
        counted,
        Err(ori::PubSubError::Backend("1 of 1 other instances did not answer within 300ms".to_owned()))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}
