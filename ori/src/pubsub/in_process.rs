//! [`InProcess`]: the default pub/sub provider, for a single server instance.

use futures_util::FutureExt;

use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::backend::{Capabilities, Capability, PubSubBackend, Subscribed};
use crate::pubsub::control::{CommandFuture, CountFuture, CountQuery, SocketCommand};
use crate::pubsub::history::{HistoryFuture, Position, Retention};
use crate::pubsub::memory_history::MemoryHistory;
use crate::pubsub::memory_presence::MemoryPresence;
use crate::pubsub::presence::{PresenceEntry, PresenceFuture};
use crate::pubsub::subscriber::Subscriber;
use crate::pubsub::topics::TopicRegistry;

/// Pub/sub within one process: topics map to local subscribers, and a publish
/// queues one shared frame on each of them. History topics keep their last
/// messages in a bounded ring each ([`Capability::History`]), and presence
/// is kept in memory ([`Capability::Presence`]). Remote control
/// ([`Capability::RemoteControl`]) is exact: a socket not connected here is
/// connected nowhere. Needs nothing installed.
///
/// ```
/// use ori::pubsub::InProcess;
/// let app = ori::Ori::create().pubsub(InProcess::new());
/// ```
#[derive(Default)]
pub struct InProcess {
    topics: TopicRegistry,
    history: MemoryHistory,
    presence: MemoryPresence,
    /// The connections that get each topic's presence diffs.
    watchers: TopicRegistry,
}

impl InProcess {
    /// An empty registry.
    pub fn new() -> InProcess {
        InProcess::default()
    }

    /// Number of topics with at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.topics.topic_count()
    }
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").field("topics", &self.topics.topic_count()).finish_non_exhaustive()
    }
}

impl PubSubBackend for InProcess {
    fn name(&self) -> String {
        "in process (this instance only)".to_owned()
    }

    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
        self.topics.insert(topic, subscriber);
        std::future::ready(Ok(())).boxed()
    }

    fn unsubscribe(&self, topic: &str, subscriber: SocketId) {
        self.topics.remove(topic, subscriber);
    }

    fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>) {
        self.topics.publish(topic, message, exclude);
    }

    /// There is no other instance: a socket not connected here is connected nowhere.
    fn command_remote(&self, _socket: SocketId, _command: &SocketCommand) -> CommandFuture {
        std::future::ready(Ok(false)).boxed()
    }

    /// There is no other instance to count on.
    fn count_remote(&self, _query: &CountQuery) -> CountFuture {
        std::future::ready(Ok(0)).boxed()
    }

    fn publish_kept(
        &self,
        topic: &str,
        message: &Outbound,
        exclude: Option<SocketId>,
        retention: Retention,
    ) -> Result<(), PubSubError> {
        self.history.sweep_if_due(|topic| self.topics.subscriber_count(topic) > 0);
        self.history.append(topic, message, retention, |positioned| {
            self.topics.publish(topic, positioned, exclude);
        });
        Ok(())
    }

    fn read_history(&self, topic: &str, since: Option<&Position>, retention: Retention) -> HistoryFuture {
        std::future::ready(Ok(self.history.read(topic, since, retention))).boxed()
    }

    fn track(&self, topic: &str, entry: PresenceEntry) -> Result<(), PubSubError> {
        self.presence.track(topic, entry, |diff| {
            self.watchers.publish(topic, diff, None);
        });
        Ok(())
    }

    fn untrack(&self, topic: &str, key: &str, socket: SocketId) {
        self.presence.untrack(topic, key, socket, |diff| {
            self.watchers.publish(topic, diff, None);
        });
    }

    fn watch_presence(&self, topic: &str, watcher: &Subscriber) {
        self.watchers.insert(topic, watcher);
    }

    fn unwatch_presence(&self, topic: &str, watcher: SocketId) {
        self.watchers.remove(topic, watcher);
    }

    fn presence(&self, topic: &str) -> PresenceFuture {
        std::future::ready(Ok(self.presence.read(topic))).boxed()
    }

    fn local_subscriber_count(&self, topic: &str) -> usize {
        self.topics.subscriber_count(topic)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
            .with(Capability::History)
            .with(Capability::Presence)
            .with(Capability::RemoteControl)
    }
}
