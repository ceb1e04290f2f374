//! The Redis Cluster side of a [`RedisBackend`](super::RedisBackend):
//! sharded pub/sub over one pair of connections per master.
//!
//! - The **keeper** reads the slot map (`CLUSTER SLOTS`, from a known
//!   master or a seed), connects to each master (a RESP3 connection that
//!   `SSUBSCRIBE`s and receives, and one that publishes), drops the
//!   connections of nodes that are no longer masters, and pings the
//!   subscribing connections. It reads the map again when asked (a lost
//!   connection, a `MOVED`, a channel the server unsubscribed) and, while
//!   a slot has no reachable master, with backoff until every slot does.
//! - The **subscription manager** keeps each wanted channel (the topics
//!   with local subscribers, the direct channels, the reply channel)
//!   subscribed on the master of its slot, and moves it after every new map.
//!   When a slot migrates, its master sends `sunsubscribe` for the slot's
//!   channels: they are subscribed again where the slot went.
//! - The **publisher** sends what waits, one pipeline per master. A command
//!   answered `MOVED`, `ASK`, `CLUSTERDOWN` or `TRYAGAIN` did not run: it is
//!   kept (as in an outage, up to the outage buffer) and sent again, in
//!   order, once the map changes. A pipeline whose connection broke may have
//!   run in part, so it is dropped and counted (at most once).
//!
//! The instance counts as connected while every slot has a reachable
//! master; otherwise the outage policy applies.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::link::SubOp;
use super::slots::{NodeAddr, SlotMap, slot};
use super::{Config, Links, Pending, RedisStats, Shared, incoming, presence, without_password};
use crate::error::BoxError;
use crate::pubsub::BackendContext;
use crate::pubsub::counters::Counters;
use crate::util::backoff::Backoff;
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

/// Reads the map from a master already connected, else from a seed.
async fn read_map(nodes: &Nodes, topology: &Topology) -> Result<SlotMap, String> {
    let known: Vec<(NodeAddr, MultiplexedConnection)> = lock(&topology.current)
        .shards
        .iter()
        .map(|(node, shard)| (node.clone(), shard.publisher.clone()))
        .collect();
    let mut errors = Vec::new();
    for (node, mut connection) in known {
        match cluster_slots(&mut connection, &node).await {
            Ok(map) => return Ok(map),
            Err(error) => errors.push(format!("{node}: {error}")),
        }
    }
    for seed in &nodes.seeds {
        let asked = match seed.addr() {
            ConnectionAddr::Tcp(host, port) => NodeAddr { host: host.clone(), port: *port },
            other => return Err(format!("a cluster seed must be a TCP address, not {other}")),
        };
        match nodes.connect(seed.clone()).await {
            Ok(mut connection) => match cluster_slots(&mut connection, &asked).await {
                Ok(map) => return Ok(map),
                Err(error) => errors.push(format!("{asked}: {error}")),
            },
            Err(error) => errors.push(format!("{asked}: {error}")),
        }
    }
    Err(errors.join("; "))
}

async fn cluster_slots(connection: &mut MultiplexedConnection, node: &NodeAddr) -> Result<SlotMap, String> {
    let reply: Value =
        redis::cmd("CLUSTER").arg("SLOTS").query_async(connection).await.map_err(|e| e.to_string())?;
    SlotMap::parse(&reply, node)
}

/// Reads the map and connects to its masters; whether every slot is
/// served. `first`: at start-up (not a reconnection).
async fn refresh(shared: &Shared, nodes: &Nodes, topology: &Topology, first: bool) -> Result<bool, String> {
    let map = read_map(nodes, topology).await?;
    let missing: Vec<NodeAddr> = {
        let mut current = lock(&topology.current);
        // Nodes that are no longer masters (a failed master, demoted) are let go.
        current.shards.retain(|node, _| map.masters.contains(node));
        map.masters.iter().filter(|node| !current.shards.contains_key(*node)).cloned().collect()
    };
    let connecting = missing.iter().map(|node| async move {
        let id = topology.next_id.fetch_add(1, Ordering::Relaxed);
        (node, nodes.shard(node, id).await)
    });
    let mut unreachable = Vec::new();
    for (node, connected) in join_all(connecting).await {
        match connected {
            Ok(shard) => {
                lock(&topology.current).shards.insert(node.clone(), shard);
            }
            Err(error) => unreachable.push(format!("{node}: {error}")),
        }
    }
    let complete = map.is_complete() && unreachable.is_empty();
    tracing::debug!(
        complete,
        masters = map.masters.len(),
        unreachable = unreachable.join("; "),
        "read the Redis Cluster's slot map"
    );
    lock(&topology.current).map = Some(Arc::new(map));
    let was = shared.counters.is_connected();
    shared.counters.set_connected(complete);
    if complete && !was && !first {
        shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::info!("every slot of the Redis Cluster is served again; re-subscribing");
    } else if !complete && was {
        tracing::warn!(
            "a slot of the Redis Cluster has no reachable master; serving local traffic meanwhile"
        );
    }
    Ok(complete)
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
    match refresh(&shared, &nodes, &topology, true).await {
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
    let mut subscriptions = Subscriptions::new(shared.clone(), topology.clone());
    // The instance is reachable (direct and reply channels) once started.
    subscriptions.place().await;
    let tasks = vec![
        tokio::spawn(keep(shared.clone(), nodes, topology.clone())),
        tokio::spawn(presence::heartbeat(shared.clone())),
        tokio::spawn(read(shared.clone(), context, topology.clone(), pushes_rx, kicked)),
        tokio::spawn(subscriptions.run(ops, kicked_rx)),
        tokio::spawn(publish(shared.clone(), topology)),
    ];
    lock(&shared.tasks).extend(tasks);
    Ok(())
}

/// Reads the map again when asked (at most every `backoff_min`), with
/// backoff while a slot has no reachable master, and checks the
/// subscribing connections every health check interval.
async fn keep(shared: Arc<Shared>, nodes: Nodes, topology: Arc<Topology>) {
    let config = &shared.config;
    let mut backoff = Backoff::new(config.backoff_min, config.backoff_max);
    let mut complete = shared.counters.is_connected();
    loop {
        if complete {
            tokio::select! {
                () = topology.refresh.notified() => {}
                () = tokio::time::sleep(config.health_check_interval) => check_health(&shared, &topology).await,
            }
            tokio::time::sleep(config.backoff_min).await;
        } else {
            tokio::time::sleep(backoff.next_delay()).await;
        }
        complete = match refresh(&shared, &nodes, &topology, false).await {
            Ok(complete) => complete,
            Err(error) => {
                if backoff.attempt() == 1 {
                    tracing::warn!(%error, "cannot read the Redis Cluster's slot map; retrying");
                } else {
                    tracing::debug!(%error, "cannot read the Redis Cluster's slot map; retrying");
                }
                shared.counters.set_connected(false);
                false
            }
        };
        if complete {
            backoff = Backoff::new(config.backoff_min, config.backoff_max);
        }
        topology.changed.send_modify(|n| *n += 1);
    }
}

/// Pings each master's subscribing connection; one that does not answer
/// in time is dropped (a half-open connection reads as silence).
async fn check_health(shared: &Shared, topology: &Topology) {
    let config = &shared.config;
    let shards: Vec<Shard> = lock(&topology.current).shards.values().cloned().collect();
    let pings = shards.into_iter().map(|mut shard| async move {
        let ping = redis::cmd("PING");
        let ping = ping.query_async::<Value>(&mut shard.subscriber);
        // A push instead of `PONG` is an answer out of step (see `Answer::Broken`).
        let answered = matches!(
            tokio::time::timeout(config.response_timeout, ping).await,
            Ok(Ok(Value::SimpleString(_)))
        );
        (shard.id, answered)
    });
    for (id, answered) in join_all(pings).await {
        if !answered {
            tracing::warn!("a Redis Cluster master did not answer a health check; reconnecting");
            topology.lost(id, &shared.counters);
        }
    }
}

/// Delivers what the masters push, and reports channels they unsubscribed
/// (a slot moved) and connections that closed.
async fn read(
    shared: Arc<Shared>,
    context: BackendContext,
    topology: Arc<Topology>,
    mut pushes: mpsc::UnboundedReceiver<(u64, PushInfo)>,
    kicked: mpsc::UnboundedSender<(u64, String)>,
) {
    while let Some((id, push)) = pushes.recv().await {
        match push.kind {
            PushKind::SMessage => match &push.data[..] {
                [Value::BulkString(channel), Value::BulkString(payload)] => {
                    match std::str::from_utf8(channel) {
                        Ok(channel) => incoming::dispatch(&shared, &context, channel, payload),
                        Err(_) => shared.counters.junk("(not UTF-8)"),
                    }
                }
                _ => shared.counters.junk("(a push without a channel)"),
            },
            PushKind::SUnsubscribe => {
                if let Some(Value::BulkString(channel)) = push.data.first()
                    && let Ok(channel) = String::from_utf8(channel.clone())
                {
                    let _ = kicked.send((id, channel));
                }
            }
            PushKind::Disconnection => topology.lost(id, &shared.counters),
            _ => {}
        }
    }
}

/// The channels this instance listens on, and where.
struct Subscriptions {
    shared: Arc<Shared>,
    topology: Arc<Topology>,
    /// Always wanted: the direct channels and this instance's reply channel.
    own: Vec<String>,
    /// Each subscribed channel, and the connections (by id) it is subscribed on.
    live: HashMap<String, u64>,
    /// Joins waiting for their channel.
    waiting: HashMap<String, Vec<oneshot::Sender<()>>>,
}

impl Subscriptions {
    fn new(shared: Arc<Shared>, topology: Arc<Topology>) -> Subscriptions {
        let mut own = shared.names.directs();
        own.push(shared.reply_channel.clone());
        Subscriptions { shared, topology, own, live: HashMap::new(), waiting: HashMap::new() }
    }

    async fn run(
        mut self,
        mut ops: mpsc::UnboundedReceiver<SubOp>,
        mut kicked: mpsc::UnboundedReceiver<(u64, String)>,
    ) {
        let mut changed = self.topology.changed.subscribe();
        loop {
            tokio::select! {
                moved = changed.changed() => {
                    if moved.is_err() {
                        return;
                    }
                    self.place().await;
                    // Joins whose master is unreachable: local delivery now, subscribed once it is back.
                    for (_, acks) in self.waiting.drain() {
                        for ack in acks {
                            let _ = ack.send(());
                        }
                    }
                }
                Some((id, channel)) = kicked.recv() => {
                    // Our own SUNSUBSCRIBE is answered so too; a channel still wanted was moved.
                    if self.live.get(&channel) == Some(&id) && self.is_wanted(&channel) {
                        self.live.remove(&channel);
                        self.topology.refresh.notify_one();
                    }
                }
                op = ops.recv() => {
                    let Some(op) = op else { return };
                    let mut batch = vec![op];
                    while let Ok(op) = ops.try_recv() {
                        batch.push(op);
                    }
                    self.apply(batch).await;
                }
            }
        }
    }

    fn is_wanted(&self, channel: &str) -> bool {
        self.own.iter().any(|own| own == channel)
            || self
                .shared
                .names
                .topic_of(channel)
                .is_some_and(|topic| self.shared.topics.subscriber_count(topic) > 0)
    }

    /// Subscribes every wanted channel that is not subscribed on its slot's master now.
    async fn place(&mut self) {
        let mut wanted = self.own.clone();
        wanted.extend(self.shared.topics.topics().iter().map(|topic| self.shared.channel(topic)));
        self.live.retain(|channel, _| wanted.contains(channel));
        self.subscribe(wanted).await;
    }

    /// `SSUBSCRIBE`s each of `channels` not yet live on the master of its slot.
    async fn subscribe(&mut self, channels: Vec<String>) {
        let placed: Vec<(String, Shard)> = channels
            .into_iter()
            .filter_map(|channel| {
                let (_, shard) = self.topology.shard_for(&channel)?;
                (self.live.get(&channel) != Some(&shard.id)).then_some((channel, shard))
            })
            .collect();
        let timeout = self.shared.config.response_timeout;
        let subscribing = placed.into_iter().map(|(channel, mut shard)| async move {
            let answer = confirm(&mut shard.subscriber, "SSUBSCRIBE", &channel, timeout).await;
            (channel, shard.id, answer)
        });
        for (channel, id, answer) in join_all(subscribing).await {
            match answer {
                Answer::Done => {
                    self.live.insert(channel, id);
                }
                // The map is out of date (MOVED), or the master is failing: read it again.
                Answer::Refused => self.topology.refresh.notify_one(),
                Answer::Broken => self.topology.lost(id, &self.shared.counters),
            }
        }
    }

    async fn apply(&mut self, batch: Vec<SubOp>) {
        // The last change of each channel decides whether it should be subscribed.
        let mut wanted: HashMap<String, bool> = HashMap::new();
        let mut acks = Vec::new();
        for op in batch {
            match op {
                SubOp::Join { channel, ack, .. } => {
                    wanted.insert(channel.clone(), true);
                    acks.push((channel, ack));
                }
                SubOp::Leave { channel } => {
                    wanted.insert(channel, false);
                }
            }
        }
        let (join, leave): (Vec<_>, Vec<_>) = wanted.into_iter().partition(|(_, wanted)| *wanted);
        for (channel, _) in leave {
            if let Some(id) = self.live.remove(&channel) {
                let shard = lock(&self.topology.current).shards.values().find(|s| s.id == id).cloned();
                if let Some(mut shard) = shard {
                    let timeout = self.shared.config.response_timeout;
                    if confirm(&mut shard.subscriber, "SUNSUBSCRIBE", &channel, timeout).await
                        == Answer::Broken
                    {
                        self.topology.lost(id, &self.shared.counters);
                    }
                }
            }
        }
        self.subscribe(join.into_iter().map(|(channel, _)| channel).collect()).await;
        for (channel, ack) in acks {
            if self.live.contains_key(&channel) || self.topology.shard_for(&channel).is_none() {
                // Live, or its master is unreachable: local delivery until it is back.
                let _ = ack.send(());
            } else {
                self.waiting.entry(channel).or_default().push(ack);
            }
        }
    }
}

/// What became of one command sent to a master.
enum Outcome {
    Sent,
    /// Did not run (`MOVED`, `ASK`, `CLUSTERDOWN`, `TRYAGAIN`): sent again after the map changes.
    Again,
    /// Refused for good (dropped and counted).
    Refused,
    /// Lost with its connection; it may have run (dropped and counted).
    Lost,
}

/// Sends queued publishes, one pipeline per master, in order per slot.
async fn publish(shared: Arc<Shared>, topology: Arc<Topology>) {
    let mut changed = topology.changed.subscribe();
    // Publishes that wait for their slot's master, oldest first.
    let mut parked: VecDeque<Pending> = VecDeque::new();
    // Whether the map changed since they were parked (then they are sent again).
    let mut moved = false;
    loop {
        if parked.is_empty() {
            changed.mark_unchanged();
            moved = false;
        }
        moved |= changed.has_changed().unwrap_or(false);
        let batch = shared.outgoing.take(512);
        if batch.is_empty() && !moved {
            tokio::select! {
                () = shared.outgoing.ready() => {}
                read = changed.changed(), if !parked.is_empty() => {
                    if read.is_err() {
                        return;
                    }
                    moved = true;
                }
            }
            continue;
        }
        changed.mark_unchanged();
        let work: Vec<Pending> =
            if std::mem::take(&mut moved) { parked.drain(..).chain(batch).collect() } else { batch };
        let snapshot = topology.snapshot();
        let mut by_master: HashMap<&NodeAddr, (&Shard, Vec<Pending>)> = HashMap::new();
        for pending in work {
            match snapshot.owner(shared.slot_of(&pending)) {
                Some((node, shard)) => by_master.entry(node).or_insert((shard, Vec::new())).1.push(pending),
                None => park(&shared, &mut parked, pending),
            }
        }
        let sends =
            by_master.into_values().map(|(shard, batch)| send(&shared, &topology, shard.clone(), batch));
        for (id, results) in join_all(sends).await {
            let mut lost = false;
            for (pending, outcome) in results {
                match outcome {
                    Outcome::Sent => {
                        shared.counters.published.fetch_add(1, Ordering::Relaxed);
                    }
                    Outcome::Again => park(&shared, &mut parked, pending),
                    Outcome::Refused => shared.counters.dropped("Redis Cluster", "a master refused it"),
                    Outcome::Lost => {
                        lost = true;
                        shared.counters.dropped("Redis Cluster", "its master's connection broke");
                    }
                }
            }
            if lost {
                topology.lost(id, &shared.counters);
            }
        }
        if !parked.is_empty() {
            topology.refresh.notify_one();
        }
        shared.outgoing.sent();
    }
}

/// Keeps `pending` until its slot's master can take it (within the outage buffer).
fn park(shared: &Shared, parked: &mut VecDeque<Pending>, pending: Pending) {
    if parked.len() >= shared.config.limits.outage_buffer {
        shared
            .counters
            .dropped("Redis Cluster", "a slot has no reachable master and the outage buffer is full");
    } else {
        parked.push_back(pending);
    }
}

/// Sends `batch` to one master, pipelined; each publish's outcome.
async fn send(
    shared: &Shared,
    topology: &Topology,
    mut shard: Shard,
    batch: Vec<Pending>,
) -> (u64, Vec<(Pending, Outcome)>) {
    let mut pipe = redis::pipe();
    let scripts = shared.pipe_batch(&mut pipe, &batch);
    let sent = tokio::time::timeout(
        shared.config.response_timeout,
        shard.publisher.req_packed_commands(&pipe, 0, pipe.len()),
    )
    .await;
    let replies = match sent {
        Ok(Ok(replies)) if replies.len() == batch.len() + scripts => replies,
        _ => {
            // It may have run in part: sending it again could deliver twice (at most once).
            tracing::warn!(
                lost = batch.len(),
                "a publish to a Redis Cluster master failed; dropping its batch"
            );
            return (shard.id, batch.into_iter().map(|pending| (pending, Outcome::Lost)).collect());
        }
    };
    let outcomes = batch
        .into_iter()
        .zip(replies.into_iter().skip(scripts))
        .map(|(pending, reply)| {
            let outcome = match reply {
                Value::ServerError(error) => match error.code() {
                    "MOVED" | "ASK" => {
                        topology.redirects.fetch_add(1, Ordering::Relaxed);
                        Outcome::Again
                    }
                    "CLUSTERDOWN" | "TRYAGAIN" => {
                        topology.cluster_down.fetch_add(1, Ordering::Relaxed);
                        Outcome::Again
                    }
                    _ => {
                        tracing::warn!(%error, "a Redis Cluster master refused a publish");
                        Outcome::Refused
                    }
                },
                _ => Outcome::Sent,
            };
            (pending, outcome)
        })
        .collect();
    (shard.id, outcomes)
}

/// How a subscribing connection answered one command.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// As expected.
    Done,
    /// Refused (`MOVED`, `CLUSTERDOWN`, ..): the map is out of date.
    Refused,
    /// No answer in time, a broken connection, or an answer to another
    /// command: a master's unsolicited `sunsubscribe` (a slot moved) can be
    /// taken by the connection for the answer to a command in flight, which
    /// puts every later answer out of step. The connection is replaced.
    Broken,
}

/// Sends `SSUBSCRIBE` or `SUNSUBSCRIBE` for `channel` on a subscribing
/// connection and checks that the answer confirms that very channel.
async fn confirm(
    connection: &mut MultiplexedConnection,
    command: &str,
    channel: &str,
    timeout: Duration,
) -> Answer {
    let expected = if command == "SSUBSCRIBE" { PushKind::SSubscribe } else { PushKind::SUnsubscribe };
    let mut sent = redis::cmd(command);
    let sent = sent.arg(channel).query_async::<Value>(connection);
    match tokio::time::timeout(timeout, sent).await {
        Ok(Ok(Value::Push { kind, data })) if kind == expected => match data.first() {
            Some(Value::BulkString(confirmed)) if confirmed == channel.as_bytes() => Answer::Done,
            _ => Answer::Broken,
        },
        Ok(Err(error)) if error.code().is_some() => Answer::Refused,
        _ => Answer::Broken,
    }
}
