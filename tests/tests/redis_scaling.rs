//! ori across instances on Redis: several servers sharing one real
//! `redis-server` (started per test on a free port) behave as one, and keep
//! serving through a Redis outage. The scenarios every broker passes are
//! `ori_tests::broker_suite`'s; what is Redis's own (its channels, its
//! connections, `PUBLISH`'s receiver count) is here.

use std::time::{Duration, Instant};

use ori::pubsub::{RedisBackend, RedisBackendBuilder};
use ori::{Ori, WebSocketConfig};
use ori_tests::LiveServer;
use ori_tests::broker_suite::{self, eventually, instances, next_in_order};
use ori_tests::cross_instance::{self, message, say_on};
use ori_tests::redis_server::RedisServer;
use serde_json::json;

ori_tests::broker_suite!(RedisServer);

/// One instance on `redis`, returning its backend to read the counters.
async fn instance(builder: RedisBackendBuilder) -> (LiveServer, RedisBackend) {
    broker_suite::instance(builder.build()).await
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
    assert!(degraded_redis.stats().outage > Duration::ZERO, "the outage counts from start-up");

    redis.resume();
    eventually("the degraded instance connects", || degraded_redis.stats().connected).await;
    eventually("its subscriptions are made", || redis.channels().contains(&"ori:room".to_owned())).await;
    let (other, _) = instance(RedisBackend::builder(redis.url())).await;
    other.app.sockets().publish("room", r#"{"type":"x","data":"remote"}"#).unwrap();
    assert_eq!(b.recv().await, json!({"type": "x", "data": "remote"}));
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
