//! PROTOCOL.md "Presence" across instances, once for every broker that
//! keeps presence (Redis, a Redis Cluster, NATS JetStream): one member list
//! for every instance, a dead (SIGKILL) or paused (SIGSTOP) instance's
//! members leave within the expiry, a paused one's come back when it
//! resumes, changes made during an outage converge, a broker back without
//! its data gives watchers a new state, and a graceful shutdown sends its
//! leaves at once. [`presence_suite!`](crate::presence_suite!) makes the
//! tests of one broker.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ori::Presence;
use ori::pubsub::PubSubBackend;
use serde_json::{Value, json};

use crate::broker_suite::{Broker, Settings};
use crate::presence::{diff, track, watch};
use crate::{LiveServer, WsClient, cross_instance};

/// The presence expiry of the instances (short, so that tests are).
pub const EXPIRY: Duration = Duration::from_millis(1_200);

/// The tests of one broker: every scenario of this module, or those named.
/// `presence_suite!(NatsServer);` in a test file.
#[macro_export]
macro_rules! presence_suite {
    ($broker:ty) => {
        $crate::presence_suite!($broker;
            every_instance_sees_one_member_list,
            a_killed_instance_members_leave_within_the_expiry,
            a_killed_instance_members_are_gone_from_a_topic_nobody_watches,
            a_paused_instance_leaves_then_comes_back_without_ghosts,
            changes_made_while_the_broker_is_down_converge_when_it_is_back,
            after_the_broker_lost_its_data_watchers_get_a_new_state_and_no_duplicates,
            a_graceful_shutdown_sends_its_leaves_at_once,
        );
    };
    ($broker:ty; $($scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                // The peer's path is known to the test crate, not to this library.
                $crate::presence_suite::$scenario::<$broker>(env!("CARGO_BIN_EXE_instance_peer")).await;
            }
        )*
    };
}

fn settings(expiry: Duration) -> Settings {
    Settings {
        presence_expiry: Some(expiry),
        reconnect: Some((Duration::from_millis(20), Duration::from_millis(100))),
        ..Settings::default()
    }
}

async fn instance<B: Broker>(broker: &B) -> (LiveServer, B::Backend) {
    let backend = broker.backend(settings(EXPIRY));
    (LiveServer::start(cross_instance::app(backend.clone())).await, backend)
}

/// An instance in a process of its own (`peer_bin`: the `instance_peer`
/// binary), and its WebSocket URL.
fn peer<B: Broker>(peer_bin: &str, broker: &B) -> (Child, String) {
    crate::spawn_listening(
        Command::new(peer_bin)
            .env("ORI_PUBSUB_URL", broker.url())
            .env("ORI_PRESENCE_EXPIRY_MS", EXPIRY.as_millis().to_string()),
    )
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill {signal}");
}

/// Three instances: every watcher gets the state, then every change once.
pub async fn every_instance_sees_one_member_list<B: Broker>(_peer_bin: &str) {
    let Some(broker) = B::start() else { return };
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(instance(&broker).await.0);
    }
    crate::presence::state_then_every_change_once(&servers).await;
}

/// A peer's members leave within the expiry when it is killed; on the
/// other instances' watchers, and in the server-side presence.
pub async fn a_killed_instance_members_leave_within_the_expiry<B: Broker>(peer_bin: &str) {
    let Some(broker) = B::start() else { return };
    let (server, _) = instance(&broker).await;
    let mut watcher = server.connect().await;
    assert_eq!(watch(&mut watcher, "room:k").await["members"], json!({}));
    let (mut child, url) = peer(peer_bin, &broker);
    let mut doomed = WsClient::connect(&url).await;
    track(&mut doomed, "room:k", "ghost", json!({"on": "peer"})).await;
    assert_eq!(diff(&mut watcher, "room:k").await, (json!({"ghost": [{"on": "peer"}]}), json!({})));
    let mut survivor = server.connect().await;
    track(&mut survivor, "room:k", "alive", json!({})).await;
    assert_eq!(diff(&mut watcher, "room:k").await.0, json!({"alive": [{}]}));

    child.kill().unwrap(); // SIGKILL: no goodbye.
    child.wait().unwrap();
    let killed = Instant::now();
    assert_eq!(diff(&mut watcher, "room:k").await, (json!({}), json!({"ghost": [{"on": "peer"}]})));
    let took = killed.elapsed();
    // The bound, plus slack for a loaded machine (the expiry is short here).
    assert!(took <= EXPIRY + Duration::from_millis(800), "left after {took:?}, expiry {EXPIRY:?}");
    let here: Presence<Value> = server.app.sockets().presence("room:k").await.unwrap();
    assert_eq!(here.members().keys().collect::<Vec<_>>(), ["alive"], "no ghost");
    watcher.assert_silent().await;
}

/// A dead instance's members are gone within the expiry from a topic that
/// no instance watches too (read from the server side).
pub async fn a_killed_instance_members_are_gone_from_a_topic_nobody_watches<B: Broker>(peer_bin: &str) {
    let Some(broker) = B::start() else { return };
    let (server, _) = instance(&broker).await;
    let (mut child, url) = peer(peer_bin, &broker);
    let mut doomed = WsClient::connect(&url).await;
    track(&mut doomed, "room:u", "ghost", json!({})).await;
    let mut alive = server.connect().await;
    track(&mut alive, "room:u", "alive", json!({})).await;
    let members = |here: Presence<Value>| here.members().keys().cloned().collect::<Vec<_>>();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let here = members(server.app.sockets().presence("room:u").await.unwrap());
        if here == ["alive", "ghost"] {
            break;
        }
        assert!(Instant::now() < deadline, "both were never there: {here:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    loop {
        let here = members(server.app.sockets().presence("room:u").await.unwrap());
        if here == ["alive"] {
            break;
        }
        let took = killed.elapsed();
        assert!(took <= EXPIRY * 2 + Duration::from_millis(800), "still {here:?} after {took:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A paused instance is reaped like a dead one; when it resumes, it finds
/// itself gone and tracks its members again (a healed split).
pub async fn a_paused_instance_leaves_then_comes_back_without_ghosts<B: Broker>(peer_bin: &str) {
    let Some(broker) = B::start() else { return };
    let (server, _) = instance(&broker).await;
    let mut watcher = server.connect().await;
    watch(&mut watcher, "room:p").await;
    let (mut child, url) = peer(peer_bin, &broker);
    let mut paused = WsClient::connect(&url).await;
    track(&mut paused, "room:p", "sleeper", json!({})).await;
    assert_eq!(diff(&mut watcher, "room:p").await.0, json!({"sleeper": [{}]}));

    signal(&child, "-STOP");
    assert_eq!(diff(&mut watcher, "room:p").await, (json!({}), json!({"sleeper": [{}]})));
    signal(&child, "-CONT");
    assert_eq!(
        diff(&mut watcher, "room:p").await,
        (json!({"sleeper": [{}]}), json!({})),
        "back after the resync"
    );
    let here: Presence<Value> = server.app.sockets().presence("room:p").await.unwrap();
    assert_eq!(here.get("sleeper").map(<[Value]>::len), Some(1), "once, not twice");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Track and untrack while the broker is down: the instance's own entries
/// stay right, and the broker is made to agree once it is back.
pub async fn changes_made_while_the_broker_is_down_converge_when_it_is_back<B: Broker>(_peer_bin: &str) {
    let Some(mut broker) = B::start() else { return };
    let (server, backend) = instance(&broker).await;
    let mut stays = server.connect().await;
    track(&mut stays, "room:o", "stays", json!({})).await;
    let mut goes = server.connect().await;
    track(&mut goes, "room:o", "goes", json!({})).await;
    broker.kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    while backend.is_ready() {
        assert!(Instant::now() < deadline, "the outage was not noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    goes.close().await;
    let mut joins = server.connect().await;
    track(&mut joins, "room:o", "new", json!({"late": true})).await;
    broker.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(here) = server.app.sockets().presence::<Value>("room:o").await {
            let keys: Vec<&String> = here.members().keys().collect();
            if keys == ["new", "stays"] {
                break;
            }
        }
        assert!(Instant::now() < deadline, "presence did not converge");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The broker restarted empty: every instance tracks its members again, and
/// the watchers get a new state, then only the diffs after it: no member twice.
pub async fn after_the_broker_lost_its_data_watchers_get_a_new_state_and_no_duplicates<B: Broker>(
    _peer_bin: &str,
) {
    let Some(mut broker) = B::start() else { return };
    let (one, backend) = instance(&broker).await;
    let (two, _) = instance(&broker).await;
    let mut watcher = one.connect().await;
    watch(&mut watcher, "room:r").await;
    let mut alice = one.connect().await;
    track(&mut alice, "room:r", "alice", json!({})).await;
    let mut bob = two.connect().await;
    track(&mut bob, "room:r", "bob", json!({})).await;
    assert_eq!(diff(&mut watcher, "room:r").await.0, json!({"alice": [{}]}));
    assert_eq!(diff(&mut watcher, "room:r").await.0, json!({"bob": [{}]}));

    let reconnects = backend.stats().expect("a broker backend has stats").reconnects;
    broker.restart_empty();
    let deadline = Instant::now() + Duration::from_secs(10);
    while backend.stats().unwrap().reconnects == reconnects {
        assert!(Instant::now() < deadline, "no reconnection");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Diffs before the new state may repeat members; the state replaces them.
    let mut members = loop {
        let message = watcher.recv().await;
        if message["type"] == "presence_state" {
            break message["data"]["members"].clone();
        }
        assert_eq!(message["type"], "presence_diff", "{message}");
    };
    let expected = json!({"alice": [{}], "bob": [{}]});
    while members != expected {
        let (joins, leaves) = diff(&mut watcher, "room:r").await;
        assert_eq!(leaves, json!({}), "nobody left");
        for (key, metas) in joins.as_object().unwrap() {
            assert!(members.get(key).is_none(), "{key} joined twice after the new state");
            members[key] = metas.clone();
        }
    }
    watcher.assert_silent().await;
}

/// An instance that shuts down gracefully sends its members' leaves before
/// it stops: the others see them at once, not after the expiry.
pub async fn a_graceful_shutdown_sends_its_leaves_at_once<B: Broker>(_peer_bin: &str) {
    let Some(broker) = B::start() else { return };
    let long = || broker.backend(settings(Duration::from_secs(60)));
    let one = LiveServer::start(cross_instance::app(long())).await;
    let two = LiveServer::start(cross_instance::app(long())).await;
    let mut watcher = one.connect().await;
    watch(&mut watcher, "room:g").await;
    let mut leaving = two.connect().await;
    track(&mut leaving, "room:g", "leaving", json!({})).await;
    assert_eq!(diff(&mut watcher, "room:g").await.0, json!({"leaving": [{}]}));

    let started = Instant::now();
    let answered = tokio::spawn(async move { leaving.expect_close().await });
    two.shutdown().await.expect("a graceful shutdown");
    assert_eq!(answered.await.unwrap().0, 1001);
    assert_eq!(diff(&mut watcher, "room:g").await, (json!({}), json!({"leaving": [{}]})));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "left after {:?}, not the 60 s expiry",
        started.elapsed()
    );
}
