//! PROTOCOL.md's pub/sub semantics across instances, written once for every
//! backend that carries them: the Redis tests and the test of a backend
//! written outside ori run the same scenarios on their own instances.

use std::time::{Duration, Instant};

use ori::pubsub::PubSubBackend;
use ori::{Ori, PubSubError, SocketId, SocketRoutes, WebSocketConfig};
use serde_json::{Value, json};

use crate::routes::{id, say, track, track_many, untrack, update};
use crate::{LiveServer, WsClient};

/// One instance: `room.say` (publish to a topic, not to the sender), `id`,
/// and `presence.track`/`update`/`untrack`/`many`, over `backend`.
pub fn app(backend: impl PubSubBackend) -> Ori {
    Ori::create().websocket(WebSocketConfig::default()).pubsub(backend).socket_routes(
        SocketRoutes::new()
            .route("room.say", say)
            .route("id", id)
            .route("presence.track", track)
            .route("presence.update", update)
            .route("presence.untrack", untrack)
            .route("presence.many", track_many),
    )
}

/// The history the instance processes keep (`instance_peer`): topics, messages
/// kept per topic, and for how long.
pub const HISTORY: (&str, usize, Duration) = ("hist:*", 10_000, Duration::from_secs(300));

/// What `room.say` publishes.
pub fn message(text: &str) -> Value {
    json!({"type": "room.message", "data": text})
}

/// `client` publishes `text` on `topic` through `room.say`.
pub async fn say_on(client: &mut WsClient, topic: &str, text: &str) {
    let ack = client
        .request(json!({"type": "room.say", "data": {"topic": topic, "text": text}, "correlationId": "s"}))
        .await;
    assert_eq!(ack, json!({"type": "room.say", "data": null, "correlationId": "s"}));
}

/// `client`'s socket id, asked of the server.
pub async fn socket_id(client: &mut WsClient) -> SocketId {
    let reply = client.request(json!({"type": "id", "correlationId": "id"})).await;
    reply["data"].as_str().expect("an id").parse().expect("a socket id")
}

/// A client's publish reaches every subscriber on every instance exactly
/// once, and never the sender. `servers`: at least three instances.
pub async fn a_publish_reaches_every_instance_once_and_never_the_sender(servers: &[LiveServer]) {
    let mut sender = servers[1].connect().await;
    let mut neighbour = servers[1].connect().await;
    let mut far = vec![servers[0].connect().await, servers[2].connect().await];
    for client in far.iter_mut().chain([&mut sender, &mut neighbour]) {
        client.subscribe("room:1").await;
    }

    say_on(&mut sender, "room:1", "hello").await;

    assert_eq!(neighbour.recv().await, message("hello"));
    for client in &mut far {
        assert_eq!(client.recv().await, message("hello"));
    }
    // Exactly once each: nothing else is queued before a pong.
    for client in far.iter_mut().chain([&mut sender, &mut neighbour]) {
        client.assert_silent().await;
    }
}

/// A server-level publish, a broadcast and a direct send on `here` reach a
/// connection of `there`; a direct send to a socket that is nowhere is
/// dropped quietly by every instance.
pub async fn server_level_sends_cross_instances(here: &LiveServer, there: &LiveServer) {
    let mut remote = there.connect().await;
    let mut local = here.connect().await;
    remote.subscribe("news").await;
    // The 101 comes before the guards run; a reply shows `local` is open too.
    local.request(json!({"type": "ping"})).await;

    here.app.sockets().publish("news", r#"{"type":"news.item","data":1}"#).unwrap();
    assert_eq!(remote.recv().await, json!({"type": "news.item", "data": 1}));

    here.app.sockets().broadcast(r#"{"type":"server.notice","data":"maintenance"}"#);
    for client in [&mut remote, &mut local] {
        assert_eq!(client.recv().await, json!({"type": "server.notice", "data": "maintenance"}));
    }

    let remote_id = socket_id(&mut remote).await;
    here.app.sockets().send_to(remote_id, r#"{"type":"direct","data":"for you"}"#).unwrap();
    assert_eq!(remote.recv().await, json!({"type": "direct", "data": "for you"}));

    here.app.sockets().send_to(SocketId::new(), r#"{"type":"direct","data":0}"#).unwrap();
    remote.assert_silent().await;
    local.assert_silent().await;
}

/// Any instance disconnects, subscribes and unsubscribes a socket wherever
/// it is connected, and counts a topic's subscribers over every instance.
/// `servers`: one or more instances; the socket is on the last, the
/// commands come from the first, the publishes from another.
pub async fn a_socket_is_controlled_from_any_instance(servers: &[LiveServer]) {
    let (here, there) = (&servers[0], &servers[servers.len() - 1]);
    let publisher = &servers[servers.len() / 2];
    let mut target = there.connect().await;
    let id = socket_id(&mut target).await;
    let sockets = here.app.sockets();

    sockets.subscribe_socket(id, "control:1").await.expect("subscribed where it is connected");
    assert_eq!(sockets.count_subscribers("control:1").await, Ok(1));
    // PROTOCOL.md: subscribing twice is one subscription, ended by one unsubscribe.
    sockets.subscribe_socket(id, "control:1").await.expect("subscribing again is no error");
    assert_eq!(sockets.count_subscribers("control:1").await, Ok(1));
    // Live on every instance once it resolved.
    publisher.app.sockets().publish("control:1", r#"{"type":"n","data":1}"#).unwrap();
    assert_eq!(target.recv().await, json!({"type": "n", "data": 1}));

    sockets.unsubscribe_socket(id, "control:1").await.expect("unsubscribed");
    assert_eq!(sockets.count_subscribers("control:1").await, Ok(0));
    publisher.app.sockets().publish("control:1", r#"{"type":"n","data":2}"#).unwrap();
    target.assert_silent().await;
    // PROTOCOL.md: unsubscribing a topic not joined is acknowledged all the same.
    sockets.unsubscribe_socket(id, "never-joined").await.expect("nothing to leave is no error");

    // A bad topic is refused before anything is sent.
    assert!(matches!(sockets.subscribe_socket(id, "no spaces").await, Err(PubSubError::InvalidTopic { .. })));

    sockets.disconnect(id, 4001, "kicked by an admin").await.expect("disconnected where it is connected");
    assert_eq!(target.expect_close().await, (4001, "kicked by an admin".to_owned()));
}

/// Connections and a topic's subscribers, counted from any instance, are
/// those of every instance: instance `i` holds `i + 1` subscribed
/// connections and one that is not subscribed.
pub async fn counts_cover_every_instance(servers: &[LiveServer]) {
    let mut clients = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        for _ in 0..=i {
            let mut client = server.connect().await;
            client.subscribe("census").await;
            clients.push(client);
        }
        let mut idle = server.connect().await;
        idle.request(json!({"type": "ping"})).await;
        clients.push(idle);
    }
    let subscribed = servers.len() * (servers.len() + 1) / 2;
    for server in servers {
        let sockets = server.app.sockets();
        assert_eq!(sockets.count_connections().await, Ok(subscribed + servers.len()));
        assert_eq!(sockets.count_subscribers("census").await, Ok(subscribed));
        assert_eq!(sockets.count_subscribers("nobody-here").await, Ok(0));
    }
}

/// A command for a socket connected nowhere is answered "unknown socket"
/// by every instance at once, not at a timeout.
pub async fn a_socket_connected_nowhere_is_not_found_at_once(servers: &[LiveServer]) {
    let nowhere = SocketId::new();
    let sockets = servers[0].app.sockets();
    let started = Instant::now();
    assert_eq!(sockets.disconnect(nowhere, 4001, "kicked").await, Err(PubSubError::UnknownSocket(nowhere)));
    assert_eq!(sockets.subscribe_socket(nowhere, "room").await, Err(PubSubError::UnknownSocket(nowhere)));
    assert_eq!(sockets.unsubscribe_socket(nowhere, "room").await, Err(PubSubError::UnknownSocket(nowhere)));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "three commands took {:?}: they waited for a timeout",
        started.elapsed()
    );
}
