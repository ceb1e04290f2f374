//! PROTOCOL.md "Control messages": ping, subscribe, unsubscribe, topic rules,
//! the topic authorizer, and the subscription limit.

use ori::{Ori, Socket, WebSocketConfig};
use ori_tests::LiveServer;
use serde_json::{Value, json};

async fn server(config: WebSocketConfig) -> LiveServer {
    LiveServer::start(Ori::create().allow_no_routers().websocket(config)).await
}

fn error_code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {reply}"))
}

#[tokio::test]
async fn ping_answers_pong_with_null_data() {
    let server = server(WebSocketConfig::default()).await;
    let mut c = server.connect().await;
    assert_eq!(c.request(json!({"type": "ping"})).await, json!({"type": "pong", "data": null}));
    let reply = c.request(json!({"type": "ping", "correlationId": "p1"})).await;
    assert_eq!(reply, json!({"type": "pong", "data": null, "correlationId": "p1"}));
}

#[tokio::test]
async fn subscribe_and_unsubscribe_acknowledge_with_the_topic() {
    let server = server(WebSocketConfig::default()).await;
    let mut c = server.connect().await;
    let ack =
        c.request(json!({"type": "subscribe", "data": {"topic": "room:1"}, "correlationId": "s1"})).await;
    assert_eq!(ack, json!({"type": "subscribe", "data": {"topic": "room:1"}, "correlationId": "s1"}));
    assert_eq!(server.app.sockets().subscriber_count("room:1"), 1);
    let ack =
        c.request(json!({"type": "unsubscribe", "data": {"topic": "room:1"}, "correlationId": "u1"})).await;
    assert_eq!(ack, json!({"type": "unsubscribe", "data": {"topic": "room:1"}, "correlationId": "u1"}));
    assert_eq!(server.app.sockets().subscriber_count("room:1"), 0);
    // Acknowledged even without a correlationId, and for a topic never joined.
    let ack = c.request(json!({"type": "unsubscribe", "data": {"topic": "never.joined"}})).await;
    assert_eq!(ack, json!({"type": "unsubscribe", "data": {"topic": "never.joined"}}));
}

#[tokio::test]
async fn subscribing_twice_is_one_subscription_ended_by_one_unsubscribe() {
    let server = server(WebSocketConfig::default()).await;
    let mut c = server.connect().await;
    c.subscribe("news").await;
    c.subscribe("news").await;
    assert_eq!(server.app.sockets().subscriber_count("news"), 1);
    server.app.sockets().publish("news", r#"{"type":"n","data":1}"#).unwrap();
    assert_eq!(c.recv().await, json!({"type": "n", "data": 1}));
    c.assert_silent().await;
    c.request(json!({"type": "unsubscribe", "data": {"topic": "news"}})).await;
    server.app.sockets().publish("news", r#"{"type":"n","data":2}"#).unwrap();
    c.assert_silent().await;
}

#[tokio::test]
async fn invalid_topics_are_bad_request_and_reserved_ones_forbidden() {
    let server = server(WebSocketConfig::default()).await;
    let mut c = server.connect().await;
    for control in ["subscribe", "unsubscribe"] {
        for topic in
            [json!("t".repeat(257)), json!("has space"), json!(""), json!("__ x"), json!("é"), json!(5)]
        {
            let reply =
                c.request(json!({"type": control, "data": {"topic": topic}, "correlationId": "c"})).await;
            assert_eq!(reply["type"], control);
            assert_eq!(reply["correlationId"], "c");
            assert_eq!(error_code(&reply), "bad_request", "{control} {topic}");
        }
        for topic in ["__broadcast__", "__direct:x"] {
            let reply = c.request(json!({"type": control, "data": {"topic": topic}})).await;
            assert_eq!(error_code(&reply), "forbidden", "{control} {topic}");
        }
        let reply = c.request(json!({"type": control, "data": {}})).await;
        assert!(reply["error"]["message"].as_str().unwrap().contains("`topic`"), "{reply}");
        let reply = c.request(json!({"type": control})).await;
        assert_eq!(error_code(&reply), "bad_request");
    }
    // 256 characters is valid.
    c.subscribe(&"t".repeat(256)).await;
}

#[tokio::test]
async fn the_topic_authorizer_decides_who_joins() {
    let server = LiveServer::start(
        Ori::create()
            .allow_no_routers()
            .websocket(WebSocketConfig::default())
            .topic_authorizer(|_socket: &Socket, topic: &str| topic.starts_with("public.")),
    )
    .await;
    let mut c = server.connect().await;
    c.subscribe("public.lobby").await;
    let reply = c
        .request(json!({"type": "subscribe", "data": {"topic": "private.room"}, "correlationId": "a"}))
        .await;
    assert_eq!(reply["correlationId"], "a");
    assert_eq!(error_code(&reply), "forbidden");
    assert_eq!(server.app.sockets().subscriber_count("private.room"), 0);
}

#[tokio::test]
async fn subscribing_past_the_limit_is_forbidden() {
    let server = server(WebSocketConfig::default().max_subscriptions(2)).await;
    let mut c = server.connect().await;
    c.subscribe("a").await;
    c.subscribe("b").await;
    c.subscribe("a").await; // already joined: not a new subscription
    let reply = c.request(json!({"type": "subscribe", "data": {"topic": "c"}})).await;
    assert_eq!(error_code(&reply), "forbidden");
    assert!(reply["error"]["message"].as_str().unwrap().contains("limit of 2"), "{reply}");
    c.request(json!({"type": "unsubscribe", "data": {"topic": "a"}})).await;
    c.subscribe("c").await;
}

/// A topic authorizer that panics is the server's failure: `internal`, with
/// the request's correlationId, for `subscribe` and the `presence` query
/// alike; the connection stays.
#[tokio::test]
async fn a_panicking_topic_authorizer_is_internal_and_the_connection_stays() {
    let server = LiveServer::start(
        Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).topic_authorizer(
            |_socket: &Socket, topic: &str| {
                assert!(topic != "boom", "the authorizer failed (a test's injected bug)");
                true
            },
        ),
    )
    .await;
    let mut c = server.connect().await;
    for control in ["subscribe", "presence"] {
        let reply =
            c.request(json!({"type": control, "data": {"topic": "boom"}, "correlationId": "b"})).await;
        assert_eq!((reply["type"].as_str(), reply["correlationId"].as_str()), (Some(control), Some("b")));
        assert_eq!(error_code(&reply), "internal", "{reply}");
    }
    assert_eq!(server.app.sockets().subscriber_count("boom"), 0);
    c.subscribe("fine").await;
}
