//! [`PlainBackend`]: a pub/sub backend for one instance with nothing beyond
//! topics (no history, no presence), written as a third party would, whose
//! next subscription can be made to panic (an injected bug).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ori::pubsub::{PubSubBackend, Subscribed, Subscriber, TopicRegistry};
use ori::{Outbound, SocketId};

/// Topics in process, and only that; clones share everything.
#[derive(Debug, Default, Clone)]
pub struct PlainBackend {
    topics: Arc<TopicRegistry>,
    fail_next_subscribe: Arc<AtomicBool>,
}

impl PlainBackend {
    /// Makes the next `subscribe` panic.
    pub fn fail_next_subscribe(&self) {
        self.fail_next_subscribe.store(true, Ordering::SeqCst);
    }
}

impl PubSubBackend for PlainBackend {
    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
        assert!(
            !self.fail_next_subscribe.swap(false, Ordering::SeqCst),
            "the backend failed (an injected bug)"
        );
        self.topics.insert(topic, subscriber);
        Box::pin(async { Ok(()) })
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
