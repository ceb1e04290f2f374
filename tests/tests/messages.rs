//! PROTOCOL.md "Client to server" and "Server to client": envelopes,
//! correlationIds, replies, error codes, and bad input over real sockets.

use std::time::Duration;

use ori::{MessageGuard, Ori, Reject, Socket, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::{Event, LiveServer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Deserialize, Serialize)]
struct Heartbeat {
    timestamp: String,
    device: Device,
}

#[derive(Debug, Deserialize, Serialize)]
struct Device {
    battery: u8,
}

#[derive(Debug, Serialize)]
struct Ack {
    ok: bool,
}

async fn heartbeat(_ctx: SocketContext, data: Heartbeat) -> Result<Ack, SocketError> {
    Ok(Ack { ok: data.device.battery > 0 })
}

async fn echo(_ctx: SocketContext, data: Value) -> Result<Value, SocketError> {
    Ok(data)
}

async fn optional(_ctx: SocketContext, data: Option<u32>) -> Result<Option<u32>, SocketError> {
    Ok(data)
}

async fn relay(_ctx: SocketContext, data: Box<RawValue>) -> Result<Box<RawValue>, SocketError> {
    Ok(data)
}

async fn touch(_ctx: SocketContext) {}

async fn now(_ctx: SocketContext) -> Result<&'static str, SocketError> {
    Ok("always replies")
}

async fn refuse(_ctx: SocketContext) -> Result<(), SocketError> {
    Err(SocketError::new("room_full", "the room is full"))
}

async fn explode(_ctx: SocketContext) -> Result<(), SocketError> {
    panic!("handler bug: secret detail")
}

async fn slow(_ctx: SocketContext, millis: u64) -> Result<u64, SocketError> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(millis)
}

struct Deny;
impl MessageGuard for Deny {
    async fn check(&self, _socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        Err(Reject::new("admin role required"))
    }
}

struct Broken;
impl MessageGuard for Broken {
    async fn check(&self, _socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        Err(Reject::error(std::io::Error::other("role service down")))
    }
}

struct Allow;
impl MessageGuard for Allow {
    async fn check(&self, _socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        Ok(())
    }
}

async fn server() -> LiveServer {
    let routes = SocketRoutes::named("TestRoutes")
        .route("presence.heartbeat", heartbeat)
        .route("test.echo", echo)
        .route("test.optional", optional)
        .route("test.relay", relay)
        .route("test.touch", touch)
        .route("test.now", now)
        .route("test.refuse", refuse)
        .route("test.explode", explode)
        .route("test.slow", slow)
        .guarded_route("admin.kick", Deny, touch)
        .guarded_route("admin.broken", Broken, touch)
        .guarded_route("admin.both", (Allow, Deny), touch)
        .guarded_route("admin.allowed", (Allow, Allow), now);
    LiveServer::start(Ori::create().websocket(WebSocketConfig::default()).socket_routes(routes)).await
}

fn error_of(reply: &Value) -> (&str, &str) {
    assert!(reply.get("data").is_none(), "an error reply has no data: {reply}");
    (reply["error"]["code"].as_str().unwrap(), reply["error"]["message"].as_str().unwrap())
}

#[tokio::test]
async fn routes_typed_data_and_echoes_correlation_ids() {
    let server = server().await;
    let mut c = server.connect().await;
    let request = json!({"type": "presence.heartbeat", "data": {"timestamp": "2024-01-15T10:30:00Z", "device": {"battery": 80}}, "correlationId": "abc-123"});
    assert_eq!(
        c.request(request).await,
        json!({"type": "presence.heartbeat", "data": {"ok": true}, "correlationId": "abc-123"})
    );
    // Escapes in the correlationId survive the round trip; "" is valid.
    let reply =
        c.request(json!({"type": "test.echo", "data": [1, "é✓", null], "correlationId": "q\"\\\u{1}"})).await;
    assert_eq!(reply, json!({"type": "test.echo", "data": [1, "é✓", null], "correlationId": "q\"\\\u{1}"}));
    let reply = c.request(json!({"type": "test.echo", "data": 1, "correlationId": ""})).await;
    assert_eq!(reply, json!({"type": "test.echo", "data": 1, "correlationId": ""}));
    // 128 characters (multi-byte) is the limit, and is fine.
    let long = "é".repeat(128);
    assert_eq!(c.request(json!({"type": "test.now", "correlationId": long})).await["correlationId"], long);
}

#[tokio::test]
async fn value_replies_always_unit_replies_only_with_a_correlation_id() {
    let server = server().await;
    let mut c = server.connect().await;
    assert_eq!(
        c.request(json!({"type": "test.now"})).await,
        json!({"type": "test.now", "data": "always replies"})
    );
    c.send(json!({"type": "test.touch"})).await;
    c.assert_silent().await;
    // `null` counts as absent.
    c.send(json!({"type": "test.touch", "correlationId": null})).await;
    c.assert_silent().await;
    let ack = c.request(json!({"type": "test.touch", "correlationId": "t1"})).await;
    assert_eq!(ack, json!({"type": "test.touch", "data": null, "correlationId": "t1"}));
}

#[tokio::test]
async fn absent_data_is_null_and_unknown_fields_are_ignored() {
    let server = server().await;
    let mut c = server.connect().await;
    assert_eq!(
        c.request(json!({"type": "test.optional"})).await,
        json!({"type": "test.optional", "data": null})
    );
    let reply = c.request(json!({"type": "test.optional", "data": 7, "extra": {"x": 1}, "version": 2})).await;
    assert_eq!(reply, json!({"type": "test.optional", "data": 7}));
    // Keys that begin like the envelope's are other keys, ignored too.
    c.send_text(r#"{"types":"x","datax":9,"correlationIdx":"y","type":"test.optional","data":7}"#).await;
    assert_eq!(c.recv().await, json!({"type": "test.optional", "data": 7}));
}

/// A `Box<RawValue>` argument is `data` as the client wrote it, whitespace
/// and escapes included, and goes back out as it is.
#[tokio::test]
async fn raw_data_is_relayed_byte_for_byte() {
    let server = server().await;
    let mut c = server.connect().await;
    let data = r#"{ "a" : [1, "\u00e9", {"b":null}] }"#;
    c.send_text(&format!(r#"{{"type":"test.relay","data": {data} ,"correlationId":"r1"}}"#)).await;
    let expected = format!(r#"{{"type":"test.relay","data":{data},"correlationId":"r1"}}"#);
    let Event::Text(reply) = c.next_event().await else { panic!("a text reply expected") };
    assert_eq!(reply, expected);
    assert_eq!(
        c.request(json!({"type": "test.relay", "correlationId": "r2"})).await,
        json!({"type": "test.relay", "data": null, "correlationId": "r2"})
    );
}

#[tokio::test]
async fn data_of_the_wrong_shape_is_bad_request_naming_the_field() {
    let server = server().await;
    let mut c = server.connect().await;
    let reply = c
        .request(json!({"type": "presence.heartbeat", "data": {"timestamp": "t", "device": {"battery": "full"}}, "correlationId": "h"}))
        .await;
    assert_eq!(reply["type"], "presence.heartbeat");
    assert_eq!(reply["correlationId"], "h");
    let (code, message) = error_of(&reply);
    assert_eq!(code, "bad_request");
    assert!(message.contains("`device.battery`"), "{message}");
    let reply = c.request(json!({"type": "presence.heartbeat", "data": {"device": {"battery": 1}}})).await;
    assert!(error_of(&reply).1.contains("missing field `timestamp`"), "{reply}");
    let reply = c.request(json!({"type": "presence.heartbeat"})).await;
    assert_eq!(error_of(&reply).0, "bad_request");
}

#[tokio::test]
async fn malformed_messages_are_bad_request_and_the_connection_survives() {
    let server = server().await;
    let mut c = server.connect().await;
    let cases: Vec<(&str, &str)> = vec![
        (r#"{"type": "test.echo", "data": {"#, "error"),
        ("not json at all", "error"),
        ("[1, 2]", "error"),
        ("\"just a string\"", "error"),
        (r#"{"data": 1}"#, "error"),
        (r#"{"type": 42}"#, "error"),
        (r#"{"type": ""}"#, "error"),
        (r#"{"type": "has space"}"#, "error"),
        (r#"{"type": "é"}"#, "error"),
    ];
    for (text, expected_type) in cases {
        c.send_text(text).await;
        let reply = c.recv().await;
        assert_eq!(reply["type"], expected_type, "{text} -> {reply}");
        assert_eq!(error_of(&reply).0, "bad_request", "{text} -> {reply}");
    }
    let too_long = "a".repeat(129);
    let reply = c.request(json!({"type": too_long, "correlationId": "k"})).await;
    assert_eq!((reply["type"].as_str(), error_of(&reply).0), (Some("error"), "bad_request"));
    assert_eq!(reply["correlationId"], "k", "a valid correlationId is echoed on errors too");
    assert_eq!(c.request(json!({"type": "ping", "correlationId": "after"})).await["correlationId"], "after");
}

#[tokio::test]
async fn invalid_correlation_ids_are_bad_request_and_not_echoed() {
    let server = server().await;
    let mut c = server.connect().await;
    for cid in [json!(7), json!({"a": 1}), json!(["x"]), json!(true), json!("x".repeat(129))] {
        let reply = c.request(json!({"type": "test.now", "correlationId": cid})).await;
        assert_eq!(reply["type"], "test.now", "the valid type is echoed");
        assert_eq!(error_of(&reply).0, "bad_request");
        assert!(reply.get("correlationId").is_none(), "{reply}");
    }
}

#[tokio::test]
async fn unknown_and_reserved_types_are_unknown_type() {
    let server = server().await;
    let mut c = server.connect().await;
    // 128 characters is a valid type (unknown here); 129 is bad_request (above).
    let longest = "t".repeat(128);
    for ty in ["no.such.type", "pong", "error", "__internal", "__broadcast__", &longest] {
        let reply = c.request(json!({"type": ty, "data": {}, "correlationId": "x1"})).await;
        assert_eq!(reply["type"], ty);
        assert_eq!(reply["correlationId"], "x1");
        assert_eq!(error_of(&reply).0, "unknown_type", "{ty}");
    }
}

#[tokio::test]
async fn handler_errors_use_the_application_code() {
    let server = server().await;
    let mut c = server.connect().await;
    let reply = c.request(json!({"type": "test.refuse", "correlationId": "r"})).await;
    assert_eq!(
        reply,
        json!({"type": "test.refuse", "error": {"code": "room_full", "message": "the room is full"}, "correlationId": "r"})
    );
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_and_hurts_no_one() {
    let server = server().await;
    let mut bystander = server.connect().await;
    bystander.subscribe("watch").await;
    let mut c = server.connect().await;
    let reply = c.request(json!({"type": "test.explode", "correlationId": "p"})).await;
    assert_eq!(
        reply,
        json!({"type": "test.explode", "error": {"code": "internal", "message": "internal server error"}, "correlationId": "p"})
    );
    // Same connection, other connections, and the server all carry on.
    assert_eq!(c.request(json!({"type": "test.now"})).await["data"], "always replies");
    server.app.sockets().publish("watch", r#"{"type":"still","data":"here"}"#).unwrap();
    assert_eq!(bystander.recv().await, json!({"type": "still", "data": "here"}));
}

#[tokio::test]
async fn message_guards_answer_forbidden() {
    let server = server().await;
    let mut c = server.connect().await;
    let reply = c.request(json!({"type": "admin.kick", "correlationId": "k"})).await;
    assert_eq!(
        reply,
        json!({"type": "admin.kick", "error": {"code": "forbidden", "message": "admin role required"}, "correlationId": "k"})
    );
    let reply = c.request(json!({"type": "admin.broken"})).await;
    assert_eq!(error_of(&reply), ("forbidden", "not allowed"), "a failing guard refuses, with no detail");
    let reply = c.request(json!({"type": "admin.both"})).await;
    assert_eq!(error_of(&reply), ("forbidden", "admin role required"), "guards run in order");
    assert_eq!(c.request(json!({"type": "admin.allowed"})).await["data"], "always replies");
}

#[tokio::test]
async fn binary_frames_are_unsupported_and_the_connection_stays_open() {
    let server = server().await;
    let mut c = server.connect().await;
    c.send_message(Message::binary(vec![1u8, 2, 3])).await;
    let reply = c.recv().await;
    assert_eq!(reply["type"], "error");
    assert_eq!(error_of(&reply).0, "unsupported");
    assert_eq!(c.request(json!({"type": "ping"})).await["type"], "pong");
}

#[tokio::test]
async fn pipelined_replies_arrive_as_they_finish_matched_by_correlation_id() {
    let server = server().await;
    let mut c = server.connect().await;
    c.send(json!({"type": "test.slow", "data": 300, "correlationId": "slow"})).await;
    c.send(json!({"type": "test.slow", "data": 0, "correlationId": "fast"})).await;
    assert_eq!(c.recv().await["correlationId"], "fast");
    assert_eq!(c.recv().await, json!({"type": "test.slow", "data": 300, "correlationId": "slow"}));
}
