//! PROTOCOL.md "Pub/sub semantics" with the in-process provider: publish
//! excluding the sender, server-level publish, broadcast, direct sends, typed
//! emits, ordering, cleanup, and slow consumers.

use std::time::Duration;

use ori::{
    Ori, PubSubError, SocketContext, SocketError, SocketId, SocketMessage, SocketRoutes, WebSocketConfig,
};
use ori_tests::routes::{id, say};
use ori_tests::{LiveServer, RawClient, WsClient};
use serde::Serialize;
use serde_json::json;

#[derive(Serialize)]
struct StatusChanged {
    id: u32,
    status: &'static str,
}

impl SocketMessage for StatusChanged {
    const TYPE: &'static str = "monitor.statusChanged";
}

async fn join(ctx: SocketContext, topic: String) -> Result<Vec<String>, SocketError> {
    ctx.subscribe(&topic).await?;
    Ok(ctx.topics())
}

fn app(config: WebSocketConfig) -> Ori {
    Ori::create()
        .websocket(config)
        .socket_routes(SocketRoutes::new().route("room.say", say).route("room.join", join).route("id", id))
}

#[tokio::test]
async fn connection_publish_reaches_other_subscribers_but_not_the_sender() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let (mut a, mut b, mut outsider) =
        (server.connect().await, server.connect().await, server.connect().await);
    a.subscribe("room:1").await;
    b.subscribe("room:1").await;
    let ack = b
        .request(json!({"type": "room.say", "data": {"topic": "room:1", "text": "hi"}, "correlationId": "1"}))
        .await;
    assert_eq!(ack, json!({"type": "room.say", "data": null, "correlationId": "1"}));
    assert_eq!(a.recv().await, json!({"type": "room.message", "data": "hi"}));
    b.assert_silent().await;
    outsider.assert_silent().await;
    // An invalid topic is the caller's bad_request.
    let reply = b.request(json!({"type": "room.say", "data": {"topic": "bad topic", "text": "x"}})).await;
    assert_eq!(reply["error"]["code"], "bad_request");
}

#[tokio::test]
async fn server_publish_reaches_every_subscriber() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let (mut a, mut b, mut outsider) =
        (server.connect().await, server.connect().await, server.connect().await);
    a.subscribe("news").await;
    b.subscribe("news").await;
    server.app.sockets().publish("news", r#"{"type":"news.item","data":{"id":1}}"#).unwrap();
    assert_eq!(a.recv().await, json!({"type": "news.item", "data": {"id": 1}}));
    assert_eq!(b.recv().await, json!({"type": "news.item", "data": {"id": 1}}));
    outsider.assert_silent().await;
    let invalid = server.app.sockets().publish("no spaces allowed", "{}");
    assert!(matches!(invalid, Err(PubSubError::InvalidTopic { .. })), "{invalid:?}");
}

#[tokio::test]
async fn typed_emit_sends_type_and_data_without_correlation_id() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut c = server.connect().await;
    c.subscribe("monitor:7").await;
    server.app.sockets().emit("monitor:7", &StatusChanged { id: 7, status: "down" }).unwrap();
    assert_eq!(c.recv().await, json!({"type": "monitor.statusChanged", "data": {"id": 7, "status": "down"}}));
}

#[tokio::test]
async fn broadcast_reaches_every_connection() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(server.connect().await);
    }
    // Every connection is subscribed to `__broadcast__` once open. The 101
    // comes before the guards run, so a client knows its connection is open
    // when a reply arrives: wait for one on each (pinging only the first
    // raced the others' open under load).
    for c in &mut clients {
        c.request(json!({"type": "ping"})).await;
    }
    server.app.sockets().broadcast(r#"{"type":"server.notice","data":"maintenance"}"#);
    for c in &mut clients {
        assert_eq!(c.recv().await, json!({"type": "server.notice", "data": "maintenance"}));
    }
    assert_eq!(server.app.sockets().subscriber_count(ori::protocol::BROADCAST_TOPIC), 3);
}

#[tokio::test]
async fn send_to_reaches_exactly_one_socket() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let (mut a, mut b) = (server.connect().await, server.connect().await);
    let id: SocketId = a.request(json!({"type": "id"})).await["data"].as_str().unwrap().parse().unwrap();
    server.app.sockets().send_to(id, r#"{"type":"direct","data":1}"#).unwrap();
    server.app.sockets().emit_to(id, &StatusChanged { id: 1, status: "up" }).unwrap();
    assert_eq!(a.recv().await, json!({"type": "direct", "data": 1}));
    assert_eq!(a.recv().await["type"], "monitor.statusChanged");
    b.assert_silent().await;
    let unknown = SocketId::new();
    assert_eq!(server.app.sockets().send_to(unknown, "{}"), Err(PubSubError::UnknownSocket(unknown)));
}

#[tokio::test]
async fn messages_from_one_publisher_arrive_in_order() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut c = server.connect().await;
    c.subscribe("seq").await;
    let sockets = server.app.sockets().clone();
    tokio::spawn(async move {
        for i in 0..2000 {
            sockets.publish("seq", format!(r#"{{"type":"seq","data":{i}}}"#)).unwrap();
            if i % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    for i in 0..2000 {
        assert_eq!(c.recv().await["data"], i);
    }
}

#[tokio::test]
async fn server_code_may_subscribe_a_connection() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut c = server.connect().await;
    let topics = c.request(json!({"type": "room.join", "data": "room:9"})).await;
    assert_eq!(topics["data"], json!(["room:9"]));
    server.app.sockets().publish("room:9", r#"{"type":"x","data":null}"#).unwrap();
    assert_eq!(c.recv().await["type"], "x");
}

#[tokio::test]
async fn closing_removes_every_subscription() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut c = server.connect().await;
    for topic in ["a", "b", "c"] {
        c.subscribe(topic).await;
    }
    let sockets = server.app.sockets().clone();
    assert_eq!(sockets.subscriber_count("b"), 1);
    c.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sockets.connection_count() > 0
        || ["a", "b", "c", ori::protocol::BROADCAST_TOPIC].iter().any(|t| sockets.subscriber_count(t) > 0)
    {
        assert!(tokio::time::Instant::now() < deadline, "subscriptions left behind");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_cut_at_the_bound_while_others_keep_going() {
    // The slow client must still be there to read its close frame when the test gets to it.
    let config =
        WebSocketConfig::default().outbound_queue_bytes(256 * 1024).close_timeout(Duration::from_secs(30));
    let server = LiveServer::start(app(config)).await;
    // A client with a tiny receive buffer that stops reading after subscribing.
    let mut slow = RawClient::connect_with_recv_buffer(server.addr, "/ws", 4096).await;
    slow.send_frame(true, 1, br#"{"type":"subscribe","data":{"topic":"firehose"}}"#).await;
    assert_eq!(slow.recv().await["type"], "subscribe");
    let mut fast = server.connect().await;
    fast.subscribe("firehose").await;

    // 8 MB in all, more than the socket buffers can absorb, in bursts well
    // under the bound so that a subscriber that keeps reading keeps up.
    let payload = "x".repeat(8000);
    let sockets = server.app.sockets().clone();
    let total = 1000;
    let publisher = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        for i in 0..total {
            sockets
                .publish("firehose", format!(r#"{{"type":"f","data":{{"i":{i},"p":"{payload}"}}}}"#))
                .unwrap();
            if i % 8 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        started.elapsed()
    });
    for i in 0..total {
        assert_eq!(fast.recv().await["data"]["i"], i, "the fast subscriber gets everything, in order");
    }
    let publish_time = publisher.await.unwrap();
    assert!(publish_time < Duration::from_secs(10), "the publisher was never blocked");
    // The slow one finds, after what it had buffered, a close frame with 1013.
    assert_eq!(slow.expect_close().await, 1013);
    assert_eq!(server.app.sockets().subscriber_count("firehose"), 1);
}

/// A handler's publishes are written straight to the subscribers' sockets
/// once the publisher's poll ends. When a subscriber's socket fills up (one
/// write only partly taken, then none), the rest goes through its own task:
/// nothing lost, nothing reordered, for it or for the others.
#[tokio::test]
async fn handler_publishes_reach_a_paused_subscriber_whole_and_in_order() {
    let config = WebSocketConfig::default().outbound_queue_bytes(16 * 1024 * 1024);
    // One worker: every connection on the publisher's thread.
    let server = LiveServer::start(app(config).workers(1)).await;
    let mut paused = RawClient::connect_with_recv_buffer(server.addr, "/ws", 4096).await;
    paused.send_frame(true, 1, br#"{"type":"subscribe","data":{"topic":"burst"}}"#).await;
    assert_eq!(paused.recv().await["type"], "subscribe");

    // About 6 MB, more than the socket buffers on both sides take (4 MiB at
    // most), one publish per request so that each is written on its own.
    let total = 2000;
    relay_numbered(&server, "burst", total, &"y".repeat(3000)).await;
    for i in 0..total {
        let text = paused.recv().await["data"].as_str().expect("text").to_owned();
        assert!(text.starts_with(&format!("{i}:")), "paused subscriber: expected message {i}");
    }
}

/// On the caller's runtime (`workers(0)`) when it is multi-threaded, a
/// connection's driver may be polled on any thread, so nothing writes to
/// its socket directly: the driver writes replies and publishes alike, and
/// the writing half it does not lend keeps the socket open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_multi_threaded_runtime_the_drivers_write_everything() {
    let server = LiveServer::start(app(WebSocketConfig::default()).workers(0)).await;
    relay_numbered(&server, "shared-runtime", 200, &"z".repeat(100)).await;
}

/// Connects a reader of `topic` and a publisher, then publishes
/// `{i}:{filler}` for i in 0..total while the reader reads them all, whole
/// and in order.
async fn relay_numbered(server: &LiveServer, topic: &str, total: usize, filler: &str) {
    let mut reader = server.connect().await;
    reader.subscribe(topic).await;
    let mut publisher = server.connect().await;
    let send = publish_numbered(&mut publisher, topic, total, filler);
    let read = expect_numbered(&mut reader, total, "reader");
    tokio::join!(send, read);
}

/// Publishes `{i}:{filler}` on `topic` for i in 0..total, one request each
/// (each acknowledged before the next).
async fn publish_numbered(publisher: &mut WsClient, topic: &str, total: usize, filler: &str) {
    for i in 0..total {
        let data = json!({"topic": topic, "text": format!("{i}:{filler}")});
        let ack = publisher.request(json!({"type": "room.say", "data": data, "correlationId": "p"})).await;
        assert_eq!(ack["correlationId"], "p");
    }
}

/// Reads what [`publish_numbered`] sent, whole and in order.
async fn expect_numbered(subscriber: &mut WsClient, total: usize, who: &str) {
    for i in 0..total {
        let text = subscriber.recv().await["data"].as_str().expect("text").to_owned();
        assert!(text.starts_with(&format!("{i}:")), "{who}: expected message {i}");
    }
}

/// A server with `workers` workers, `count` subscribers of "spread" (the
/// kernel spreads them over the workers), and a publisher.
async fn spread_over_workers(workers: usize, count: usize) -> (LiveServer, Vec<WsClient>, WsClient) {
    let server = LiveServer::start(app(WebSocketConfig::default()).workers(workers)).await;
    let mut subscribers = Vec::new();
    for _ in 0..count {
        let mut c = server.connect().await;
        c.subscribe("spread").await;
        subscribers.push(c);
    }
    let publisher = server.connect().await;
    (server, subscribers, publisher)
}

/// With two workers, subscribers live on the publisher's thread (written
/// directly) and on the other one (handed to it once per publish): all get
/// every message, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_publishes_reach_subscribers_on_every_worker_in_order() {
    let (_server, mut subscribers, mut publisher) = spread_over_workers(2, 8).await;
    let total = 300;
    for i in 0..total {
        publisher.send(json!({"type": "room.say", "data": {"topic": "spread", "text": i.to_string()}})).await;
    }
    for c in &mut subscribers {
        for i in 0..total {
            assert_eq!(c.recv().await["data"], i.to_string());
        }
    }
}

/// Four workers, publishes from a handler (on one worker) and from outside
/// every worker (the test's runtime) interleaved: each subscriber, wherever
/// it lives, gets both streams whole and each in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_from_a_worker_and_from_outside_reach_every_worker_in_order() {
    let (server, mut subscribers, mut publisher) = spread_over_workers(4, 12).await;
    let total = 200;
    for i in 0..total {
        let data = json!({"topic": "spread", "text": format!("h{i}")});
        publisher.send(json!({"type": "room.say", "data": data})).await;
        let outside = format!(r#"{{"type":"room.message","data":"s{i}"}}"#);
        server.app.sockets().publish("spread", outside).expect("published");
    }
    for c in &mut subscribers {
        let (mut from_handler, mut from_outside) = (0, 0);
        while from_handler < total || from_outside < total {
            let text = c.recv().await["data"].as_str().expect("text").to_owned();
            let (stream, i) = text.split_at(1);
            let next = if stream == "h" { &mut from_handler } else { &mut from_outside };
            assert_eq!(i.parse::<i32>().expect("a number"), *next, "{stream} out of order");
            *next += 1;
        }
    }
}

/// The bound holds for frames handed to other workers too: with four
/// workers, slow subscribers (wherever they live) are closed with 1013 while
/// a handler publishes to them, and the fast ones get everything, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumers_on_other_workers_are_cut_at_the_bound() {
    let config =
        WebSocketConfig::default().outbound_queue_bytes(256 * 1024).close_timeout(Duration::from_secs(30));
    let server = LiveServer::start(app(config).workers(4)).await;
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut c = RawClient::connect_with_recv_buffer(server.addr, "/ws", 4096).await;
        c.send_frame(true, 1, br#"{"type":"subscribe","data":{"topic":"firehose"}}"#).await;
        assert_eq!(c.recv().await["type"], "subscribe");
        slow.push(c);
    }
    let mut fast = Vec::new();
    for _ in 0..4 {
        let mut c = server.connect().await;
        c.subscribe("firehose").await;
        fast.push(c);
    }
    let mut publisher = server.connect().await;
    let filler = "z".repeat(8000);
    let total = 600;
    let send = publish_numbered(&mut publisher, "firehose", total, &filler);
    let read =
        futures_util::future::join_all(fast.iter_mut().map(|c| expect_numbered(c, total, "fast subscriber")));
    tokio::join!(send, read);
    for c in &mut slow {
        assert_eq!(c.expect_close().await, 1013);
    }
    assert_eq!(server.app.sockets().subscriber_count("firehose"), 4);
}

/// The outbound bound holds for frames written directly too: a subscriber
/// that stops reading while a handler publishes to it is closed with 1013,
/// and the others get everything, in order.
#[tokio::test]
async fn a_slow_consumer_of_handler_publishes_is_cut_at_the_bound() {
    let config =
        WebSocketConfig::default().outbound_queue_bytes(256 * 1024).close_timeout(Duration::from_secs(30));
    // One worker: every connection on the publisher's thread, so writes are direct.
    let server = LiveServer::start(app(config).workers(1)).await;
    let mut slow = RawClient::connect_with_recv_buffer(server.addr, "/ws", 4096).await;
    slow.send_frame(true, 1, br#"{"type":"subscribe","data":{"topic":"firehose"}}"#).await;
    assert_eq!(slow.recv().await["type"], "subscribe");
    let mut fast = server.connect().await;
    fast.subscribe("firehose").await;
    let mut publisher = server.connect().await;

    // 8 MB in all: more than the socket buffers and the bound take.
    let filler = "z".repeat(8000);
    let total = 1000;
    let send = publish_numbered(&mut publisher, "firehose", total, &filler);
    let read = expect_numbered(&mut fast, total, "fast subscriber");
    tokio::join!(send, read);
    assert_eq!(slow.expect_close().await, 1013);
    assert_eq!(server.app.sockets().subscriber_count("firehose"), 1);
}

/// Remote control with one instance: the scenarios the Redis tests run on
/// three, on the in-process backend.
async fn one_instance() -> Vec<LiveServer> {
    vec![LiveServer::start(ori_tests::cross_instance::app(ori::pubsub::InProcess::new())).await]
}

#[tokio::test]
async fn a_socket_is_controlled_through_sockets() {
    ori_tests::cross_instance::a_socket_is_controlled_from_any_instance(&one_instance().await).await;
}

#[tokio::test]
async fn counts_through_sockets_cover_the_instance() {
    ori_tests::cross_instance::counts_cover_every_instance(&one_instance().await).await;
}

#[tokio::test]
async fn a_socket_connected_nowhere_is_not_found() {
    ori_tests::cross_instance::a_socket_connected_nowhere_is_not_found_at_once(&one_instance().await).await;
}
