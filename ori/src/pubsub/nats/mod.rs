//! [`NatsBackend`]: many ori instances sharing a NATS server (or cluster)
//! behave as one, over NATS core.
//!
//! - a topic `t` is the subject `<prefix>.t.<t>` (dots as `%`, see
//!   `subject.rs`); an instance subscribes to it while it has a local
//!   subscriber of `t`;
//! - a publish is delivered locally and published once on the subject;
//!   every instance ignores its own packets, so nobody receives a message
//!   twice;
//! - direct sends travel on `<prefix>.direct.<tag>`, the tag that starts
//!   the socket's id (one per process, see [`SocketId`]), and the instance holding the
//!   socket delivers them; commands for a socket and counts go to every
//!   instance on `<prefix>.control` (remote control, `control.rs`);
//! - packets are those of the Redis backend (a 34-byte header, then the
//!   message as is); anything else on these subjects is counted and dropped;
//! - a topic that keeps history is a JetStream stream (`history.rs`);
//!   presence is one JetStream stream of entries, one subject each
//!   (`presence.rs`).
//!
//! It is written on the public backend interface alone, as a backend
//! outside this crate would be.
//!
//! Guarantees, as on Redis: at most once; per publisher and topic, in
//! order; a `subscribe` resolves once the server has the subscription. While
//! NATS is unreachable the instance serves local traffic, acknowledges
//! subscribes for local delivery, keeps up to
//! [`outage_buffer`](NatsBackendBuilder::outage_buffer) publishes and sends
//! them once it is back (the rest are dropped and counted), and the client
//! reconnects and subscribes again by itself.

mod control;
mod history;
mod link;
mod presence;
mod publisher;
mod subject;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use self::link::SubOp;
use self::subject::Subjects;
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

/// Pub/sub across every ori instance that shares a NATS server.
///
/// ```no_run
/// use ori::pubsub::NatsBackend;
///
/// let nats = NatsBackend::builder("nats://127.0.0.1:4222")
///     .subject_prefix("chat") // default "ori"
///     .build();
/// let app = ori::Ori::create().pubsub(nats);
/// ```
#[derive(Clone)]
pub struct NatsBackend {
    shared: Arc<Shared>,
}

/// Settings of a [`NatsBackend`] ([`NatsBackend::builder`]).
#[derive(Debug, Clone)]
pub struct NatsBackendBuilder {
    config: Config,
}

#[derive(Debug, Clone)]
struct Config {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    ping_interval: Duration,
    limits: Limits,
    start_degraded: bool,
    backoff_min: Duration,
    backoff_max: Duration,
    control_timeout: Duration,
    presence_expiry: Duration,
    tls_root: Option<std::path::PathBuf>,
}

/// Counters of a [`NatsBackend`], for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NatsStats {
    /// Whether the instance is connected to NATS now.
    pub connected: bool,
    /// Packets published to NATS.
    pub published: u64,
    /// Packets from other instances delivered here.
    pub received: u64,
    /// Publishes dropped (past the outage buffer or the pending limit, or
    /// refused by NATS, e.g. over its `max_payload`).
    pub dropped: u64,
    /// Messages on ori's subjects that were not ori packets, skipped.
    pub junk: u64,
    /// Times the connection was re-established after a loss.
    pub reconnects: u64,
    /// Time spent disconnected since start-up, the current outage included.
    pub outage: Duration,
}

pub(crate) struct Shared {
    config: Config,
    /// This instance's id, in every packet it publishes.
    instance: [u8; 16],
    /// The same, in hex, as subjects have it.
    instance_hex: String,
    /// The subjects besides the topics'.
    subjects: Subjects,
    /// This instance's commands and counts waiting for answers.
    requests: asking::Requests,
    /// The other instances, as their heartbeats say.
    members: control::Members,
    /// This instance's subscribers.
    topics: TopicRegistry,
    /// This instance's presence watchers.
    watchers: TopicRegistry,
    /// This instance's entries, and the topics it follows (`presence.rs`).
    presence: presence::Presence,
    ops: mpsc::UnboundedSender<SubOp>,
    ops_rx: Mutex<Option<mpsc::UnboundedReceiver<SubOp>>>,
    /// Publishes waiting for the connection.
    outgoing: Outgoing<Pending>,
    counters: Counters,
    client: OnceLock<async_nats::Client>,
    /// JetStream, for history topics (`history.rs`).
    jetstream: OnceLock<async_nats::jetstream::Context>,
    /// The history topics whose stream this instance follows (it has local subscribers).
    followers: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
    /// Counts reconnections: followers then check that their stream is
    /// still the one they follow (a server back without its storage).
    reconnected: tokio::sync::watch::Sender<u64>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// One publish waiting for the connection.
pub(crate) enum Pending {
    /// A core publish of `packet` on `subject`.
    Core { subject: String, packet: Vec<u8> },
    /// A JetStream publish on a history topic's stream.
    /// The packet is shared: it is sent again if the stream had to be made again.
    Kept { topic: String, packet: bytes::Bytes, retention: Retention },
    /// A presence entry written (an empty meta: removed) on the presence stream.
    Presence { subject: String, meta: bytes::Bytes },
}

impl NatsBackend {
    /// A backend for the NATS server at `url` (`nats://host:port`; several,
    /// comma-separated, for a cluster), with defaults.
    pub fn new(url: impl Into<String>) -> NatsBackend {
        NatsBackend::builder(url).build()
    }

    /// Settings for the NATS server at `url`.
    pub fn builder(url: impl Into<String>) -> NatsBackendBuilder {
        NatsBackendBuilder {
            config: Config {
                url: url.into(),
                prefix: "ori".to_owned(),
                connect_timeout: Duration::from_secs(5),
                ping_interval: Duration::from_secs(15),
                limits: Limits::default(),
                start_degraded: false,
                backoff_min: Duration::from_millis(100),
                backoff_max: Duration::from_secs(5),
                control_timeout: Duration::from_secs(3),
                presence_expiry: Duration::from_secs(30),
                tls_root: None,
            },
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> NatsStats {
        let c = &self.shared.counters;
        let stats = c.stats();
        NatsStats {
            connected: stats.connected,
            published: stats.published,
            received: stats.received,
            dropped: stats.dropped,
            junk: c.junk.load(Ordering::Relaxed),
            reconnects: stats.reconnects,
            outage: stats.outage,
        }
    }

    /// The NATS subject of `topic`.
    pub fn subject_of(&self, topic: &str) -> String {
        subject::of_topic(&self.shared.config.prefix, topic)
    }
}

impl NatsBackendBuilder {
    /// First token(s) of every subject ori uses (default `ori`); instances
    /// share topics only when they share the prefix. Tokens are separated
    /// by dots; `*`, `>`, `%`, `/`, `\` and spaces are refused at start-up.
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// Time to connect to NATS (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Interval of the client's `PING` (default 15 s): a connection that
    /// stops answering is replaced.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// Publishes kept while NATS is unreachable and sent, in order, once it is
    /// back (default 1024); publishes past it are dropped and counted. `0`
    /// drops everything published during an outage.
    pub fn outage_buffer(mut self, messages: usize) -> Self {
        self.config.limits.outage_buffer = messages;
        self
    }

    /// Publishes waiting for NATS at most, connected or not (default
    /// 100,000); past it, publishes are dropped and counted.
    pub fn max_pending(mut self, messages: usize) -> Self {
        self.config.limits.max_pending = messages;
        self
    }

    /// Reconnection backoff: the first wait, then doubled up to the maximum
    /// (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.config.backoff_min = min;
        self.config.backoff_max = max.max(min);
        self
    }

    /// How long a command for a socket on another instance, or a count
    /// over every instance, waits for the other instances' answers
    /// (default 3 s).
    pub fn control_timeout(mut self, timeout: Duration) -> Self {
        self.config.control_timeout = timeout;
        self
    }

    /// How long an instance that stopped answering (killed, cut off) keeps
    /// its presence entries: within this the other instances remove them
    /// and send their leaves (default 30 s; at least 300 ms). Instances
    /// beat at least four times per expiry.
    pub fn presence_expiry(mut self, expiry: Duration) -> Self {
        self.config.presence_expiry = expiry.max(Duration::from_millis(300));
        self
    }

    /// Trusts the CA certificates of this PEM file too, besides the
    /// system's roots, for a server that requires TLS (`tls://host:port`,
    /// or `nats://` to a server that says it requires TLS).
    pub fn tls_root_pem(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.tls_root = Some(path.into());
        self
    }

    /// Start even when NATS is unreachable, serving local traffic until it
    /// is reachable (default: an unreachable NATS is a start-up error).
    pub fn start_degraded(mut self, start_degraded: bool) -> Self {
        self.config.start_degraded = start_degraded;
        self
    }

    /// The backend.
    pub fn build(self) -> NatsBackend {
        let (ops, ops_rx) = mpsc::unbounded_channel();
        let instance = crate::util::random::random_bytes();
        NatsBackend {
            shared: Arc::new(Shared {
                subjects: Subjects::new(&self.config.prefix, &instance),
                requests: asking::Requests::default(),
                members: control::Members::default(),
                config: self.config,
                instance,
                instance_hex: crate::util::random::hex(&instance),
                topics: TopicRegistry::new(),
                watchers: TopicRegistry::new(),
                presence: presence::Presence::default(),
                ops,
                ops_rx: Mutex::new(Some(ops_rx)),
                outgoing: Outgoing::default(),
                counters: Counters::default(),
                client: OnceLock::new(),
                jetstream: OnceLock::new(),
                followers: Mutex::default(),
                reconnected: tokio::sync::watch::Sender::new(0),
                tasks: Mutex::default(),
            }),
        }
    }
}

impl Shared {
    fn subject(&self, topic: &str) -> String {
        self.subjects.topic(topic)
    }

    /// Queues a publish for the publisher; never waits.
    fn enqueue(&self, subject: String, packet: Vec<u8>) {
        self.enqueue_pending(Pending::Core { subject, packet });
    }

    fn enqueue_pending(&self, pending: Pending) {
        self.outgoing.push(pending, self.config.limits, &self.counters, "NATS");
    }

    /// The subject of this instance's entry of `key` and `socket` on `topic`.
    fn entry_subject(&self, topic: &str, socket: SocketId, key: &str) -> String {
        presence::entry_subject(&self.config.prefix, topic, &self.instance_hex, socket, key)
    }

    fn dropped(&self, why: &str) {
        self.counters.dropped("NATS", why);
    }

    /// Counts (and now and then logs) a message on an ori subject that is not an ori packet.
    fn junk(&self, subject: &str) {
        self.counters.junk(subject);
    }
}

impl std::fmt::Debug for NatsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBackend")
            .field("url", &without_credentials(&self.shared.config.url))
            .field("prefix", &self.shared.config.prefix)
            .field("stats", &self.stats())
            .finish()
    }
}

/// `url` without user info (`nats://user:secret@h` -> `nats://***@h`), for logs.
fn without_credentials(url: &str) -> String {
    redact::redacted(url, redact::UserInfo::Hide)
}

impl PubSubBackend for NatsBackend {
    fn name(&self) -> String {
        format!("NATS at {} (across instances)", without_credentials(&self.shared.config.url))
    }

    fn stats(&self) -> Option<BackendStats> {
        Some(self.shared.counters.stats())
    }

    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
        let (ack, live) = oneshot::channel();
        let shared = &self.shared;
        shared.topics.insert_with(topic, subscriber, |_| {
            // Sent while the topic is locked: the manager sees joins and leaves in order.
            let _ = shared.ops.send(SubOp::Join { topic: topic.to_owned(), ack });
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
                let _ = shared.ops.send(SubOp::Leave { topic: topic.to_owned() });
                history::unfollow(shared, topic);
            }
        });
    }

    fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>) {
        let shared = &self.shared;
        shared.topics.publish(topic, message, exclude);
        let packet = packet::encode(Kind::Publish, &shared.instance, exclude, message);
        shared.enqueue(shared.subject(topic), packet);
    }

    fn publish_kept(
        &self,
        topic: &str,
        message: &Outbound,
        exclude: Option<SocketId>,
        retention: Retention,
    ) -> Result<(), PubSubError> {
        // Delivered here too, from the stream: in offset order, as everywhere.
        let packet = packet::encode(Kind::Publish, &self.shared.instance, exclude, message);
        self.shared.enqueue_pending(Pending::Kept {
            topic: topic.to_owned(),
            packet: packet.into(),
            retention,
        });
        Ok(())
    }

    fn read_history(&self, topic: &str, since: Option<&Position>, retention: Retention) -> HistoryFuture {
        let (shared, topic, since) = (self.shared.clone(), topic.to_owned(), since.cloned());
        async move { history::read(&shared, &topic, since.as_ref(), retention).await }.boxed()
    }

    fn track(&self, topic: &str, entry: PresenceEntry) -> Result<(), PubSubError> {
        let shared = &self.shared;
        let subject = shared.entry_subject(topic, entry.socket, &entry.key);
        let meta = bytes::Bytes::copy_from_slice(entry.meta.get().as_bytes());
        if shared.presence.track(&subject, meta.clone()) {
            shared.enqueue_pending(Pending::Presence { subject, meta });
        }
        Ok(())
    }

    fn untrack(&self, topic: &str, key: &str, socket: SocketId) {
        let shared = &self.shared;
        let subject = shared.entry_subject(topic, socket, key);
        if shared.presence.untrack(&subject) {
            shared.enqueue_pending(Pending::Presence { subject, meta: bytes::Bytes::new() });
        }
    }

    fn watch_presence(&self, topic: &str, watcher: &Subscriber) {
        let shared = &self.shared;
        shared.watchers.insert_with(topic, watcher, |inserted| {
            if inserted.first {
                presence::start_following(shared, topic);
            }
        });
    }

    fn unwatch_presence(&self, topic: &str, watcher: SocketId) {
        let shared = &self.shared;
        shared.watchers.remove_with(topic, watcher, |removed| {
            if removed.last {
                presence::stop_following(shared, topic);
            }
        });
    }

    fn presence(&self, topic: &str) -> PresenceFuture {
        let (shared, topic) = (self.shared.clone(), topic.to_owned());
        async move { presence::read(&shared, &topic).await }.boxed()
    }

    fn send_to_remote(&self, socket: SocketId, message: &Outbound) -> Result<(), PubSubError> {
        let shared = &self.shared;
        let packet = packet::encode(Kind::Direct, &shared.instance, Some(socket), message);
        shared.enqueue(shared.subjects.direct_of(socket), packet);
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

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
            .with(Capability::History)
            .with(Capability::Presence)
            .with(Capability::RemoteControl)
    }

    fn is_ready(&self) -> bool {
        self.shared.counters.connected.load(Ordering::Acquire)
    }

    fn start(&self, context: BackendContext) -> BoxFuture<'static, Result<(), BoxError>> {
        let shared = self.shared.clone();
        async move { link::start(shared, context).await }.boxed()
    }

    fn flush(&self) -> BoxFuture<'static, ()> {
        let shared = self.shared.clone();
        async move {
            while shared.counters.is_connected() && !shared.outgoing.is_idle() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // The others stop waiting for this instance's answers at once.
            control::leave(&shared).await;
            if let Some(client) = shared.client.get() {
                let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
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
    use super::*;

    #[test]
    fn credentials_stay_out_of_logs() {
        assert_eq!(without_credentials("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(without_credentials("nats://u:secret@h:4222"), "nats://***@h:4222");
        assert_eq!(without_credentials("nats://t0ken@a:1,nats://b:2"), "nats://***@a:1,nats://b:2");
        let nats = NatsBackend::new("nats://u:secret@h:4222");
        assert!(!format!("{nats:?}").contains("secret"));
        assert!(!nats.name().contains("secret"));
    }
}
