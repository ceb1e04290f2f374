//! PROTOCOL.md's pub/sub semantics across instances, written once for every
//! backend that carries them: the Redis tests and the test of a backend
//! written outside ori run the same scenarios on their own instances.

use ori::pubsub::PubSubBackend;
use ori::{Ori, SocketId, SocketRoutes, WebSocketConfig};
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
