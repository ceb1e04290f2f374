//! The MessagePack codec (`ori.v1.msgpack`) over real sockets: the same
//! handlers serve both codecs, errors stay envelopes, a publish reaches each
//! subscriber in its own codec, and the Rust client speaks it.

use ori::client::{Client, ClientError, ClientEvent};
use ori::protocol::Codec;
use ori::{Compression, Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::client_app::next_event;
use ori_tests::{Event, LiveServer, WsClient};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Sum {
    sum: i64,
}

async fn add(_ctx: SocketContext, data: Add) -> Result<Sum, SocketError> {
    Ok(Sum { sum: data.a + data.b })
}

async fn codec(ctx: SocketContext) -> Result<Option<String>, SocketError> {
    Ok(ctx.subprotocol().map(str::to_owned))
}

async fn shout(ctx: SocketContext, data: Value) -> Result<(), SocketError> {
    ctx.sockets().publish("room", &json!({"type": "room.message", "data": data}))?;
    ctx.sockets().publish("room", "plain words, not JSON")?;
    Ok(())
}

fn app(config: WebSocketConfig) -> Ori {
    Ori::create().websocket(config).socket_routes(
        SocketRoutes::new().route("math.add", add).route("room.shout", shout).route("codec", codec),
    )
}

async fn msgpack_client(url: &str) -> WsClient {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "ori.v1.msgpack".parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.expect("connect");
    assert_eq!(response.headers()["sec-websocket-protocol"], "ori.v1.msgpack");
    WsClient::from_stream(ws)
}

fn pack(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    assert!(ori::protocol::json_to_msgpack(value.to_string().as_bytes(), &mut out));
    out
}

/// The next message, which must be a MessagePack binary frame, as JSON.
async fn recv_packed(client: &mut WsClient) -> Value {
    match client.next_event().await {
        Event::Binary(bytes) => {
            let value: Value = rmp_serde::from_slice(&bytes).expect("MessagePack");
            value
        }
        other => panic!("expected a MessagePack frame, got {other:?}"),
    }
}

async fn request_packed(client: &mut WsClient, value: Value) -> Value {
    client.send_message(Message::binary(pack(&value))).await;
    recv_packed(client).await
}

#[tokio::test]
async fn the_same_handler_serves_json_and_messagepack() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut json_client = server.connect().await;
    let mut packed = msgpack_client(&server.url()).await;
    let request = json!({"type": "math.add", "data": {"a": 2, "b": 40}, "correlationId": "c"});
    let expected = json!({"type": "math.add", "data": {"sum": 42}, "correlationId": "c"});
    assert_eq!(json_client.request(request.clone()).await, expected);
    assert_eq!(request_packed(&mut packed, request).await, expected);
    // Written by hand: a map whose `data` is itself a map, as any MessagePack library sends it.
    let by_hand =
        rmp_serde::to_vec_named(&serde_json::json!({"type": "ping", "correlationId": "p"})).unwrap();
    packed.send_message(Message::binary(by_hand)).await;
    assert_eq!(recv_packed(&mut packed).await, json!({"type": "pong", "data": null, "correlationId": "p"}));
}

#[tokio::test]
async fn bad_messagepack_is_a_bad_request_and_the_connection_stays_open() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let mut c = msgpack_client(&server.url()).await;
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_owned();
    for (bad, why) in [
        (vec![0xc1], "not MessagePack"),
        (pack(&json!([1, 2])), "not a map"),
        (pack(&json!({"data": 1})), "no type"),
        (pack(&json!({"type": 7})), "type not a string"),
    ] {
        c.send_message(Message::binary(bad)).await;
        let reply = recv_packed(&mut c).await;
        assert_eq!(
            (reply["type"].as_str(), code(&reply).as_str()),
            (Some("error"), "bad_request"),
            "{why}: {reply}"
        );
    }
    // Nesting: what serde_json reads converts; deeper is refused, not
    // passed on as JSON nobody can read (found by the `msgpack` fuzz target).
    let nested = |depth: usize| {
        let mut packed = vec![0x82, 0xa4];
        packed.extend_from_slice(b"type");
        packed.push(0xa5);
        packed.extend_from_slice(b"codec");
        packed.push(0xa4);
        packed.extend_from_slice(b"data");
        packed.extend(std::iter::repeat_n(0x91, depth)); // arrays of one element
        packed.push(0x05);
        packed
    };
    c.send_message(Message::binary(nested(100))).await;
    assert_eq!(recv_packed(&mut c).await["data"], "ori.v1.msgpack", "100 deep is read");
    c.send_message(Message::binary(nested(200))).await;
    let deep = recv_packed(&mut c).await;
    assert_eq!(code(&deep), "bad_request", "{deep}");
    assert!(deep["error"]["message"].as_str().unwrap().contains("depth"), "{deep}");
    let wrong_data = request_packed(&mut c, json!({"type": "math.add", "data": {"a": "x"}})).await;
    assert_eq!(code(&wrong_data), "bad_request");
    assert!(wrong_data["error"]["message"].as_str().unwrap().contains('a'), "names the field: {wrong_data}");
    assert_eq!(request_packed(&mut c, json!({"type": "ping"})).await["type"], "pong");
}

#[tokio::test]
async fn a_publish_reaches_each_subscriber_in_its_codec() {
    let server = LiveServer::start(app(WebSocketConfig::default().compression(Compression::default()))).await;
    let mut json_client = server.connect().await;
    let mut packed = msgpack_client(&server.url()).await;
    json_client.subscribe("room").await;
    assert_eq!(
        request_packed(&mut packed, json!({"type": "subscribe", "data": {"topic": "room"}})).await["type"],
        "subscribe"
    );
    json_client.send(json!({"type": "room.shout", "data": {"hi": [1, 2.5, null]}})).await;
    let expected = json!({"type": "room.message", "data": {"hi": [1, 2.5, null]}});
    assert_eq!(json_client.recv().await, expected);
    assert_eq!(recv_packed(&mut packed).await, expected);
    // A raw text publish that is not JSON reaches a MessagePack connection as text.
    assert_eq!(packed.next_event().await, Event::Text("plain words, not JSON".to_owned()));
    assert_eq!(json_client.next_event().await, Event::Text("plain words, not JSON".to_owned()));
}

#[tokio::test]
async fn the_rust_client_speaks_messagepack() {
    let server = LiveServer::start(app(WebSocketConfig::default())).await;
    let client = Client::builder(server.url()).codec(Codec::MessagePack).connect().await.unwrap();
    let codec: Option<String> = client.request("codec", &()).await.unwrap();
    assert_eq!(codec.as_deref(), Some("ori.v1.msgpack"), "the server sees the subprotocol");
    let sum: Value = client.request("math.add", &json!({"a": 1, "b": -3})).await.unwrap();
    assert_eq!(sum, json!({"sum": -2}));
    let refused = client.request::<_, Value>("math.add", &json!({"a": 1})).await.unwrap_err();
    assert!(matches!(&refused, ClientError::Server { code, .. } if code == "bad_request"), "{refused:?}");
    client.subscribe("room").await.unwrap();
    let mut events = client.events();
    client.send("room.shout", &json!("hello")).unwrap();
    let push = next_event(&mut events, |event| match event {
        ClientEvent::Message(push) => Some(push),
        _ => None,
    })
    .await;
    assert_eq!((push.message_type(), push.data::<String>().unwrap().as_str()), ("room.message", "hello"));
    client.close().await;
}
