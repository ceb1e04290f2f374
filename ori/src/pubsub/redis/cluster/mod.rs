//! The Redis Cluster side of a [`RedisBackend`](super::RedisBackend):
//! sharded pub/sub over one pair of connections per master.
//!
//! - The **keeper** (`keeper.rs`) reads the slot map (`CLUSTER SLOTS`, from a known
//!   master or a seed), connects to each master (a RESP3 connection that
//!   `SSUBSCRIBE`s and receives, and one that publishes), drops the
//!   connections of nodes that are no longer masters, and pings the
//!   subscribing connections. It reads the map again when asked (a lost
//!   connection, a `MOVED`, a channel the server unsubscribed) and, while
//!   a slot has no reachable master, with backoff until every slot does.
//! - The **subscription manager** (`subscriptions.rs`) keeps each wanted channel (the topics
//!   with local subscribers, the direct channels, the reply channel)
//!   subscribed on the master of its slot, and moves it after every new map.
//!   When a slot migrates, its master sends `sunsubscribe` for the slot's
//!   channels: they are subscribed again where the slot went.
//! - The **publisher** (`publisher.rs`) sends what waits, one pipeline per master. A command
//!   answered `MOVED`, `ASK`, `CLUSTERDOWN` or `TRYAGAIN` did not run: it is
//!   kept (as in an outage, up to the outage buffer) and sent again, in
//!   order, once the map changes. A pipeline whose connection broke may have
//!   run in part, so it is dropped and counted (at most once).
//!
//! The instance counts as connected while every slot has a reachable
//! master; otherwise the outage policy applies.

mod keeper;
mod publisher;
mod subscriptions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion, PushInfo};
use tokio::sync::{Notify, mpsc, watch};

use super::slots::{NodeAddr, SlotMap, slot};
use super::{Config, Links, RedisStats, Shared, presence, without_password};
use crate::error::BoxError;
use crate::pubsub::BackendContext;
use crate::pubsub::counters::Counters;
use crate::util::sync::lock;

/// The cluster as this instance sees it: the slot map and the connections to its masters.
pub(crate) struct Topology {
    current: Mutex<Current>,
    /// Asks the keeper to read the map again.
    refresh: Notify,
    /// Bumped after every reading of the map.
    changed: watch::Sender<u64>,
    redirects: AtomicU64,
    cluster_down: AtomicU64,
    /// Numbers each pair of connections.
    next_id: AtomicU64,
}

#[derive(Default)]
struct Current {
    map: Option<Arc<SlotMap>>,
    shards: HashMap<NodeAddr, Shard>,
}

/// The map and connections at one moment.
struct Snapshot {
    map: Option<Arc<SlotMap>>,
    shards: HashMap<NodeAddr, Shard>,
}

impl Snapshot {
    /// The master of `slot`, if it is connected.
    fn owner(&self, slot: u16) -> Option<(&NodeAddr, &Shard)> {
        let owner = self.map.as_ref()?.owner(slot)?;
        self.shards.get_key_value(owner)
    }
}

/// The connections to one master.
#[derive(Clone)]
struct Shard {
    /// Tells this pair from those before it (a push names the pair it came on).
    id: u64,
    publisher: MultiplexedConnection,
    subscriber: MultiplexedConnection,
}

impl Topology {
    /// Masters connected now.
    pub(crate) fn shards(&self) -> usize {
        lock(&self.current).shards.len()
    }

    pub(crate) fn stats(&self) -> RedisStats {
        RedisStats {
            shards: self.shards(),
            redirects: self.redirects.load(Ordering::Relaxed),
            cluster_down: self.cluster_down.load(Ordering::Relaxed),
            ..RedisStats::default()
        }
    }

    /// The publishing connection of the master serving `key`'s slot.
    pub(crate) fn publisher_for(&self, key: &str) -> Option<MultiplexedConnection> {
        self.shard_for(key).map(|(_, shard)| shard.publisher)
    }

    fn shard_for(&self, key: &str) -> Option<(NodeAddr, Shard)> {
        let current = lock(&self.current);
        let owner = current.map.as_ref()?.owner(slot(key.as_bytes()))?;
        current.shards.get(owner).map(|shard| (owner.clone(), shard.clone()))
    }

    /// The map and the connections now, to route a batch without the lock.
    fn snapshot(&self) -> Snapshot {
        let current = lock(&self.current);
        Snapshot { map: current.map.clone(), shards: current.shards.clone() }
    }

    /// The connections numbered `id` broke: they are dropped (a slot has no
    /// master until they are replaced: the outage policy applies), and the
    /// map read again.
    fn lost(&self, id: u64, counters: &Counters) {
        let removed = {
            let mut current = lock(&self.current);
            let before = current.shards.len();
            current.shards.retain(|_, shard| shard.id != id);
            before != current.shards.len()
        };
        if removed {
            if counters.is_connected() {
                tracing::warn!(
                    "lost a Redis Cluster master's connection; serving local traffic and reconnecting"
                );
            }
            counters.set_connected(false);
            self.refresh.notify_one();
        }
    }
}

/// How to reach the nodes: the seeds' settings (user, password, database).
struct Nodes {
    seeds: Vec<ConnectionInfo>,
    config: Config,
    pushes: mpsc::UnboundedSender<(u64, PushInfo)>,
}

impl Nodes {
    fn info(&self, node: &NodeAddr) -> ConnectionInfo {
        self.seeds[0].clone().set_addr(ConnectionAddr::Tcp(node.host.clone(), node.port))
    }

    fn settings(&self) -> redis::AsyncConnectionConfig {
        redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.connect_timeout))
            .set_response_timeout(Some(self.config.response_timeout))
    }

    async fn connect(&self, info: ConnectionInfo) -> Result<MultiplexedConnection, BoxError> {
        let client = redis::Client::open(info)?;
        let settings = self.settings();
        let connecting = client.get_multiplexed_async_connection_with_config(&settings);
        Ok(tokio::time::timeout(self.config.connect_timeout, connecting).await.map_err(|_| "timed out")??)
    }

    /// Both connections to `node`, numbered `id`.
    async fn shard(&self, node: &NodeAddr, id: u64) -> Result<Shard, BoxError> {
        let publisher = self.connect(self.info(node)).await?;
        let info = self.info(node);
        let resp3 = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let pushes = self.pushes.clone();
        let client = redis::Client::open(info.set_redis_settings(resp3))?;
        let settings = self.settings().set_push_sender(move |push: PushInfo| pushes.send((id, push)));
        let connecting = client.get_multiplexed_async_connection_with_config(&settings);
        let subscriber = tokio::time::timeout(self.config.connect_timeout, connecting)
            .await
            .map_err(|_| "timed out")??;
        Ok(Shard { id, publisher, subscriber })
    }
}

/// Connects (or not, if allowed) and spawns the tasks.
pub(crate) async fn start(
    shared: Arc<Shared>,
    context: BackendContext,
    seeds: Vec<String>,
) -> Result<(), BoxError> {
    let ops = lock(&shared.ops_rx).take().ok_or("the Redis provider was already started")?;
    if seeds.is_empty() {
        return Err("a Redis Cluster needs at least one seed (`redis+cluster://host:port,host:port`)".into());
    }
    let seeds = seeds
        .iter()
        .map(|seed| {
            seed.as_str()
                .into_connection_info()
                .map_err(|e| format!("invalid Redis URL `{}`: {e}", without_password(seed)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (pushes, pushes_rx) = mpsc::unbounded_channel();
    let nodes = Nodes { seeds, config: shared.config.clone(), pushes };
    let topology = Arc::new(Topology {
        current: Mutex::default(),
        refresh: Notify::new(),
        changed: watch::Sender::new(0),
        redirects: AtomicU64::new(0),
        cluster_down: AtomicU64::new(0),
        next_id: AtomicU64::new(1),
    });
    let _ = shared.links.set(Links::Cluster(topology.clone()));
    let described = shared.config.target.describe();
    match keeper::refresh(&shared, &nodes, &topology, true).await {
        Ok(true) => {}
        Ok(false) | Err(_) if shared.config.start_degraded => {
            tracing::warn!(seeds = %described, "the Redis Cluster is not fully reachable at start-up; serving local traffic until it is");
            shared.counters.outage_began_unless_connected();
        }
        Ok(false) => {
            return Err(format!(
                "the Redis Cluster at `{described}` has slots no reachable master serves (is it still forming, or failing over?); wait for `cluster_state:ok`, or use `start_degraded(true)`"
            )
            .into());
        }
        Err(error) => {
            return Err(format!(
                "cannot reach the Redis Cluster at `{described}`: {error} (start it, fix the seeds, or use `start_degraded(true)`)"
            )
            .into());
        }
    }
    let (kicked, kicked_rx) = mpsc::unbounded_channel();
    let mut subscriptions = subscriptions::Subscriptions::new(shared.clone(), topology.clone());
    // The instance is reachable (direct and reply channels) once started.
    subscriptions.place().await;
    let tasks = vec![
        tokio::spawn(keeper::keep(shared.clone(), nodes, topology.clone())),
        tokio::spawn(presence::heartbeat(shared.clone())),
        tokio::spawn(subscriptions::read(shared.clone(), context, topology.clone(), pushes_rx, kicked)),
        tokio::spawn(subscriptions.run(ops, kicked_rx)),
        tokio::spawn(publisher::publish(shared.clone(), topology)),
    ];
    lock(&shared.tasks).extend(tasks);
    Ok(())
}
