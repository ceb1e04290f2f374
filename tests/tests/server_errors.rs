//! Close 1011 (PROTOCOL.md): a failure that is not the client's fault and
//! after which the connection cannot go on. Here, a pub/sub backend (the
//! app's code) that panics while a connection is being opened: that
//! connection is closed with 1011, nothing of it is left behind, and the
//! server goes on serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ori::pubsub::{PubSubBackend, Subscribed, Subscriber, TopicRegistry};
use ori::{Ori, Outbound, SocketId, WebSocketConfig};
use ori_tests::LiveServer;
use serde_json::json;

/// In process, but its first subscription panics while `fail` is set.
#[derive(Default, Clone)]
struct Flaky {
    topics: Arc<TopicRegistry>,
    fail: Arc<AtomicBool>,
}

impl PubSubBackend for Flaky {
    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
        assert!(!self.fail.swap(false, Ordering::SeqCst), "the backend failed (a test's injected bug)");
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

#[tokio::test]
async fn a_connection_whose_opening_fails_on_the_server_is_closed_with_1011() {
    let backend = Flaky::default();
    let server = LiveServer::start(
        Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).pubsub(backend.clone()),
    )
    .await;
    let mut healthy = server.connect().await;
    backend.fail.store(true, Ordering::SeqCst);
    let mut unlucky = server.connect().await;
    assert_eq!(unlucky.expect_close().await, (1011, "internal error".to_owned()));
    assert_eq!(server.app.sockets().connection_count(), 1, "nothing of it is left");
    let pong = healthy.request(json!({"type": "ping", "correlationId": "p"})).await;
    assert_eq!(pong["type"], "pong");
    let mut next = server.connect().await;
    assert_eq!(next.request(json!({"type": "ping", "correlationId": "q"})).await["type"], "pong");
}
