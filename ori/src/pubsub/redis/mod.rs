//! [`RedisBackend`]: many ori instances sharing one Redis, or one Redis
//! Cluster, behave as one.
//!
//! On a Redis Cluster the same packets travel on sharded channels, with one
//! pair of connections per master (`cluster/`: its keeper, subscriptions
//! and publisher; `slots.rs`: the slot map; `names.rs`: the channels of
//! each layout). What follows describes one Redis.
//! Each instance delivers to its own connections directly and forwards what
//! other instances need through Redis pub/sub:
//!
//! - a topic `t` is the Redis channel `<prefix>t` (default prefix `ori:`);
//!   an instance is subscribed to it while it has a local subscriber of `t`
//!   (first one: `SUBSCRIBE`; last one gone: `UNSUBSCRIBE`);
//! - a publish is delivered locally and published once on the channel; every
//!   instance ignores its own packets, so nobody receives a message twice;
//! - direct sends travel on one channel, `<prefix>#direct`, and the
//!   instance holding the socket delivers them; so do commands for a socket
//!   and counts (remote control, `control.rs`), whose answers come back on
//!   the asker's `<prefix>#reply:<instance>`;
//! - one connection publishes (pipelined, in order) and one subscribes, per
//!   instance; packets carry the message text once (see `packet.rs`).
//!
//! It is written on the public backend interface alone (`PubSubBackend`,
//! `TopicRegistry`, `BackendContext`), as a backend outside this crate would be.
//!
//! Guarantees: at most once; per publisher and topic, in order. While Redis is
//! unreachable the instance serves local traffic, acknowledges subscribes for
//! local delivery, keeps up to [`outage_buffer`](RedisBackendBuilder::outage_buffer)
//! publishes and sends them on reconnect (the rest are dropped and counted in
//! [`RedisStats`]), reconnects with backoff, and re-subscribes every topic
//! that still has local subscribers.

mod cluster;
mod control;
pub(crate) mod history;
mod incoming;
mod link;
mod names;
mod presence;
pub(crate) mod slots;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};

use self::link::{Link, SubOp};
use crate::connection::socket_id::SocketId;
use crate::error::{BoxError, PubSubError};
use crate::protocol::Outbound;
use crate::pubsub::asking::{self, Ask};
use crate::pubsub::counters::Counters;
use crate::pubsub::outgoing::{Limits, Outgoing};
use crate::pubsub::packet::{self, Kind};
use crate::pubsub::{
    BackendContext, BackendStats, Capabilities, Capability, CommandFuture, CountFuture, CountQuery,
    HistoryFuture, Position, PresenceEntry, PresenceFuture, PubSubBackend, Retention, SocketCommand,
    Subscribed, Subscriber, TopicRegistry,
};
use crate::util::redact;
use crate::util::sync::lock;

/// Pub/sub across every ori instance that shares a Redis or a Redis Cluster ([`cluster`](RedisBackend::cluster)).
///
/// ```no_run
/// use ori::pubsub::RedisBackend;
/// use ori::{Ori, WebSocketConfig};
///
/// # async fn demo() -> Result<(), ori::Error> {
/// let redis = RedisBackend::builder("redis://127.0.0.1:6379").channel_prefix("chat:").build();
/// Ori::create()
///     .websocket(WebSocketConfig::default())
///     .pubsub(redis)
///     .listen("0.0.0.0:3000")
///     .await
/// # }
/// ```
#[derive(Clone)]
pub struct RedisBackend {
    shared: Arc<Shared>,
}

/// Settings of a [`RedisBackend`].
#[derive(Debug, Clone)]
pub struct RedisBackendBuilder {
    config: Config,
}

#[derive(Debug, Clone)]
struct Config {
    target: Target,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    health_check_interval: Duration,
    limits: Limits,
    backoff_min: Duration,
    backoff_max: Duration,
    start_degraded: bool,
    presence_expiry: Duration,
    control_timeout: Duration,
}

/// Where Redis is.
#[derive(Debug, Clone)]
enum Target {
    /// One Redis (or a Redis behind a proxy): `redis://host:port[/db]`.
    Single(String),
    /// A Redis Cluster, found from these nodes (`redis://host:port` each).
    Cluster(Vec<String>),
}

impl Target {
    /// The seeds of a `redis+cluster://[user:password@]host:port,host:port[/?..]`
    /// URL as one `redis://` URL each; a `redis://` URL as itself.
    fn parse(url: String) -> Target {
        let Some(rest) = url.strip_prefix("redis+cluster://") else { return Target::Single(url) };
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((userinfo, rest)) => (format!("{userinfo}@"), rest),
            None => (String::new(), rest),
        };
        let (hosts, tail) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        Target::Cluster(
            hosts
                .split(',')
                .filter(|host| !host.is_empty())
                .map(|host| format!("redis://{userinfo}{host}{tail}"))
                .collect(),
        )
    }

    /// For logs: the URL or the seeds, without passwords.
    fn describe(&self) -> String {
        match self {
            Target::Single(url) => without_password(url),
            Target::Cluster(seeds) => {
                seeds.iter().map(|seed| without_password(seed)).collect::<Vec<_>>().join(",")
            }
        }
    }
}

/// `url` without the password of its user info (`redis://:secret@h` ->
/// `redis://:***@h`), for logs.
fn without_password(url: &str) -> String {
    redact::redacted(url, redact::UserInfo::KeepUser)
}

/// Counters of a [`RedisBackend`], for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisStats {
    /// Whether the instance is connected to Redis now.
    pub connected: bool,
    /// Frames published to Redis.
    pub published: u64,
    /// Frames from other instances delivered here.
    pub received: u64,
    /// Publishes dropped: past the outage buffer, or past the pending limit.
    pub dropped: u64,
    /// Messages on ori channels that were not ori packets (dropped).
    pub junk: u64,
    /// Connections re-established after a loss.
    pub reconnects: u64,
    /// Time spent without Redis, the current outage included (on a
    /// cluster: with a slot no reachable master serves).
    pub outage: Duration,
    /// Redis Cluster: the masters this instance is connected to now (0 on a single Redis).
    pub shards: usize,
    /// Redis Cluster: commands a shard answered with `MOVED` or `ASK`
    /// (a slot moved; they are sent again to its new master).
    pub redirects: u64,
    /// Redis Cluster: commands a shard refused with `CLUSTERDOWN` or
    /// `TRYAGAIN` (kept as in an outage and sent once it serves again).
    pub cluster_down: u64,
}

/// One publish waiting for the publishing connection.
enum Pending {
    /// A `PUBLISH` of `packet`.
    Publish {
        /// The topic's channel; `None` for the instance-wide direct channel
        /// (built once, not per direct send).
        channel: Option<String>,
        packet: Vec<u8>,
    },
    /// Presence changes of one topic: the apply script (`presence.rs`);
    /// `sync`: the instance's entries are exactly `pairs`.
    Presence { topic: String, pairs: Vec<(String, String)>, sync: bool },
    /// Records that this instance has presence entries on `topic` (before
    /// tracking them), so that they are reaped if it dies.
    Indexed { topic: String },
    /// A publish on a history topic: the append script (`history.rs`).
    Kept {
        topic: String,
        /// The packet's header; the script adds the position and the message.
        header: Vec<u8>,
        message: Outbound,
        retention: Retention,
    },
}

pub(crate) struct Shared {
    config: Config,
    /// This instance's id, in every packet it publishes.
    instance: [u8; 16],
    /// The channels' names (`names.rs`).
    names: names::Names,
    /// Where the answers to this instance's commands and counts come:
    /// `<prefix>#reply:<instance>`.
    reply_channel: String,
    /// This instance's commands and counts waiting for answers.
    requests: asking::Requests,
    /// This instance's subscribers.
    topics: TopicRegistry,
    ops: mpsc::UnboundedSender<SubOp>,
    ops_rx: Mutex<Option<mpsc::UnboundedReceiver<SubOp>>>,
    outgoing: Outgoing<Pending>,
    counters: Counters,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The live connections, once started (history reads use them).
    links: OnceLock<Links>,
    /// The SHA-1 of the append script.
    append_sha: String,
    /// The epoch each history topic with local subscribers was last seen
    /// in: a packet of another epoch is announced to them first.
    epochs: Mutex<HashMap<String, String>>,
    /// The instance id in hex: its presence fields and its heartbeat.
    instance_hex: String,
    /// The presence scripts.
    scripts: presence::Scripts,
    /// This instance's presence entries (the truth it resyncs Redis to).
    local_presence: Mutex<presence::LocalEntries>,
    /// The connections that get each topic's presence diffs.
    watchers: TopicRegistry,
    /// The Redis data generation this instance last saw (a random value
    /// kept in Redis): another one means Redis lost its data.
    generation: Mutex<Option<String>>,
    /// Counts the re-subscriptions after a reconnection (the publisher
    /// waits for one before sending what waited during the outage).
    resubscribed: watch::Sender<u64>,
}

/// The connections of a started backend.
enum Links {
    Single(watch::Receiver<Option<Link>>),
    Cluster(Arc<cluster::Topology>),
}

impl RedisBackend {
    /// A provider for the Redis at `url` (`redis://host:port[/db]`, or
    /// `redis+cluster://host:port,host:port` for a Redis Cluster), with defaults.
    pub fn new(url: impl Into<String>) -> RedisBackend {
        RedisBackend::builder(url).build()
    }

    /// Settings for the Redis at `url`: `redis://host:port[/db]` for one
    /// Redis, `redis+cluster://[user:password@]host:port,host:port` for a
    /// Redis Cluster (as [`cluster`](RedisBackend::cluster)).
    pub fn builder(url: impl Into<String>) -> RedisBackendBuilder {
        RedisBackend::with_target(Target::parse(url.into()))
    }

    /// Settings for a Redis Cluster (Redis 7 or later), found from any of
    /// `seeds` (`redis://host:port` each; one reachable is enough).
    ///
    /// Topics use sharded pub/sub (`SSUBSCRIBE`, `SPUBLISH`): a topic's
    /// channel lives on the shard that owns its slot, so each shard carries
    /// only its topics and adding shards adds capacity. The instance keeps
    /// one publishing and one subscribing connection per master, follows
    /// the slot map (`MOVED`, resharding, a replica promoted) and
    /// re-subscribes every topic still served where its slot went. A topic's
    /// history and presence keys share its channel's slot, so both work as
    /// on one Redis.
    ///
    /// ```no_run
    /// use ori::pubsub::RedisBackend;
    ///
    /// let cluster = RedisBackend::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]).build();
    /// // The same, as one URL (what `ORI_PUBSUB_URL` takes):
    /// let same = RedisBackend::new("redis+cluster://10.0.0.1:7000,10.0.0.2:7000");
    /// ```
    pub fn cluster<S: Into<String>>(seeds: impl IntoIterator<Item = S>) -> RedisBackendBuilder {
        RedisBackend::with_target(Target::Cluster(seeds.into_iter().map(Into::into).collect()))
    }

    fn with_target(target: Target) -> RedisBackendBuilder {
        RedisBackendBuilder {
            config: Config {
                target,
                prefix: "ori:".to_owned(),
                connect_timeout: Duration::from_secs(5),
                response_timeout: Duration::from_secs(5),
                health_check_interval: Duration::from_secs(15),
                limits: Limits::default(),
                backoff_min: Duration::from_millis(100),
                backoff_max: Duration::from_secs(5),
                start_degraded: false,
                presence_expiry: Duration::from_secs(30),
                control_timeout: Duration::from_secs(3),
            },
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        let c = &self.shared.counters;
        let stats = c.stats();
        RedisStats {
            connected: stats.connected,
            published: stats.published,
            received: stats.received,
            dropped: stats.dropped,
            junk: c.junk.load(Ordering::Relaxed),
            reconnects: stats.reconnects,
            outage: stats.outage,
            ..match self.shared.links.get() {
                Some(Links::Cluster(topology)) => topology.stats(),
                _ => RedisStats::default(),
            }
        }
    }

    /// The Redis channel of `topic` (`<prefix>topic`; `<prefix>{topic}` on a cluster).
    pub fn channel_of(&self, topic: &str) -> String {
        self.shared.channel(topic)
    }
}

impl RedisBackendBuilder {
    /// Prefix of every Redis channel ori uses (default `ori:`); instances
    /// share topics only when they share the prefix.
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// Time to connect to Redis (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Time Redis gets to answer a command (default 5 s); past it the
    /// connection is treated as lost.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.config.response_timeout = timeout;
        self
    }

    /// Interval of the `PING` on the subscription connection (default 15 s);
    /// one unanswered within the response timeout counts as a lost
    /// connection, so a silently dropped connection is replaced.
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.config.health_check_interval = interval;
        self
    }

    /// Publishes kept while Redis is unreachable and sent, in order, once it is
    /// back (default 1024); publishes past it are dropped and counted. `0`
    /// drops everything published during an outage. Other instances receive
    /// the replayed messages once they are re-subscribed.
    pub fn outage_buffer(mut self, messages: usize) -> Self {
        self.config.limits.outage_buffer = messages;
        self
    }

    /// Publishes waiting for Redis at most, connected or not (default
    /// 100,000); past it, publishes are dropped and counted, so a slow Redis
    /// never costs unbounded memory.
    pub fn max_pending(mut self, messages: usize) -> Self {
        self.config.limits.max_pending = messages;
        self
    }

    /// Reconnection backoff: first wait, then doubled up to the maximum, each
    /// wait drawn between half and all of it (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.backoff_min = min;
        self.config.backoff_max = max.max(min);
        self
    }

    /// Start even when Redis is unreachable, serving local traffic until it
    /// is reachable (default: an unreachable Redis is a start-up error).
    pub fn start_degraded(mut self, start_degraded: bool) -> Self {
        self.config.start_degraded = start_degraded;
        self
    }

    /// How soon the presence entries of an instance that stopped answering
    /// (killed, partitioned, paused) are removed, with their leaves sent to
    /// every watcher (default 30 s). Instances send a heartbeat every
    /// quarter of it; use the same value on every instance.
    pub fn presence_expiry(mut self, expiry: Duration) -> Self {
        self.config.presence_expiry = expiry.max(Duration::from_millis(300));
        self
    }

    /// How long a command for a socket on another instance, or a count
    /// over every instance, waits for the other instances' answers
    /// (default 3 s; [`Sockets::disconnect`](crate::Sockets::disconnect),
    /// [`Sockets::count_connections`](crate::Sockets::count_connections), ...).
    pub fn control_timeout(mut self, timeout: Duration) -> Self {
        self.config.control_timeout = timeout;
        self
    }

    /// The provider.
    pub fn build(self) -> RedisBackend {
        let (ops, ops_rx) = mpsc::unbounded_channel();
        let instance = crate::util::random::random_bytes();
        let instance_hex = crate::util::random::hex(&instance);
        let names = names::Names::new(&self.config.prefix, matches!(self.config.target, Target::Cluster(_)));
        let reply_channel = names.reply(&instance_hex);
        RedisBackend {
            shared: Arc::new(Shared {
                config: self.config,
                instance,
                names,
                reply_channel,
                requests: asking::Requests::default(),
                topics: TopicRegistry::new(),
                ops,
                ops_rx: Mutex::new(Some(ops_rx)),
                outgoing: Outgoing::default(),
                counters: Counters::default(),
                tasks: Mutex::new(Vec::new()),
                links: OnceLock::new(),
                append_sha: history::append_sha(),
                epochs: Mutex::new(HashMap::new()),
                instance_hex,
                scripts: presence::Scripts::default(),
                local_presence: Mutex::default(),
                watchers: TopicRegistry::new(),
                resubscribed: watch::Sender::new(0),
                generation: Mutex::new(None),
            }),
        }
    }
}

impl Shared {
    fn channel(&self, topic: &str) -> String {
        self.names.topic(topic)
    }

    /// Where the instance `instance` reads the answers to its requests.
    fn reply_channel_of(&self, instance: &[u8; 16]) -> String {
        self.names.reply(&crate::util::random::hex(instance))
    }

    /// The cluster slot `pending` goes to: of its channel, or of the keys
    /// of its topic or instance (tagged `{topic}`, `{instance}`).
    fn slot_of(&self, pending: &Pending) -> u16 {
        match pending {
            Pending::Publish { channel: Some(channel), .. } => slots::slot(channel.as_bytes()),
            Pending::Publish { channel: None, .. } => slots::slot(self.names.direct(None).as_bytes()),
            Pending::Kept { topic, .. } | Pending::Presence { topic, .. } => slots::slot(topic.as_bytes()),
            Pending::Indexed { .. } => slots::slot(self.instance_hex.as_bytes()),
        }
    }

    /// Adds `batch` to `pipe`, after loading the scripts it runs (those of
    /// a restarted, flushed or failed-over Redis are gone); returns how many
    /// replies come before the batch's own.
    fn pipe_batch(&self, pipe: &mut redis::Pipeline, batch: &[Pending]) -> usize {
        let mut loads = 0;
        if batch.iter().any(|p| matches!(p, Pending::Kept { .. })) {
            pipe.cmd("SCRIPT").arg("LOAD").arg(history::APPEND).ignore();
            loads += 1;
        }
        if batch.iter().any(|p| matches!(p, Pending::Presence { .. })) {
            pipe.cmd("SCRIPT").arg("LOAD").arg(&self.scripts.apply.source).ignore();
            loads += 1;
        }
        for pending in batch {
            self.pipe_pending(pipe, pending);
        }
        loads
    }

    /// Adds `pending` to `pipe`.
    fn pipe_pending(&self, pipe: &mut redis::Pipeline, pending: &Pending) {
        match pending {
            Pending::Publish { channel, packet } => {
                let channel = channel.as_deref().unwrap_or(self.names.direct(None));
                pipe.cmd(self.names.publish_command()).arg(channel).arg(&packet[..]).ignore();
            }
            Pending::Kept { topic, header, message, retention } => {
                let [stream, meta] = history::keys(&self.config.prefix, topic);
                let meta_ttl = history::META_TTL.max(retention.ttl());
                pipe.cmd("EVALSHA")
                    .arg(&self.append_sha)
                    .arg(2)
                    .arg(stream)
                    .arg(meta)
                    .arg(crate::util::random::random_token())
                    .arg(retention.size())
                    .arg(retention.ttl().as_millis() as u64)
                    .arg(meta_ttl.as_millis() as u64)
                    .arg(self.channel(topic))
                    .arg(&header[..])
                    .arg(message.payload())
                    .arg(self.names.publish_command())
                    .ignore();
            }
            Pending::Presence { topic, pairs, sync } => {
                let keys = self.presence_keys();
                let header = packet::encode(Kind::Presence, &self.instance, None, &Outbound::text(""));
                let mut cmd = redis::cmd("EVALSHA");
                cmd.arg(&self.scripts.apply.sha)
                    .arg(2)
                    .arg(keys.hash(topic))
                    .arg(keys.version(topic))
                    .arg(self.channel(topic))
                    .arg(header)
                    .arg(topic)
                    .arg(history::META_TTL.as_millis() as u64)
                    .arg(if *sync { format!("{}:", self.instance_hex) } else { String::new() })
                    .arg(self.names.publish_command());
                for (field, meta) in pairs {
                    cmd.arg(field).arg(meta);
                }
                pipe.add_command(cmd).ignore();
            }
            Pending::Indexed { topic } => {
                let index = self.presence_keys().instance_topics(&self.instance_hex);
                pipe.cmd("SADD").arg(index).arg(topic).ignore();
            }
        }
    }

    /// The publishing connection, while connected (on a cluster: of the
    /// master serving `key`'s slot).
    pub(crate) fn connection_for(&self, key: &str) -> Option<redis::aio::MultiplexedConnection> {
        match self.links.get()? {
            Links::Single(links) => links.borrow().as_ref().map(|l| l.publisher.clone()),
            Links::Cluster(topology) => topology.publisher_for(key),
        }
    }

    /// The publishing connection of a single Redis, while connected.
    pub(crate) fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        self.connection_for("")
    }

    pub(crate) fn presence_keys(&self) -> presence::Keys<'_> {
        presence::Keys { prefix: &self.config.prefix }
    }

    /// Makes this instance's entries in Redis exactly the local ones again
    /// (after a reconnection, or after it was reaped).
    pub(crate) fn resync_presence(&self) {
        let mut local = lock(&self.local_presence);
        for (topic, entries) in &local.topics {
            let pairs = entries.iter().map(|(field, meta)| (field.clone(), meta.get().to_owned())).collect();
            self.enqueue(Pending::Indexed { topic: topic.clone() });
            self.enqueue(Pending::Presence { topic: topic.clone(), pairs, sync: true });
        }
        local.topics.retain(|_, entries| !entries.is_empty());
    }

    /// Queues a publish for the publishing connection; never waits.
    fn enqueue(&self, pending: Pending) {
        self.outgoing.push(pending, self.config.limits, &self.counters, "Redis");
    }
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("redis", &self.shared.config.target.describe())
            .field("prefix", &self.shared.config.prefix)
            .field("stats", &self.stats())
            .finish()
    }
}

impl PubSubBackend for RedisBackend {
    fn name(&self) -> String {
        match &self.shared.config.target {
            Target::Single(url) => format!("Redis at {} (across instances)", without_password(url)),
            Target::Cluster(_) => {
                format!(
                    "Redis Cluster at {} (sharded, across instances)",
                    self.shared.config.target.describe()
                )
            }
        }
    }

    fn stats(&self) -> Option<BackendStats> {
        Some(self.shared.counters.stats())
    }

    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
        let (ack, live) = oneshot::channel();
        let shared = &self.shared;
        shared.topics.insert_with(topic, subscriber, |inserted| {
            // Sent while the topic is locked: the manager sees joins and leaves in order.
            let _ =
                shared.ops.send(SubOp::Join { channel: shared.channel(topic), first: inserted.first, ack });
        });
        // A manager that is gone (not started, shut down) means local delivery only.
        async move {
            let _ = live.await;
            Ok(())
        }
        .boxed()
    }

    fn unsubscribe(&self, topic: &str, subscriber: SocketId) {
        let shared = &self.shared;
        shared.topics.remove_with(topic, subscriber, |removed| {
            if removed.last {
                let _ = shared.ops.send(SubOp::Leave { channel: shared.channel(topic) });
                lock(&shared.epochs).remove(topic);
            }
        });
    }

    fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>) {
        let shared = &self.shared;
        shared.topics.publish(topic, message, exclude);
        let packet = packet::encode(Kind::Publish, &shared.instance, exclude, message);
        shared.enqueue(Pending::Publish { channel: Some(shared.channel(topic)), packet });
    }

    fn publish_kept(
        &self,
        topic: &str,
        message: &Outbound,
        exclude: Option<SocketId>,
        retention: Retention,
    ) -> Result<(), PubSubError> {
        // Delivered here too from the script's packet: in offset order, as everywhere.
        let header = packet::encode(Kind::Kept, &self.shared.instance, exclude, &Outbound::text(""));
        self.shared.enqueue(Pending::Kept {
            topic: topic.to_owned(),
            header,
            message: message.clone(),
            retention,
        });
        Ok(())
    }

    fn read_history(&self, topic: &str, since: Option<&Position>, retention: Retention) -> HistoryFuture {
        let shared = self.shared.clone();
        let (topic, since) = (topic.to_owned(), since.cloned());
        async move {
            let Some(mut connection) = shared.connection_for(&shared.channel(&topic)) else {
                return Err(PubSubError::Backend("Redis is unreachable".to_owned()));
            };
            let read =
                history::read(&mut connection, &shared.config.prefix, &topic, since.as_ref(), retention)
                    .await?;
            if read.junk > 0 {
                shared.counters.junk.fetch_add(read.junk, Ordering::Relaxed);
                tracing::warn!(topic, skipped = read.junk, "skipped history entries that are not ori's");
            }
            lock(&shared.epochs).entry(topic).or_insert_with(|| read.history.position.epoch.clone());
            Ok(read.history)
        }
        .boxed()
    }

    fn track(&self, topic: &str, entry: PresenceEntry) -> Result<(), PubSubError> {
        let shared = &self.shared;
        let field = presence::field(&shared.instance_hex, entry.socket, &entry.key);
        let meta = entry.meta.get().to_owned();
        lock(&shared.local_presence)
            .topics
            .entry(topic.to_owned())
            .or_default()
            .insert(field.clone(), entry.meta);
        shared.enqueue(Pending::Indexed { topic: topic.to_owned() });
        shared.enqueue(Pending::Presence {
            topic: topic.to_owned(),
            pairs: vec![(field, meta)],
            sync: false,
        });
        Ok(())
    }

    fn untrack(&self, topic: &str, key: &str, socket: SocketId) {
        let shared = &self.shared;
        let field = presence::field(&shared.instance_hex, socket, key);
        let removed = lock(&shared.local_presence).topics.get_mut(topic).and_then(|t| t.remove(&field));
        if removed.is_some() {
            shared.enqueue(Pending::Presence {
                topic: topic.to_owned(),
                pairs: vec![(field, String::new())],
                sync: false,
            });
        }
    }

    fn watch_presence(&self, topic: &str, watcher: &Subscriber) {
        self.shared.watchers.insert(topic, watcher);
    }

    fn unwatch_presence(&self, topic: &str, watcher: SocketId) {
        self.shared.watchers.remove(topic, watcher);
    }

    fn presence(&self, topic: &str) -> PresenceFuture {
        let shared = self.shared.clone();
        let topic = topic.to_owned();
        async move {
            let mut connection = shared
                .connection_for(&shared.channel(&topic))
                .ok_or_else(|| PubSubError::Backend("Redis is unreachable".to_owned()))?;
            presence::read(&mut connection, &shared.scripts, &shared.presence_keys(), &topic).await
        }
        .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
            .with(Capability::History)
            .with(Capability::Presence)
            .with(Capability::RemoteControl)
    }

    fn is_ready(&self) -> bool {
        self.shared.counters.connected.load(Ordering::Acquire)
    }

    fn send_to_remote(&self, socket: SocketId, message: &Outbound) -> Result<(), PubSubError> {
        let shared = &self.shared;
        let packet = packet::encode(Kind::Direct, &shared.instance, Some(socket), message);
        let channel = shared.names.is_cluster().then(|| shared.names.direct(Some(socket)).to_owned());
        shared.enqueue(Pending::Publish { channel, packet });
        Ok(())
    }

    fn local_subscriber_count(&self, topic: &str) -> usize {
        self.shared.topics.subscriber_count(topic)
    }

    fn command_remote(&self, socket: SocketId, command: &SocketCommand) -> CommandFuture {
        let (shared, command) = (self.shared.clone(), command.clone());
        async move { asking::command_outcome(&control::ask(&shared, Ask::Command(socket, &command)).await?) }
            .boxed()
    }

    fn count_remote(&self, query: &CountQuery) -> CountFuture {
        let (shared, query) = (self.shared.clone(), query.clone());
        async move { Ok(control::ask(&shared, Ask::Count(&query)).await?.sum) }.boxed()
    }

    fn start(&self, context: BackendContext) -> BoxFuture<'static, Result<(), BoxError>> {
        let shared = self.shared.clone();
        async move {
            match shared.config.target.clone() {
                Target::Single(url) => link::start(shared, context, &url).await,
                Target::Cluster(seeds) => cluster::start(shared, context, seeds).await,
            }
        }
        .boxed()
    }

    fn flush(&self) -> BoxFuture<'static, ()> {
        let shared = self.shared.clone();
        async move {
            // Nothing can be sent while Redis is unreachable: the others reap instead.
            while shared.counters.is_connected() && !shared.outgoing.is_idle() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        .boxed()
    }

    fn shutdown(&self) {
        for task in lock(&self.shared.tasks).drain(..) {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_never_reaches_a_log() {
        assert_eq!(super::without_password("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(super::without_password("redis://user:s3cret@h"), "redis://user:***@h");
        assert_eq!(super::without_password("redis://h:6379"), "redis://h:6379");
        assert_eq!(super::without_password("rediss://user@h"), "rediss://user@h");
    }

    #[test]
    fn a_cluster_url_names_its_seeds() {
        let seeds = |url: &str| match super::Target::parse(url.to_owned()) {
            super::Target::Cluster(seeds) => seeds,
            super::Target::Single(url) => panic!("{url} is not a cluster"),
        };
        assert_eq!(seeds("redis+cluster://a:7000,b:7001"), ["redis://a:7000", "redis://b:7001"]);
        assert_eq!(
            seeds("redis+cluster://u:pw@a:7000,b:7001/?protocol=resp3"),
            ["redis://u:pw@a:7000/?protocol=resp3", "redis://u:pw@b:7001/?protocol=resp3"]
        );
        assert_eq!(
            super::Target::parse("redis+cluster://:pw@a:1,b:2".to_owned()).describe(),
            "redis://:***@a:1,redis://:***@b:2"
        );
        assert!(matches!(super::Target::parse("redis://a:1".to_owned()), super::Target::Single(_)));
    }
}
