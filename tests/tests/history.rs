//! PROTOCOL.md "History and recovery" on one instance (the in-process
//! backend), over real sockets: positions on delivered messages, the
//! subscribe options, recovery and its exact bound, `recovered: false` in
//! each case, the order at the seam, and what may be published on a history
//! topic.

use std::time::Duration;

use ori::{Error, Ori, Outbound, PubSubError, WebSocketConfig};
use ori_tests::plain_backend::PlainBackend;
use ori_tests::{LiveServer, WsClient};
use serde_json::{Value, json};

const KEPT: usize = 1_000;

fn app() -> Ori {
    Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).history(
        "hist:*",
        KEPT,
        Duration::from_secs(300),
    )
}

fn message(n: u64) -> String {
    format!(r#"{{"type":"m","data":{n}}}"#)
}

/// Subscribes with `data` (topic and options); returns the acknowledgement's data.
async fn subscribe(c: &mut WsClient, data: Value) -> Value {
    let ack = c.request(json!({"type": "subscribe", "data": data, "correlationId": "s"})).await;
    assert_eq!(ack["type"], "subscribe", "{ack}");
    assert_eq!(ack["correlationId"], "s", "{ack}");
    ack["data"].clone()
}

/// The offsets of the next `n` messages, each checked to be message `m` of `topic`.
async fn offsets(c: &mut WsClient, topic: &str, n: usize) -> Vec<u64> {
    let mut offsets = Vec::new();
    for _ in 0..n {
        let m = c.recv().await;
        assert_eq!(m["type"], "m", "{m}");
        assert_eq!(m["topic"], topic, "{m}");
        offsets.push(m["offset"].as_u64().unwrap_or_else(|| panic!("no offset: {m}")));
    }
    offsets
}

fn publish(server: &LiveServer, topic: &str, range: std::ops::RangeInclusive<u64>) {
    for n in range {
        server.app.sockets().publish(topic, message(n)).unwrap();
    }
}

#[tokio::test]
async fn messages_of_a_history_topic_carry_their_topic_and_offset() {
    let server = LiveServer::start(app()).await;
    let mut c = server.connect().await;
    let ack = subscribe(&mut c, json!({"topic": "hist:1"})).await;
    let epoch = ack["epoch"].as_str().expect("an epoch").to_owned();
    assert_eq!(
        ack,
        json!({"topic": "hist:1", "epoch": epoch, "offset": 0}),
        "no `recovered` without `since`"
    );
    publish(&server, "hist:1", 1..=2);
    assert_eq!(c.recv().await, json!({"type": "m", "data": 1, "topic": "hist:1", "offset": 1}));
    assert_eq!(c.recv().await, json!({"type": "m", "data": 2, "topic": "hist:1", "offset": 2}));

    // A plain topic is v1: no position, no epoch.
    let ack = subscribe(&mut c, json!({"topic": "plain"})).await;
    assert_eq!(ack, json!({"topic": "plain"}));
    server.app.sockets().publish("plain", message(3)).unwrap();
    assert_eq!(c.recv().await, json!({"type": "m", "data": 3}));
}

#[tokio::test]
async fn a_client_that_comes_back_gets_what_it_missed_then_the_live_stream() {
    let server = LiveServer::start(app()).await;
    let mut first = server.connect().await;
    let epoch = subscribe(&mut first, json!({"topic": "hist:room"})).await["epoch"].clone();
    publish(&server, "hist:room", 1..=3);
    assert_eq!(offsets(&mut first, "hist:room", 3).await, [1, 2, 3]);
    first.close().await;

    publish(&server, "hist:room", 4..=6);
    let mut back = server.connect().await;
    let since = json!({"epoch": epoch, "offset": 3});
    let ack = subscribe(&mut back, json!({"topic": "hist:room", "since": since})).await;
    assert_eq!(ack, json!({"topic": "hist:room", "epoch": epoch, "offset": 6, "recovered": true}));
    let replayed: Vec<Value> = [back.recv().await, back.recv().await, back.recv().await].into();
    assert_eq!(replayed[0], json!({"type": "m", "data": 4, "topic": "hist:room", "offset": 4}));
    assert_eq!(replayed.iter().map(|m| m["offset"].as_u64().unwrap()).collect::<Vec<_>>(), [4, 5, 6]);
    publish(&server, "hist:room", 7..=7);
    assert_eq!(offsets(&mut back, "hist:room", 1).await, [7]);
    back.assert_silent().await;
}

#[tokio::test]
async fn the_bound_is_exact_a_position_size_behind_recovers_one_further_does_not() {
    let server = LiveServer::start(app()).await;
    let mut probe = server.connect().await;
    let epoch = subscribe(&mut probe, json!({"topic": "hist:bound"})).await["epoch"].clone();
    probe.close().await;
    let total = KEPT as u64 + 5;
    publish(&server, "hist:bound", 1..=total);

    let mut c = server.connect().await;
    let since = json!({"epoch": epoch, "offset": total - KEPT as u64});
    let ack = subscribe(&mut c, json!({"topic": "hist:bound", "since": since})).await;
    assert_eq!(ack["recovered"], true, "{ack}");
    let replayed = offsets(&mut c, "hist:bound", KEPT).await;
    assert_eq!(replayed, (6..=total).collect::<Vec<_>>());
    c.assert_silent().await;

    let mut c = server.connect().await;
    let since = json!({"epoch": epoch, "offset": total - KEPT as u64 - 1});
    let ack = subscribe(&mut c, json!({"topic": "hist:bound", "since": since})).await;
    assert_eq!(ack, json!({"topic": "hist:bound", "epoch": epoch, "offset": total, "recovered": false}));
    c.assert_silent().await;
}

#[tokio::test]
async fn recovered_is_false_for_another_epoch_the_future_and_topics_without_history() {
    let server = LiveServer::start(app()).await;
    publish(&server, "hist:x", 1..=2);
    let mut c = server.connect().await;
    let cases = [
        ("hist:x", json!({"epoch": "not-this-one", "offset": 1})),
        ("hist:y", json!({"epoch": "not-this-one", "offset": 0})),
        ("plain:x", json!({"epoch": "E", "offset": 1})),
    ];
    for (topic, since) in cases {
        let ack = subscribe(&mut c, json!({"topic": topic, "since": since})).await;
        assert_eq!(ack["recovered"], false, "{topic}: {ack}");
        assert_eq!(ack.get("epoch").is_some(), topic.starts_with("hist:"), "{ack}");
    }
    let mut d = server.connect().await;
    let epoch = subscribe(&mut d, json!({"topic": "hist:x"})).await["epoch"].clone();
    let mut e = server.connect().await;
    let ack = subscribe(&mut e, json!({"topic": "hist:x", "since": {"epoch": epoch, "offset": 3}})).await;
    assert_eq!(
        ack,
        json!({"topic": "hist:x", "epoch": epoch, "offset": 2, "recovered": false}),
        "the future"
    );
    // Nothing is replayed after `recovered: false`; the live stream follows.
    publish(&server, "hist:x", 3..=3);
    assert_eq!(offsets(&mut e, "hist:x", 1).await, [3]);
    e.assert_silent().await;
}

#[tokio::test]
async fn a_malformed_since_is_bad_request_and_subscribes_nothing() {
    let server = LiveServer::start(app()).await;
    let mut c = server.connect().await;
    let malformed = [
        json!(null),
        json!("E:3"),
        json!(3),
        json!({"epoch": "E"}),
        json!({"epoch": "E", "offset": null}),
        json!({"epoch": "E", "offset": -1}),
        json!({"epoch": "E", "offset": 1.5}),
        json!({"epoch": "E", "offset": "3"}),
        json!({"offset": 3}),
        json!({"epoch": 7, "offset": 3}),
    ];
    for since in malformed {
        let reply = c
            .request(json!({"type": "subscribe", "data": {"topic": "hist:m", "since": since}, "correlationId": "c"}))
            .await;
        assert_eq!(reply["error"]["code"], "bad_request", "{since}: {reply}");
        assert_eq!(reply["correlationId"], "c");
    }
    let reply = c.request(json!({"type": "subscribe", "data": {"topic": "hist:m", "presence": "yes"}})).await;
    assert_eq!(reply["error"]["code"], "bad_request", "{reply}");
    assert_eq!(server.app.sockets().subscriber_count("hist:m"), 0, "no subscription was made");
    publish(&server, "hist:m", 1..=1);
    c.assert_silent().await;
}

#[tokio::test]
async fn subscribing_again_replays_nothing_and_says_not_recovered() {
    let server = LiveServer::start(app()).await;
    let mut c = server.connect().await;
    let epoch = subscribe(&mut c, json!({"topic": "hist:again"})).await["epoch"].clone();
    publish(&server, "hist:again", 1..=2);
    assert_eq!(offsets(&mut c, "hist:again", 2).await, [1, 2]);
    let ack = subscribe(&mut c, json!({"topic": "hist:again", "since": {"epoch": epoch, "offset": 0}})).await;
    assert_eq!(ack, json!({"topic": "hist:again", "epoch": epoch, "offset": 2, "recovered": false}));
    c.assert_silent().await;
}

/// A publisher that never pauses while clients recover: each client sees
/// the acknowledgement first, then every offset after its position exactly
/// once, in order, with no gap at the seam between replay and live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gap_and_no_duplicate_at_the_seam_while_publishing_goes_on() {
    let server = LiveServer::start(app()).await;
    let mut probe = server.connect().await;
    let epoch = subscribe(&mut probe, json!({"topic": "hist:seam"})).await["epoch"].clone();
    probe.close().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = {
        let (sockets, stop) = (server.app.sockets().clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                sockets.publish("hist:seam", message(n)).unwrap();
                if n.is_multiple_of(8) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut recovered = 0;
    for _ in 0..20 {
        let mut c = server.connect().await;
        // Somewhat behind the live stream, within what is kept.
        let since = json!({"epoch": epoch, "offset": 0});
        let ack =
            c.request(json!({"type": "subscribe", "data": {"topic": "hist:seam", "since": since}})).await;
        assert_eq!(ack["type"], "subscribe", "the acknowledgement comes first: {ack}");
        let acked = ack["data"]["offset"].as_u64().unwrap();
        if ack["data"]["recovered"] != true {
            assert!(acked > KEPT as u64, "{ack}");
            break; // The history has moved past offset 0: enough rounds.
        }
        recovered += 1;
        // The replay up to the acknowledged offset, then live messages, each once.
        let seen = offsets(&mut c, "hist:seam", acked as usize + 20).await;
        assert_eq!(seen, (1..=acked + 20).collect::<Vec<_>>());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    publisher.await.unwrap();
    assert!(recovered >= 2, "only {recovered} rounds recovered");
}

#[tokio::test]
async fn only_json_objects_may_be_published_on_a_history_topic() {
    let server = LiveServer::start(app()).await;
    let mut c = server.connect().await;
    subscribe(&mut c, json!({"topic": "hist:p"})).await;
    let sockets = server.app.sockets();
    for bad in [r#"[1,2]"#, r#""text""#, "not json", r#"{"type":"m","offset":1}"#, r#"{"topic":"x"}"#] {
        let error = sockets.publish("hist:p", bad).unwrap_err();
        assert!(matches!(error, PubSubError::NotPositionable { .. }), "{bad}: {error}");
        assert!(error.to_string().contains("keeps history"), "{error}");
    }
    assert!(
        sockets.publish("hist:p", Outbound::binary(&[1, 2, 3])).is_err(),
        "binary that is not MessagePack"
    );
    // A MessagePack map travels as JSON does.
    let packed = rmp_serde::to_vec_named(&json!({"type": "m", "data": 9})).unwrap();
    sockets.publish("hist:p", Outbound::binary(&packed)).unwrap();
    assert_eq!(
        c.recv().await,
        json!({"type": "m", "data": 9, "topic": "hist:p", "offset": 1}),
        "refused ones took no offset"
    );
    sockets.publish("hist:p", "{}").unwrap();
    assert_eq!(c.recv().await, json!({"topic": "hist:p", "offset": 2}));
    c.assert_silent().await;
}

#[tokio::test]
async fn history_needs_a_backend_that_keeps_it_and_valid_patterns() {
    let error = ori::testing::TestServer::start(app().pubsub(PlainBackend::default())).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidConfig(m) if m.contains("Capability::History")), "{error}");
    for pattern in ["room *", "__*", "a*b*"] {
        let app = Ori::create().allow_no_routers().websocket(WebSocketConfig::default());
        let error = ori::testing::TestServer::start(app.history(pattern, 10, Duration::from_secs(1)))
            .await
            .unwrap_err();
        assert!(matches!(&error, Error::InvalidConfig(m) if m.contains(pattern)), "{pattern}: {error}");
    }
    // Without history configured, a client's `since` is answered honestly.
    let server = LiveServer::start(
        Ori::create()
            .allow_no_routers()
            .websocket(WebSocketConfig::default())
            .pubsub(PlainBackend::default()),
    )
    .await;
    let mut c = server.connect().await;
    let ack = subscribe(&mut c, json!({"topic": "room", "since": {"epoch": "E", "offset": 4}})).await;
    assert_eq!(ack, json!({"topic": "room", "recovered": false}));
}

#[tokio::test]
async fn a_messagepack_connection_gets_positions_too() {
    use tokio_tungstenite::tungstenite::Message;
    let server = LiveServer::start(app()).await;
    let mut c = ori_tests::WsClient::try_connect_request(
        &server.url(),
        &[("Sec-WebSocket-Protocol", "ori.v1.msgpack")],
    )
    .await
    .unwrap();
    let subscribe =
        rmp_serde::to_vec_named(&json!({"type": "subscribe", "data": {"topic": "hist:mp"}})).unwrap();
    c.send_message(Message::Binary(subscribe.into())).await;
    let ori_tests::Event::Binary(ack) = c.next_event().await else { panic!("a binary acknowledgement") };
    let ack: Value = rmp_serde::from_slice(&ack).unwrap();
    assert_eq!(ack["data"]["offset"], 0, "{ack}");
    publish(&server, "hist:mp", 1..=1);
    let ori_tests::Event::Binary(pushed) = c.next_event().await else { panic!("a binary push") };
    let pushed: Value = rmp_serde::from_slice(&pushed).unwrap();
    assert_eq!(pushed, json!({"type": "m", "data": 1, "topic": "hist:mp", "offset": 1}));
}
