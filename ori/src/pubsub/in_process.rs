//! [`InProcess`]: the default pub/sub provider, for a single server instance.

use futures_util::FutureExt;

use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::backend::{Capabilities, Capability, PubSubBackend, Subscribed};
use crate::pubsub::history::{HistoryFuture, Position, Retention};
use crate::pubsub::memory_history::MemoryHistory;
use crate::pubsub::subscriber::Subscriber;
use crate::pubsub::topics::TopicRegistry;

/// Pub/sub within one process: topics map to local subscribers, and a publish
/// queues one shared frame on each of them. History topics keep their last
/// messages in a bounded ring each ([`Capability::History`]). Needs nothing
/// installed.
///
/// ```
/// use ori::pubsub::InProcess;
/// let app = ori::Ori::create().pubsub(InProcess::new());
/// ```
#[derive(Debug, Default)]
pub struct InProcess {
    topics: TopicRegistry,
    history: MemoryHistory,
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

impl PubSubBackend for InProcess {
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

    fn local_subscriber_count(&self, topic: &str) -> usize {
        self.topics.subscriber_count(topic)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE.with(Capability::History)
    }
}
