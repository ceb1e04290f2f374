//! ori on a Redis Cluster (sharded pub/sub): six real `redis-server`s
//! started by each test, three masters with a replica each. The broker
//! suite, then what only a cluster has: topics spread over shards, a
//! master that fails over, a slot that migrates, `CLUSTERDOWN`, seeds
//! that do not answer, and history keys that follow their topic's slot.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ori::pubsub::{PubSubBackend, RedisBackend, RedisStats};
use ori_tests::broker_suite::{eventually, instance};
use ori_tests::redis_cluster::RedisCluster;
use ori_tests::{LiveServer, WsClient, cross_instance};
use serde_json::{Value, json};

ori_tests::broker_suite!(RedisCluster);

/// A backend on `cluster` that reconnects quickly (failovers take seconds, not minutes).
fn backend(cluster: &RedisCluster) -> RedisBackend {
    RedisBackend::builder(cluster.url())
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .build()
}

async fn instances(cluster: &RedisCluster, count: usize) -> Vec<(LiveServer, RedisBackend)> {
    let mut servers = Vec::new();
    for _ in 0..count {
        servers.push(instance(backend(cluster)).await);
    }
    servers
}

fn stats(backend: &RedisBackend) -> RedisStats {
    backend.stats()
}

#[tokio::test]
async fn a_thousand_topics_spread_evenly_over_the_shards_reach_each_instance_exactly_once() {
    let Some(cluster) = RedisCluster::start() else { return };
    let servers = instances(&cluster, 3).await;
    let topics: Vec<String> = (0..1000).map(|n| format!("t.{n}")).collect();
    // Four clients per instance (a connection holds at most 256 topics), 250 topics each.
    let mut clients = Vec::new();
    for (server, _) in &servers {
        for quarter in topics.chunks(250) {
            let mut client = server.connect().await;
            for topic in quarter {
                client.subscribe(topic).await;
            }
            clients.push(client);
        }
    }
    for (_, backend) in &servers {
        assert_eq!(stats(backend).shards, 3, "one pair of connections per master");
    }

    // Each master holds the channels of its slots' topics: within 20% of a third.
    let per_master: Vec<usize> = cluster
        .shard_channels()
        .values()
        .map(|channels| channels.iter().filter(|c| c.starts_with("ori:{t.")).count())
        .collect();
    assert_eq!(per_master.iter().sum::<usize>(), 1000, "{per_master:?}");
    for channels in &per_master {
        let off = (*channels as f64 - 1000.0 / 3.0).abs() / (1000.0 / 3.0);
        assert!(off <= 0.2, "a shard holds {channels} of 1,000 topics ({per_master:?})");
    }
    eprintln!("topic channels per master: {per_master:?}");

    let sockets = servers[0].0.app.sockets();
    for (n, topic) in topics.iter().enumerate() {
        sockets.publish(topic, json!({"type": "n", "data": n}).to_string()).unwrap();
    }
    for (i, instance_clients) in clients.chunks_mut(4).enumerate() {
        let mut seen = HashSet::new();
        for client in instance_clients.iter_mut() {
            for _ in 0..250 {
                let n = client.recv().await["data"].as_u64().expect("a number");
                assert!(seen.insert(n), "instance {i} received {n} twice");
            }
        }
        assert_eq!(seen.len(), 1000, "instance {i}: every topic");
        for client in instance_clients {
            client.assert_silent().await;
        }
    }
}

/// Rounds of `{"type":"n","data":[topic, k]}` published on every topic
/// from one instance, every 10 ms, and read by a subscriber of all of them
/// on another. Stopped when dropped.
struct Traffic {
    subscriber: WsClient,
    topics: usize,
    /// The round being published.
    round: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Each topic's last round read.
    last: BTreeMap<u64, u64>,
}

impl Traffic {
    /// Subscribes on `to`, publishes from `from`, and waits until every topic flows.
    async fn start(from: &LiveServer, to: &LiveServer, topics: &[String]) -> Traffic {
        let mut subscriber = to.connect().await;
        for topic in topics {
            subscriber.subscribe(topic).await;
        }
        let (round, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let sockets = from.app.sockets().clone();
        let (publishing, stopping, topics_published) = (round.clone(), stop.clone(), topics.to_vec());
        tokio::spawn(async move {
            while !stopping.load(Ordering::Relaxed) {
                let k = publishing.fetch_add(1, Ordering::Relaxed);
                for (t, topic) in topics_published.iter().enumerate() {
                    sockets.publish(topic, json!({"type": "n", "data": [t, k]}).to_string()).unwrap();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let mut traffic = Traffic { subscriber, topics: topics.len(), round, stop, last: BTreeMap::new() };
        traffic.until_every_topic_reaches(3).await;
        traffic
    }

    /// Reads until every topic delivered a round published `later` rounds
    /// after now, within 10 s; checks each topic's rounds only go up (no duplicate).
    async fn flows_again(&mut self, later: u64) {
        let from = self.round.load(Ordering::Relaxed) + later;
        self.until_every_topic_reaches(from).await;
    }

    async fn until_every_topic_reaches(&mut self, from: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while (0..self.topics as u64).any(|t| self.last.get(&t).is_none_or(|k| *k < from)) {
            assert!(Instant::now() < deadline, "not every topic flowed again within 10 s: {:?}", self.last);
            let message: Value = self.subscriber.recv().await;
            let (t, k) = (message["data"][0].as_u64().unwrap(), message["data"][1].as_u64().unwrap());
            if let Some(previous) = self.last.insert(t, k) {
                assert!(k > previous, "topic {t}: round {k} after {previous}");
            }
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn a_killed_master_fails_over_and_every_topic_is_served_again_within_ten_seconds() {
    let Some(mut cluster) = RedisCluster::start() else { return };
    let servers = instances(&cluster, 2).await;
    let topics: Vec<String> = (0..30).map(|n| format!("f.{n}")).collect();
    let mut traffic = Traffic::start(&servers[0].0, &servers[1].0, &topics).await;

    let victim = cluster.master_of(cluster.slot_of("ori:{f.0}"));
    let replicas = cluster.replicas_of(&victim.id);
    let killed_at = Instant::now();
    cluster.kill_node(victim.port);
    traffic.flows_again(1).await;
    let took = killed_at.elapsed();
    drop(traffic);
    eprintln!("every topic flowed again {took:?} after its master was killed");

    let promoted = cluster.master_of(cluster.slot_of("ori:{f.0}"));
    assert!(replicas.contains(&promoted.port), "{promoted:?} is one of {replicas:?}");
    for (_, backend) in &servers {
        let stats = stats(backend);
        assert!(stats.connected && stats.shards == 3, "{stats:?}");
    }
}

/// A master that stops answering (SIGSTOP: its connections stay open) is
/// caught by the health check, and its topics move to the promoted replica.
#[tokio::test]
async fn a_silent_master_is_caught_by_the_health_check_and_its_topics_move_to_its_replica() {
    let Some(mut cluster) = RedisCluster::start() else { return };
    let mut servers = Vec::new();
    for _ in 0..2 {
        let backend = RedisBackend::builder(cluster.url())
            .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
            .health_check_interval(Duration::from_millis(300))
            .response_timeout(Duration::from_millis(500))
            .connect_timeout(Duration::from_millis(500))
            .build();
        servers.push(instance(backend).await);
    }
    let topics: Vec<String> = (0..30).map(|n| format!("s.{n}")).collect();
    let mut traffic = Traffic::start(&servers[0].0, &servers[1].0, &topics).await;

    let slot = cluster.slot_of("ori:{s.0}");
    let silent = cluster.master_of(slot);
    let replicas = cluster.replicas_of(&silent.id);
    let stopped_at = Instant::now();
    cluster.signal_node(silent.port, "-STOP");
    traffic.flows_again(1).await;
    let took = stopped_at.elapsed();
    drop(traffic);
    eprintln!("every topic flowed again {took:?} after its master went silent");
    // The node asked may learn of the promotion a moment after the instances did.
    let deadline = Instant::now() + Duration::from_secs(10);
    let promoted = loop {
        let master = cluster.master_of(slot);
        if replicas.contains(&master.port) || Instant::now() > deadline {
            break master;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    cluster.signal_node(silent.port, "-CONT");
    assert!(replicas.contains(&promoted.port), "{promoted:?} is one of {replicas:?}");
}

#[tokio::test]
async fn a_topic_keeps_flowing_while_its_slot_migrates_to_another_master() {
    let Some(cluster) = RedisCluster::start() else { return };
    let servers = instances(&cluster, 2).await;
    let mut traffic = Traffic::start(&servers[0].0, &servers[1].0, &["m.1".to_owned()]).await;

    let slot = cluster.slot_of("ori:{m.1}");
    let from = cluster.master_of(slot);
    let to = cluster.masters().into_iter().find(|m| m.port != from.port).unwrap();
    let started = Instant::now();
    cluster.migrate_slot(slot, to.port);
    traffic.flows_again(50).await;
    drop(traffic);
    eprintln!("50 rounds after the slot moved in {:?}", started.elapsed());

    let channels = cluster.shard_channels();
    assert!(channels[&to.port].contains(&"ori:{m.1}".to_owned()), "{channels:?}");
    assert!(!channels[&from.port].contains(&"ori:{m.1}".to_owned()), "{channels:?}");
    let stats = stats(&servers[0].1);
    assert_eq!(stats.dropped, 0, "{stats:?}");
    eprintln!("publisher after the migration: {stats:?}");
}

#[tokio::test]
async fn a_cluster_that_answers_clusterdown_keeps_publishes_as_an_outage_and_counts_them() {
    let Some(mut cluster) = RedisCluster::start() else { return };
    // By default a master goes on serving sharded pub/sub for its own slots
    // while the cluster is down; refused, it answers CLUSTERDOWN.
    cluster.config_set("cluster-allow-pubsubshard-when-down", "no");
    let servers = instances(&cluster, 2).await;
    let mut remote = servers[1].0.connect().await;
    remote.subscribe("d.1").await;
    // A master other than the topic's fails with its replica: the cluster
    // is down, and the topic's master answers CLUSTERDOWN.
    let topic_master = cluster.master_of(cluster.slot_of("ori:{d.1}"));
    let victim = cluster.masters().into_iter().find(|m| m.port != topic_master.port).unwrap();
    for replica in cluster.replicas_of(&victim.id) {
        cluster.kill_node(replica);
    }
    cluster.kill_node(victim.port);
    let publisher = &servers[0].1;
    eventually("the publisher sees the outage", || !stats(publisher).connected).await;
    // The topic's master refuses once it knows the cluster is down.
    let sockets = servers[0].0.app.sockets();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = 0;
    while stats(publisher).cluster_down == 0 {
        assert!(Instant::now() < deadline, "no CLUSTERDOWN within 10 s: {:?}", stats(publisher));
        sockets.publish("d.1", json!({"type": "n", "data": sent}).to_string()).unwrap();
        sent += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let down = stats(publisher);
    eprintln!("after {sent} publishes: {down:?}");

    cluster.restart_killed();
    eventually("the cluster serves again", || stats(publisher).connected).await;
    // Whatever was refused with CLUSTERDOWN was kept and is delivered, in order.
    let mut received = Vec::new();
    while received.last() != Some(&(sent - 1)) {
        received.push(remote.recv().await["data"].as_u64().unwrap());
    }
    assert!(received.windows(2).all(|w| w[0] < w[1]), "in order, once: {received:?}");
    let stats = stats(publisher);
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert!(stats.cluster_down >= 1 && stats.reconnects >= 1, "{stats:?}");
}

#[tokio::test]
async fn unreachable_seeds_fail_start_up_naming_them_unless_degraded_start_is_allowed() {
    let closed = |_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (a, b) = (closed(()), closed(()));
    let url = format!("redis+cluster://127.0.0.1:{a},127.0.0.1:{b}");
    let backend = RedisBackend::builder(&url).connect_timeout(Duration::from_millis(300)).build();
    let error =
        ori::testing::TestServer::start(cross_instance::app(backend)).await.expect_err("no seed answers");
    let error = error.to_string();
    for port in [a, b] {
        assert!(error.contains(&format!("127.0.0.1:{port}")), "names each seed: {error}");
    }
    assert!(error.contains("start_degraded(true)"), "says what to do: {error}");

    let degraded = RedisBackend::builder(&url).start_degraded(true).build();
    let (server, backend) = instance(degraded).await;
    assert!(!backend.is_ready() && !stats(&backend).connected);
    // Local traffic is served meanwhile.
    let (mut one, mut two) = (server.connect().await, server.connect().await);
    one.subscribe("local").await;
    cross_instance::say_on(&mut two, "local", "here").await;
    assert_eq!(one.recv().await, cross_instance::message("here"));
}

#[tokio::test]
async fn history_keys_share_their_topics_slot_and_follow_it_when_it_migrates() {
    let Some(cluster) = RedisCluster::start() else { return };
    let mut servers = Vec::new();
    for _ in 0..2 {
        let backend = backend(&cluster);
        let app = cross_instance::app(backend.clone()).history("hist:*", 100, Duration::from_secs(300));
        servers.push(LiveServer::start(app).await);
    }
    let subscribe = |data: Value| json!({"type": "subscribe", "data": data, "correlationId": "s"});
    let mut first = servers[0].connect().await;
    let ack = first.request(subscribe(json!({"topic": "hist:c"}))).await;
    let epoch = ack["data"]["epoch"].clone();
    for n in 1..=3 {
        servers[1]
            .app
            .sockets()
            .publish("hist:c", cross_instance::message(&n.to_string()).to_string())
            .unwrap();
    }
    for n in 1..=3u64 {
        let m = first.recv().await;
        assert_eq!((m["data"].clone(), m["offset"].as_u64()), (json!(n.to_string()), Some(n)), "{m}");
    }
    // The stream moves with the slot: a client recovers from the new master.
    let slot = cluster.slot_of("ori:{hist:c}:stream");
    assert_eq!(slot, cluster.slot_of("ori:{hist:c}"), "the stream and the channel share a slot");
    let from = cluster.master_of(slot);
    let to = cluster.masters().into_iter().find(|m| m.port != from.port).unwrap();
    cluster.migrate_slot(slot, to.port);
    let mut back = servers[1].connect().await;
    let mut ack = Value::Null;
    for _ in 0..100 {
        ack =
            back.request(subscribe(json!({"topic": "hist:c", "since": {"epoch": epoch, "offset": 1}}))).await;
        if ack["type"] == "subscribe" {
            break;
        }
        // The instance may learn of the move with its first read (MOVED): it answers an error, then reads again.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ack["data"],
        json!({"topic": "hist:c", "epoch": epoch, "offset": 3, "recovered": true}),
        "{ack}"
    );
    for n in 2..=3u64 {
        assert_eq!(back.recv().await["offset"].as_u64(), Some(n));
    }
    // New publishes go on from the new master, in sequence.
    servers[0].app.sockets().publish("hist:c", cross_instance::message("4").to_string()).unwrap();
    assert_eq!(back.recv().await["offset"].as_u64(), Some(4));
    assert_eq!(first.recv().await["offset"].as_u64(), Some(4));
}
