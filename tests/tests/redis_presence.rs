//! PROTOCOL.md "Presence" across instances on a real `redis-server`
//! (started per test on a free port): one member list for every instance,
//! a dead (SIGKILL) or paused (SIGSTOP) instance's members leave within the
//! expiry, a paused one's come back when it resumes, and a Redis outage
//! converges when Redis is back.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ori::Presence;
use ori::pubsub::RedisBackend;
use ori_tests::presence::{diff, track, watch};
use ori_tests::redis_cluster::RedisCluster;
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, WsClient, cross_instance};
use serde_json::{Value, json};

const EXPIRY: Duration = Duration::from_millis(1_200);

async fn instance(redis: &impl RedisUrl) -> (LiveServer, RedisBackend) {
    let backend = RedisBackend::builder(redis.url())
        .presence_expiry(EXPIRY)
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(100))
        .build();
    (LiveServer::start(cross_instance::app(backend.clone())).await, backend)
}

/// An instance in a process of its own (`presence_peer`), and its WebSocket URL.
fn peer(redis: &impl RedisUrl) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_presence_peer"))
        .env("ORI_REDIS_URL", redis.url())
        .env("ORI_PRESENCE_EXPIRY_MS", EXPIRY.as_millis().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("presence_peer starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
    (child, url)
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill {signal}");
}

/// A single Redis or a Redis Cluster: the first scenarios run on both.
trait RedisUrl {
    fn url(&self) -> String;
}

impl RedisUrl for RedisServer {
    fn url(&self) -> String {
        RedisServer::url(self)
    }
}

impl RedisUrl for RedisCluster {
    fn url(&self) -> String {
        RedisCluster::url(self)
    }
}

#[tokio::test]
async fn every_instance_sees_one_member_list() {
    let Some(redis) = RedisServer::start() else { return };
    one_member_list(&redis).await;
}

#[tokio::test]
async fn every_instance_sees_one_member_list_on_a_cluster() {
    let Some(cluster) = RedisCluster::start() else { return };
    one_member_list(&cluster).await;
}

#[tokio::test]
async fn a_killed_instance_members_leave_within_the_expiry() {
    let Some(redis) = RedisServer::start() else { return };
    killed_instance_members_leave(&redis).await;
}

/// Its entries and the instance set are on different shards: reaping
/// crosses them.
#[tokio::test]
async fn a_killed_instance_members_leave_within_the_expiry_on_a_cluster() {
    let Some(cluster) = RedisCluster::start() else { return };
    killed_instance_members_leave(&cluster).await;
}

#[tokio::test]
async fn a_paused_instance_leaves_then_comes_back_without_ghosts() {
    let Some(redis) = RedisServer::start() else { return };
    paused_instance_leaves_and_comes_back(&redis).await;
}

#[tokio::test]
async fn a_paused_instance_leaves_then_comes_back_without_ghosts_on_a_cluster() {
    let Some(cluster) = RedisCluster::start() else { return };
    paused_instance_leaves_and_comes_back(&cluster).await;
}

async fn one_member_list(redis: &impl RedisUrl) {
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(instance(redis).await.0);
    }
    ori_tests::presence::state_then_every_change_once(&servers).await;
}

/// A peer's members leave within the expiry when it is killed; on the
/// other instances' watchers, and in the server-side presence.
async fn killed_instance_members_leave(redis: &impl RedisUrl) {
    let (server, _) = instance(redis).await;
    let mut watcher = server.connect().await;
    assert_eq!(watch(&mut watcher, "room:k").await["members"], json!({}));
    let (mut child, url) = peer(redis);
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

/// A paused instance is reaped like a dead one; when it resumes, it finds
/// itself gone and tracks its members again (a healed split).
async fn paused_instance_leaves_and_comes_back(redis: &impl RedisUrl) {
    let (server, _) = instance(redis).await;
    let mut watcher = server.connect().await;
    watch(&mut watcher, "room:p").await;
    let (mut child, url) = peer(redis);
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

/// Track and untrack while Redis is down: the instance's own entries stay
/// right, and Redis is made to agree once it is back.
#[tokio::test]
async fn changes_made_while_redis_is_down_converge_when_it_is_back() {
    let Some(mut redis) = RedisServer::start() else { return };
    let (server, backend) = instance(&redis).await;
    let mut stays = server.connect().await;
    track(&mut stays, "room:o", "stays", json!({})).await;
    let mut goes = server.connect().await;
    track(&mut goes, "room:o", "goes", json!({})).await;
    redis.kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    while backend.stats().connected {
        assert!(Instant::now() < deadline, "the outage was not noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    goes.close().await;
    let mut joins = server.connect().await;
    track(&mut joins, "room:o", "new", json!({"late": true})).await;
    redis.resume();
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

/// Redis restarted empty: every instance tracks its members again, and the
/// watchers get a new state, then only the diffs after it: no member twice.
#[tokio::test]
async fn after_redis_lost_its_data_watchers_get_a_new_state_and_no_duplicates() {
    let Some(mut redis) = RedisServer::start() else { return };
    let (one, backend) = instance(&redis).await;
    let (two, _) = instance(&redis).await;
    let mut watcher = one.connect().await;
    watch(&mut watcher, "room:r").await;
    let mut alice = one.connect().await;
    track(&mut alice, "room:r", "alice", json!({})).await;
    let mut bob = two.connect().await;
    track(&mut bob, "room:r", "bob", json!({})).await;
    assert_eq!(diff(&mut watcher, "room:r").await.0, json!({"alice": [{}]}));
    assert_eq!(diff(&mut watcher, "room:r").await.0, json!({"bob": [{}]}));

    let reconnects = backend.stats().reconnects;
    redis.kill();
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    while backend.stats().reconnects == reconnects {
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
#[tokio::test]
async fn a_graceful_shutdown_sends_its_leaves_at_once() {
    let Some(redis) = RedisServer::start() else { return };
    let long = || RedisBackend::builder(redis.url()).presence_expiry(Duration::from_secs(60)).build();
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
