//! The [`PubSubBackend`] trait: where topics live and how messages reach
//! them; [`BackendContext`], what a backend may ask of the server; and
//! [`Capabilities`], what a backend can do beyond topic pub/sub.

use std::sync::Weak;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::connection::direct;
use crate::connection::socket_id::SocketId;
use crate::error::{BoxError, PubSubError};
use crate::protocol::Outbound;
use crate::pubsub::control::{self, CommandFuture, CountFuture, CountQuery, LocalControl, SocketCommand};
use crate::pubsub::history::{self, HistoryFuture, Position, Retention};
use crate::pubsub::presence::{self, PresenceEntry, PresenceFuture};
use crate::pubsub::subscriber::Subscriber;

/// The future returned by [`PubSubBackend::subscribe`].
pub type Subscribed = BoxFuture<'static, Result<(), PubSubError>>;

/// Carries pub/sub traffic: keeps each topic's subscribers and delivers
/// published messages to them.
///
/// The default, [`InProcess`](crate::pubsub::InProcess), serves one server
/// instance. A backend for many instances ([`RedisBackend`](crate::pubsub)
/// with the feature `redis`) delivers to local subscribers itself and
/// forwards what other instances need. Every built-in backend is written
/// against this trait and the public items of [`ori::pubsub`](crate::pubsub)
/// alone: a [`TopicRegistry`](crate::pubsub::TopicRegistry) for the local
/// subscribers, [`BackendContext`] for deliveries that come from elsewhere.
///
/// Topic names given to a backend are always valid (PROTOCOL.md rules); the
/// server validates them first.
///
/// A backend for one instance, as [`InProcess`](crate::pubsub::InProcess) is:
///
/// ```
/// use ori::Outbound;
/// use ori::SocketId;
/// use ori::pubsub::{PubSubBackend, Subscribed, Subscriber, TopicRegistry};
///
/// #[derive(Default)]
/// struct Local {
///     topics: TopicRegistry,
/// }
///
/// impl PubSubBackend for Local {
///     fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
///         self.topics.insert(topic, subscriber);
///         Box::pin(async { Ok(()) }) // live at once: there is no other instance
///     }
///
///     fn unsubscribe(&self, topic: &str, subscriber: SocketId) {
///         self.topics.remove(topic, subscriber);
///     }
///
///     fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>) {
///         self.topics.publish(topic, message, exclude);
///     }
///
///     fn local_subscriber_count(&self, topic: &str) -> usize {
///         self.topics.subscriber_count(topic)
///     }
/// }
///
/// let app = ori::Ori::create().pubsub(Local::default());
/// ```
pub trait PubSubBackend: Send + Sync + 'static {
    /// Subscribes `subscriber` to `topic`.
    ///
    /// Local registration happens before this returns, so messages published
    /// on this instance reach the subscriber from then on. The returned future
    /// resolves once messages published from *any* instance reach it; the
    /// subscription is acknowledged to the client only then.
    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed;

    /// Removes the subscription (a no-op if there is none).
    fn unsubscribe(&self, topic: &str, subscriber: SocketId);

    /// Delivers `message` to every subscriber of `topic` except `exclude`,
    /// on every instance, at most once each, in publish order per publisher.
    fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>);

    /// Delivers `message` to a socket that is not connected to this instance.
    ///
    /// The default (single instance) answers [`PubSubError::UnknownSocket`].
    fn send_to_remote(&self, socket: SocketId, message: &Outbound) -> Result<(), PubSubError> {
        let _ = message;
        Err(PubSubError::UnknownSocket(socket))
    }

    /// Runs `command` on `socket`, which is not connected to this instance,
    /// on the instance that holds it (only for backends with
    /// [`Capability::RemoteControl`]; the default refuses): resolves
    /// `Ok(true)` once that instance ran it ([`BackendContext::run_command`]
    /// there), `Ok(false)` when no instance holds the socket, and the
    /// error of that instance if the command failed there
    /// ([`PubSubError::Remote`]).
    fn command_remote(&self, socket: SocketId, command: &SocketCommand) -> CommandFuture {
        let _ = (socket, command);
        std::future::ready(Err(control::unsupported())).boxed()
    }

    /// `query` counted on every other instance ([`BackendContext::count`]
    /// there), summed (only for backends with [`Capability::RemoteControl`];
    /// the default refuses). An instance that does not answer in time fails
    /// the count: a partial sum would read as a true one.
    fn count_remote(&self, query: &CountQuery) -> CountFuture {
        let _ = query;
        std::future::ready(Err(control::unsupported())).boxed()
    }

    /// Publishes `message` on `topic`, which keeps history under
    /// `retention` (only for backends with [`Capability::History`]; the
    /// default refuses): gives it the topic's next offset (offsets start at
    /// 1 and rise by exactly 1 on every instance), keeps it, and delivers
    /// [`message.with_position(topic, offset)`](Outbound::with_position) to
    /// every subscriber but `exclude`, on every instance, in offset order.
    ///
    /// `message` is always a JSON object that may be positioned (the server
    /// checks it first, [`Outbound::to_positionable`]).
    fn publish_kept(
        &self,
        topic: &str,
        message: &Outbound,
        exclude: Option<SocketId>,
        retention: Retention,
    ) -> Result<(), PubSubError> {
        let _ = (topic, message, exclude, retention);
        Err(history::unsupported())
    }

    /// Reads `topic`'s history (only for backends with [`Capability::History`];
    /// the default refuses): its epoch, its last offset, and the messages
    /// kept after `since` when `since` is of this epoch. Called after the
    /// subscriber was registered ([`subscribe`](Self::subscribe) resolved),
    /// so every message not in the answer reaches it live; the server
    /// decides whether the subscriber recovered ([`Recovery::decide`](crate::pubsub::Recovery::decide)).
    fn read_history(&self, topic: &str, since: Option<&Position>, retention: Retention) -> HistoryFuture {
        let _ = (topic, since, retention);
        std::future::ready(Err(history::unsupported())).boxed()
    }

    /// Tracks `entry` on `topic`, across every instance (only for backends
    /// with [`Capability::Presence`]; the default refuses). The same key and
    /// socket again replaces the meta. Each change that changes something
    /// is one [`presence_diff`](crate::pubsub::presence_diff), with a
    /// version higher than the topic's last, delivered to every watcher of the topic on
    /// every instance, in version order; tracking what is tracked already
    /// changes nothing and sends nothing.
    fn track(&self, topic: &str, entry: PresenceEntry) -> Result<(), PubSubError> {
        let _ = (topic, entry);
        Err(presence::unsupported())
    }

    /// Untracks the entry of `key` and `socket` on `topic` (none: no
    /// change, no diff).
    fn untrack(&self, topic: &str, key: &str, socket: SocketId) {
        let _ = (topic, key, socket);
    }

    /// Delivers `topic`'s presence diffs to `watcher` from now on. Called
    /// only for a topic `watcher` is subscribed to, before
    /// [`presence`](Self::presence) reads its state.
    fn watch_presence(&self, topic: &str, watcher: &Subscriber) {
        let _ = (topic, watcher);
    }

    /// Stops delivering `topic`'s presence diffs to `watcher`.
    fn unwatch_presence(&self, topic: &str, watcher: SocketId) {
        let _ = (topic, watcher);
    }

    /// `topic`'s entries on every instance, and the version of the last
    /// change they include (only for backends with [`Capability::Presence`];
    /// the default refuses).
    fn presence(&self, topic: &str) -> PresenceFuture {
        let _ = topic;
        std::future::ready(Err(presence::unsupported())).boxed()
    }

    /// How many connections of this instance are subscribed to `topic`.
    fn local_subscriber_count(&self, topic: &str) -> usize;

    /// Whether the backend can carry traffic between instances now (what
    /// `/readyz` reports; default: always). A backend for many instances
    /// answers `false` while its broker is unreachable.
    fn is_ready(&self) -> bool {
        true
    }

    /// What the backend is, for the server's start-up line (`pub/sub:
    /// ...`), e.g. `Redis at redis://10.0.0.5:6379`; never a secret.
    /// Default: `a custom backend`.
    fn name(&self) -> String {
        "a custom backend".to_owned()
    }

    /// The backend's traffic figures so far, for metrics (`ori_backend_*`);
    /// `None` (the default) for a backend with nothing to report.
    fn stats(&self) -> Option<BackendStats> {
        None
    }

    /// What the backend can do beyond topic pub/sub and direct sends
    /// (default: nothing more).
    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
    }

    /// Starts the backend (connects, spawns its tasks) before the server
    /// binds its port; an error stops start-up. Called once.
    fn start(&self, context: BackendContext) -> BoxFuture<'static, Result<(), BoxError>> {
        let _ = context;
        std::future::ready(Ok(())).boxed()
    }

    /// Resolves once what this instance queued for the others is sent (the
    /// server waits for it, bounded, after its connections closed and
    /// before [`shutdown`](Self::shutdown)), so that a stopping instance's
    /// last changes, such as the presence leaves of its connections, reach
    /// the other instances at once. Default: nothing is queued.
    fn flush(&self) -> BoxFuture<'static, ()> {
        std::future::ready(()).boxed()
    }

    /// Stops the backend's tasks when the server has shut down.
    fn shutdown(&self) {}
}

/// A backend's traffic figures ([`PubSubBackend::stats`]), exported as the
/// `ori_backend_*` metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Whether it can carry traffic between instances now.
    pub connected: bool,
    /// Messages this instance published to the broker.
    pub published: u64,
    /// Messages from other instances delivered here.
    pub received: u64,
    /// Publishes dropped (past the outage buffer, or the pending limit).
    pub dropped: u64,
    /// Times the broker connection was re-established after a loss.
    pub reconnects: u64,
    /// Time spent disconnected from the broker, the current outage included.
    pub outage: std::time::Duration,
}

/// What a backend may ask of the server it serves, given to
/// [`PubSubBackend::start`]. Cheap to clone; holds the server weakly.
#[derive(Clone)]
pub struct BackendContext {
    /// The server: its connections, and the running of remote commands.
    server: Weak<dyn LocalControl>,
}

impl std::fmt::Debug for BackendContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendContext").field("serving", &(self.server.strong_count() > 0)).finish()
    }
}

impl BackendContext {
    pub(crate) fn new(server: Weak<dyn LocalControl>) -> BackendContext {
        BackendContext { server }
    }

    /// Runs a [`SocketCommand`] another instance sent for `socket` (see
    /// [`PubSubBackend::command_remote`]): `None` if the socket is not
    /// connected here, else what running it did. Resolves once it is done
    /// (a subscription: once it is live).
    pub fn run_command(
        &self,
        socket: SocketId,
        command: SocketCommand,
    ) -> BoxFuture<'static, Option<Result<(), PubSubError>>> {
        match self.server.upgrade() {
            Some(server) => server.run(socket, command),
            None => std::future::ready(None).boxed(),
        }
    }

    /// Counts what another instance asked (see [`PubSubBackend::count_remote`])
    /// on this instance.
    pub fn count(&self, query: &CountQuery) -> usize {
        self.server.upgrade().map_or(0, |server| server.count(query))
    }

    /// How the app keeps `topic`'s history (its `.history(..)` rules), or
    /// `None` if it keeps none: a backend that delivers the messages of
    /// history topics apart from the others (in offset order, from where it
    /// keeps them) learns here which topics those are.
    pub fn retention(&self, topic: &str) -> Option<Retention> {
        self.server.upgrade().and_then(|server| server.retention(topic))
    }

    /// Queues `message` on the connection `socket` if it is connected to this
    /// instance; returns whether it was.
    pub fn deliver_to(&self, socket: SocketId, message: &Outbound) -> bool {
        match self.server.upgrade().and_then(|server| server.connections().get(&socket)) {
            Some(core) => direct::batch(|| core.push_outbound(message)),
            None => false,
        }
    }

    /// Runs `deliver`, and writes what it queued on connections served by
    /// this thread when it returns: each connection gets one write for the
    /// whole batch instead of a wake-up per message. Every
    /// [`TopicRegistry::publish`](crate::pubsub::TopicRegistry::publish) and
    /// [`deliver_to`](Self::deliver_to) is already a batch of its own; wrap
    /// a burst of them (what one read from a broker brought) to share one.
    ///
    /// ```
    /// # fn demo(context: &ori::pubsub::BackendContext, topics: &ori::pubsub::TopicRegistry, burst: Vec<(String, ori::Outbound)>) {
    /// context.batch(|| {
    ///     for (topic, message) in &burst {
    ///         topics.publish(topic, message, None);
    ///     }
    /// });
    /// # }
    /// ```
    pub fn batch<R>(&self, deliver: impl FnOnce() -> R) -> R {
        direct::batch(deliver)
    }
}

/// One thing a backend can do beyond carrying topics and direct sends.
/// Features built on one work on every backend that has it, and say so
/// plainly where a backend lacks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Keeps each topic's recent messages, for recovery after a reconnect.
    History,
    /// Tracks who is on a topic, across instances.
    Presence,
    /// Disconnects, subscribes and unsubscribes a socket on another instance.
    RemoteControl,
}

impl Capability {
    /// Every capability, in order.
    pub const ALL: &'static [Capability] =
        &[Capability::History, Capability::Presence, Capability::RemoteControl];

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The [`Capability`]s of a backend ([`PubSubBackend::capabilities`]).
///
/// ```
/// use ori::pubsub::{Capabilities, Capability};
///
/// let caps = Capabilities::NONE.with(Capability::History);
/// assert!(caps.has(Capability::History));
/// assert!(!caps.has(Capability::Presence));
/// assert_eq!(caps.iter().collect::<Vec<_>>(), [Capability::History]);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    bits: u8,
}

impl Capabilities {
    /// Topic pub/sub and direct sends only.
    pub const NONE: Capabilities = Capabilities { bits: 0 };

    /// These capabilities and `capability`.
    #[must_use]
    pub const fn with(self, capability: Capability) -> Capabilities {
        Capabilities { bits: self.bits | capability.bit() }
    }

    /// Whether `capability` is among them.
    pub const fn has(self, capability: Capability) -> bool {
        self.bits & capability.bit() != 0
    }

    /// Each capability among them, in [`Capability::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.iter().copied().filter(move |c| self.has(*c))
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
