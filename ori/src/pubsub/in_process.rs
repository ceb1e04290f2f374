//! [`InProcess`]: the default pub/sub provider, for a single server instance.

use futures_util::FutureExt;

use super::topics::TopicRegistry;
use super::{PubSubBackend, Subscribed, Subscriber};
use crate::connection::socket_id::SocketId;
use crate::protocol::Outbound;

/// Pub/sub within one process: topics map to local subscribers, and a publish
/// queues one shared frame on each of them. Needs nothing installed.
///
/// ```
/// use ori::pubsub::InProcess;
/// let app = ori::Ori::create().pubsub(InProcess::new());
/// ```
#[derive(Debug, Default)]
pub struct InProcess {
    topics: TopicRegistry,
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

    fn local_subscriber_count(&self, topic: &str) -> usize {
        self.topics.subscriber_count(topic)
    }
}
