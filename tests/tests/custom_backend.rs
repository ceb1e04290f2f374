//! A pub/sub backend written outside ori, against its public backend
//! interface alone (`PubSubBackend`, `TopicRegistry`, `BackendContext`,
//! `Subscriber`): several instances in one process share an in-memory broker
//! the way `RedisBackend` instances share a Redis, and behave as one server
//! over real sockets. If the interface lacked something the built-in
//! backends use, this file would not compile.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ori::pubsub::{
    BackendContext, Capabilities, Capability, PubSubBackend, Subscribed, Subscriber, TopicRegistry,
};
use ori::{BoxError, Outbound, PubSubError, SocketId};
use ori_tests::LiveServer;
use ori_tests::cross_instance;
use serde_json::json;
use tokio::sync::mpsc;

/// What one instance sends another through the broker.
#[derive(Debug)]
enum Packet {
    Publish { topic: String, message: Outbound, exclude: Option<SocketId> },
    Direct { socket: SocketId, message: Outbound },
}

/// A broker in memory: what Redis is to `RedisBackend`, for instances in
/// one process. An instance receives a topic's publishes while it says it
/// has subscribers of the topic.
#[derive(Default)]
struct Broker {
    members: Mutex<Vec<Member>>,
}

struct Member {
    instance: usize,
    interests: HashSet<String>,
    inbox: mpsc::UnboundedSender<Packet>,
}

impl Broker {
    /// A new instance on the broker, and its inbox.
    fn join(self: &Arc<Self>) -> BusBackend {
        let (inbox, received) = mpsc::unbounded_channel();
        let mut members = self.members.lock().unwrap();
        let instance = members.len();
        members.push(Member { instance, interests: HashSet::new(), inbox });
        BusBackend(Arc::new(Instance {
            broker: self.clone(),
            instance,
            topics: TopicRegistry::new(),
            received: Mutex::new(Some(received)),
            task: Mutex::new(None),
        }))
    }

    fn set_interest(&self, instance: usize, topic: &str, interested: bool) {
        let mut members = self.members.lock().unwrap();
        let interests = &mut members[instance].interests;
        if interested {
            interests.insert(topic.to_owned());
        } else {
            interests.remove(topic);
        }
    }

    fn interested(&self, instance: usize, topic: &str) -> bool {
        self.members.lock().unwrap()[instance].interests.contains(topic)
    }

    /// Sends what `make` makes to every other instance that `wants` it.
    fn forward(&self, from: usize, wants: impl Fn(&Member) -> bool, make: impl Fn() -> Packet) {
        for member in self.members.lock().unwrap().iter() {
            if member.instance != from && wants(member) {
                let _ = member.inbox.send(make());
            }
        }
    }
}

/// One instance's backend.
#[derive(Clone)]
struct BusBackend(Arc<Instance>);

struct Instance {
    broker: Arc<Broker>,
    instance: usize,
    topics: TopicRegistry,
    received: Mutex<Option<mpsc::UnboundedReceiver<Packet>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PubSubBackend for BusBackend {
    fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> Subscribed {
        let this = &self.0;
        this.topics.insert_with(topic, subscriber, |inserted| {
            if inserted.first {
                this.broker.set_interest(this.instance, topic, true);
            }
        });
        // The broker registers interest at once: live everywhere already.
        std::future::ready(Ok(())).boxed()
    }

    fn unsubscribe(&self, topic: &str, subscriber: SocketId) {
        let this = &self.0;
        this.topics.remove_with(topic, subscriber, |removed| {
            if removed.last {
                this.broker.set_interest(this.instance, topic, false);
            }
        });
    }

    fn publish(&self, topic: &str, message: &Outbound, exclude: Option<SocketId>) {
        let this = &self.0;
        this.topics.publish(topic, message, exclude);
        this.broker.forward(
            this.instance,
            |member| member.interests.contains(topic),
            || Packet::Publish { topic: topic.to_owned(), message: message.clone(), exclude },
        );
    }

    fn send_to_remote(&self, socket: SocketId, message: &Outbound) -> Result<(), PubSubError> {
        let this = &self.0;
        this.broker.forward(this.instance, |_| true, || Packet::Direct { socket, message: message.clone() });
        Ok(())
    }

    fn local_subscriber_count(&self, topic: &str) -> usize {
        self.0.topics.subscriber_count(topic)
    }

    fn start(&self, context: BackendContext) -> BoxFuture<'static, Result<(), BoxError>> {
        let this = self.0.clone();
        async move {
            let mut received = this.received.lock().unwrap().take().ok_or("started twice")?;
            let delivering = this.clone();
            let task = tokio::spawn(async move {
                while let Some(first) = received.recv().await {
                    // What arrived together is delivered in one batch.
                    let mut burst = vec![first];
                    while let Ok(next) = received.try_recv() {
                        burst.push(next);
                    }
                    context.batch(|| {
                        for packet in burst {
                            match packet {
                                Packet::Publish { topic, message, exclude } => {
                                    delivering.topics.publish(&topic, &message, exclude);
                                }
                                Packet::Direct { socket, message } => {
                                    context.deliver_to(socket, &message);
                                }
                            }
                        }
                    });
                }
            });
            *this.task.lock().unwrap() = Some(task);
            Ok(())
        }
        .boxed()
    }

    fn shutdown(&self) {
        if let Some(task) = self.0.task.lock().unwrap().take() {
            task.abort();
        }
    }
}

async fn instances(count: usize) -> (Arc<Broker>, Vec<LiveServer>) {
    let broker = Arc::new(Broker::default());
    let mut servers = Vec::new();
    for _ in 0..count {
        servers.push(LiveServer::start(cross_instance::app(broker.join())).await);
    }
    (broker, servers)
}

#[tokio::test]
async fn a_publish_reaches_every_instance_once_and_never_the_sender() {
    let (_broker, servers) = instances(3).await;
    cross_instance::a_publish_reaches_every_instance_once_and_never_the_sender(&servers).await;
}

#[tokio::test]
async fn server_publish_broadcast_and_direct_sends_cross_instances() {
    let (_broker, servers) = instances(2).await;
    cross_instance::server_level_sends_cross_instances(&servers[0], &servers[1]).await;
}

#[tokio::test]
async fn an_instance_is_interested_in_a_topic_exactly_while_it_has_local_subscribers() {
    let (broker, servers) = instances(2).await;
    let (mut a, mut b) = (servers[0].connect().await, servers[0].connect().await);
    assert!(!broker.interested(0, "room:1"));
    a.subscribe("room:1").await;
    b.subscribe("room:1").await;
    assert!(broker.interested(0, "room:1"), "the first subscriber registers the topic");
    assert_eq!(servers[0].app.sockets().subscriber_count("room:1"), 2);

    let ack = a.request(json!({"type": "unsubscribe", "data": {"topic": "room:1"}})).await;
    assert_eq!(ack["type"], "unsubscribe");
    assert!(broker.interested(0, "room:1"), "b still subscribes");
    let ack = b.request(json!({"type": "unsubscribe", "data": {"topic": "room:1"}})).await;
    assert_eq!(ack["type"], "unsubscribe");
    assert!(!broker.interested(0, "room:1"), "the last one leaving releases it");

    // Nothing published on another instance reaches a connection that left.
    servers[1].app.sockets().publish("room:1", r#"{"type":"late","data":0}"#).unwrap();
    a.assert_silent().await;
    b.assert_silent().await;
}

#[test]
fn a_backend_says_what_it_can_do_beyond_topics() {
    let backend = Arc::new(Broker::default()).join();
    assert_eq!(backend.capabilities(), Capabilities::NONE, "the default: topics and direct sends only");
    let all = Capability::ALL.iter().copied().fold(Capabilities::NONE, Capabilities::with);
    assert!(Capability::ALL.iter().all(|c| all.has(*c)));
    assert_eq!(format!("{:?}", Capabilities::NONE.with(Capability::Presence)), "{Presence}");
}

#[tokio::test]
async fn without_remote_control_a_remote_command_or_count_says_so() {
    let (_broker, servers) = instances(2).await;
    let mut there = servers[1].connect().await;
    let id = cross_instance::socket_id(&mut there).await;
    let sockets = servers[0].app.sockets();
    let unsupported = PubSubError::Unsupported("remote control (`Capability::RemoteControl`)");
    assert_eq!(sockets.disconnect(id, 4001, "kicked").await, Err(unsupported.clone()));
    assert_eq!(sockets.count_connections().await, Err(unsupported));
    // A socket of this instance needs no backend.
    assert_eq!(servers[1].app.sockets().disconnect(id, 4001, "kicked").await, Ok(()));
    assert_eq!(there.expect_close().await, (4001, "kicked".to_owned()));
}
