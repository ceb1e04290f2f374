//! Raw messages over real sockets: endpoints of their own, several endpoints
//! in one app, the raw fallback of the envelope endpoint, binary sends and
//! publishes, and UTF-8 checked as text arrives.

use std::time::Duration;

use ori::{Ori, RawMessage, RawWebSocket, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::{Event, LiveServer, RawClient, WsClient};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn echo(path: &str) -> RawWebSocket {
    RawWebSocket::at(path).on_message(|_: SocketContext, message: RawMessage| async move { message })
}

async fn ping(_ctx: SocketContext) -> Result<&'static str, SocketError> {
    Ok("envelope")
}

#[tokio::test]
async fn a_raw_endpoint_echoes_text_and_binary_in_order() {
    let server = LiveServer::start(Ori::create().raw_websocket(echo("/raw"))).await;
    let mut c = WsClient::connect(&server.url_at("/raw")).await;
    for i in 0..50u8 {
        if i % 2 == 0 {
            c.send_text(&format!("text {i} — not JSON")).await;
        } else {
            c.send_message(Message::binary(vec![i, 0xff, 0])).await;
        }
    }
    for i in 0..50u8 {
        let expected = if i % 2 == 0 {
            Event::Text(format!("text {i} — not JSON"))
        } else {
            Event::Binary(vec![i, 0xff, 0])
        };
        assert_eq!(c.next_event().await, expected);
    }
    // Envelopes mean nothing here: a ping is echoed, not answered.
    c.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(c.next_event().await, Event::Text(r#"{"type":"ping"}"#.to_owned()));
}

#[tokio::test]
async fn endpoints_keep_their_own_paths_and_limits() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default().max_message_size(1024))
        .socket_routes(SocketRoutes::new().route("test.kind", ping))
        .raw_websocket(
            RawWebSocket::new(WebSocketConfig::default().path("/raw").max_message_size(64 * 1024))
                .on_message(|_: SocketContext, message: RawMessage| async move { message }),
        );
    let server = LiveServer::start(app).await;

    let mut envelopes = server.connect().await;
    assert_eq!(envelopes.request(json!({"type": "test.kind"})).await["data"], "envelope");
    let mut raw = WsClient::connect(&server.url_at("/raw")).await;
    let big = "x".repeat(10_000);
    raw.send_text(&big).await;
    assert_eq!(raw.next_event().await, Event::Text(big.clone()), "the raw endpoint's limit is 64 KiB");
    envelopes.send_text(&big).await;
    assert_eq!(envelopes.expect_close().await.0, 1009, "the envelope endpoint's limit is 1 KiB");
    raw.send_text("still open").await;
    assert_eq!(raw.next_event().await, Event::Text("still open".to_owned()));
}

#[tokio::test]
async fn the_envelope_endpoint_hands_what_is_not_an_envelope_to_its_raw_handler() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::new().route("test.kind", ping))
        .on_raw_message(|_: SocketContext, message: RawMessage| async move {
            match message {
                RawMessage::Binary(bytes) => RawMessage::Binary(bytes.iter().rev().copied().collect()),
                RawMessage::Text(text) => RawMessage::Text(format!("raw: {text}")),
            }
        });
    let server = LiveServer::start(app).await;
    let mut c = server.connect().await;
    c.send_message(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(c.next_event().await, Event::Binary(vec![3, 2, 1]));
    c.send_text("hello").await;
    assert_eq!(c.next_event().await, Event::Text("raw: hello".to_owned()));
    c.send_text(r#"{"data":1}"#).await;
    assert_eq!(
        c.next_event().await,
        Event::Text(r#"raw: {"data":1}"#.to_owned()),
        "no `type`: not an envelope"
    );
    // Envelopes are still routed, and their errors are still envelopes.
    assert_eq!(c.request(json!({"type": "test.kind"})).await["data"], "envelope");
    let unknown = c.request(json!({"type": "nobody.handles"})).await;
    assert_eq!(unknown["error"]["code"], "unknown_type");
    assert_eq!(
        c.request(json!({"type": "test.kind", "correlationId": 5})).await["error"]["code"],
        "bad_request"
    );
}

#[tokio::test]
async fn binary_is_published_and_sent_like_text() {
    let app = Ori::create().raw_websocket(
        RawWebSocket::at("/raw")
            .on_open(|ctx: SocketContext| async move {
                ctx.subscribe("room").await.expect("subscribe");
                ctx.send("ready").expect("send");
            })
            .on_message(|ctx: SocketContext, message: RawMessage| async move {
                ctx.publish("room", message).expect("publish");
            }),
    );
    let server = LiveServer::start(app).await;
    let mut a = WsClient::connect(&server.url_at("/raw")).await;
    let mut b = WsClient::connect(&server.url_at("/raw")).await;
    for client in [&mut a, &mut b] {
        assert_eq!(client.next_event().await, Event::Text("ready".to_owned()), "subscribed");
    }
    a.send_message(Message::binary(vec![0u8, 159, 146, 150])).await;
    assert_eq!(b.next_event().await, Event::Binary(vec![0, 159, 146, 150]));
    server.app.sockets().publish("room", RawMessage::Binary(vec![7u8; 3].into())).unwrap();
    assert_eq!(a.next_event().await, Event::Binary(vec![7, 7, 7]));
    assert_eq!(b.next_event().await, Event::Binary(vec![7, 7, 7]));
}

#[tokio::test]
async fn invalid_utf8_fails_when_it_arrives_not_when_the_message_ends() {
    let server = LiveServer::start(Ori::create().raw_websocket(echo("/raw"))).await;

    // In a first fragment: closed before the message's last fragment is sent.
    let mut raw = RawClient::connect(server.addr, "/raw").await;
    raw.send_frame(false, 1, "κόσμε".as_bytes()).await;
    raw.send_frame(false, 0, &[0xce, 0xba, 0xed, 0xa0, 0x80]).await; // a surrogate
    assert_eq!(raw.expect_close().await, 1007);

    // In the middle of one frame whose end has not been sent.
    let mut raw = RawClient::connect(server.addr, "/raw").await;
    let frame = RawClient::encode(
        true,
        1,
        &[b"hello".as_slice(), &[0xf4, 0x90], &[b'a'; 100]].concat(),
        Some([9, 8, 7, 6]),
    );
    raw.send_bytes(&frame[..frame.len() - 50]).await;
    assert_eq!(raw.expect_close().await, 1007);

    // A character split across fragments and across reads is fine.
    let mut raw = RawClient::connect(server.addr, "/raw").await;
    let text = "a€𝄞b".as_bytes();
    raw.send_frame(false, 1, &text[..2]).await;
    let last = RawClient::encode(true, 0, &text[2..], Some([1, 2, 3, 4]));
    raw.send_bytes(&last[..8]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.send_bytes(&last[8..]).await;
    let echoed = raw.read_frame().await.expect("the echo");
    assert_eq!((echoed.opcode, echoed.payload.as_slice()), (1, text));

    // A message that ends inside a character is invalid.
    let mut raw = RawClient::connect(server.addr, "/raw").await;
    raw.send_frame(false, 1, b"ok").await;
    raw.send_frame(true, 0, &[0xe2, 0x82]).await;
    assert_eq!(raw.expect_close().await, 1007);
}

#[tokio::test]
async fn misconfigured_endpoints_stop_start_up() {
    let error = |app: Ori| async move { ori::testing::TestServer::start(app).await.unwrap_err().to_string() };
    let same_path = Ori::create().websocket_at("/ws").raw_websocket(echo("/ws"));
    assert!(error(same_path).await.contains("share the path `/ws`"));
    let no_handler = Ori::create().raw_websocket(RawWebSocket::at("/raw"));
    assert!(error(no_handler).await.contains("`/raw` has no message handler"));
    // The envelope endpoint's producers do not serve a raw endpoint's handlers.
    let unproduced = Ori::create()
        .websocket_at("/ws")
        .allow_no_routers()
        .upgrade_handler(|_: ori::UpgradeRequest| async { Some(Nick("ann".to_owned())) })
        .raw_websocket(
            RawWebSocket::at("/raw").on_message(|_: SocketContext<Nick>, m: RawMessage| async move { m }),
        );
    let message = error(unproduced).await;
    assert!(message.contains("`raw message handler` asks for connection state"), "{message}");
}

#[derive(Clone)]
struct Nick(String);

struct NoBob;

impl ori::ConnectionGuard for NoBob {
    type State = ();
    async fn check(&self, request: &ori::UpgradeRequest) -> Result<(), ori::Reject> {
        match request.query("nick").as_deref() {
            Some("bob") => Err(ori::Reject::new("not bob")),
            _ => Ok(()),
        }
    }
}

/// PROTOCOL.md, "Raw endpoints": each endpoint has its own upgrade handler
/// and connection guards, and its own lifecycle handlers.
#[tokio::test]
async fn a_raw_endpoint_runs_its_own_upgrade_handler_guards_and_lifecycle_handlers() {
    let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
    let raw = RawWebSocket::at("/raw")
        .upgrade_handler(|request: ori::UpgradeRequest| async move { request.query("nick").map(Nick) })
        .connection_guard(NoBob)
        .on_open(|ctx: SocketContext<Nick>| async move {
            ctx.send(format!("hello {}", ctx.state().0)).expect("send");
        })
        .on_message(|ctx: SocketContext<Nick>, m: RawMessage| async move {
            let RawMessage::Text(text) = m else { return None };
            Some(RawMessage::Text(format!("{}: {text}", ctx.state().0)))
        })
        .on_close(move |ctx: SocketContext<Nick>, info: ori::CloseInfo| {
            let closed = closed_tx.clone();
            async move {
                let _ = closed.send((ctx.state().0.clone(), info.code));
            }
        });
    // The envelope endpoint refuses everyone: its hooks are not the raw endpoint's.
    let app = Ori::create()
        .websocket_at("/ws")
        .allow_no_routers()
        .upgrade_handler(|_: ori::UpgradeRequest| async { None::<()> })
        .raw_websocket(raw);
    let server = LiveServer::start(app).await;
    assert!(matches!(WsClient::try_connect(&server.url()).await, Err(ori_tests::ConnectError::Status(401))));

    let no_nick = WsClient::try_connect(&server.url_at("/raw")).await;
    assert!(matches!(no_nick, Err(ori_tests::ConnectError::Status(401))), "the upgrade handler said no");
    let mut bob = WsClient::connect(&server.url_at("/raw?nick=bob")).await;
    assert_eq!(bob.expect_close().await, (1008, "not bob".to_owned()), "the guard said no");

    let mut ann = WsClient::connect(&server.url_at("/raw?nick=ann")).await;
    assert_eq!(ann.next_event().await, Event::Text("hello ann".to_owned()), "on_open with the state");
    ann.send_message(Message::text("hi")).await;
    assert_eq!(ann.next_event().await, Event::Text("ann: hi".to_owned()));
    ann.close().await;
    let closed = tokio::time::timeout(ori_tests::WAIT, closed.recv()).await.expect("on_close ran");
    assert_eq!(closed, Some(("ann".to_owned(), 1000)));
}

#[tokio::test]
async fn broadcasts_and_direct_sends_reach_raw_connections() {
    let server = LiveServer::start(
        Ori::create().raw_websocket(
            RawWebSocket::at("/raw")
                .on_open(|ctx: SocketContext| async move {
                    ctx.send(ctx.id().to_string()).expect("send");
                })
                .on_message(|_: SocketContext, m: RawMessage| async move { m }),
        ),
    )
    .await;
    let mut c = WsClient::connect(&server.url_at("/raw")).await;
    let Event::Text(id) = c.next_event().await else { panic!("the socket id first") };
    server.app.sockets().broadcast(r#"{"type":"news","data":1}"#);
    assert_eq!(c.next_event().await, Event::Text(r#"{"type":"news","data":1}"#.to_owned()));
    server.app.sockets().send_to(id.parse().unwrap(), RawMessage::Binary(vec![1u8].into())).unwrap();
    assert_eq!(c.next_event().await, Event::Binary(vec![1]));
}

#[tokio::test]
async fn idle_timeouts_and_connection_limits_are_per_endpoint() {
    let app = Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default().max_connections(1))
        .raw_websocket(
            RawWebSocket::new(
                WebSocketConfig::default()
                    .path("/raw")
                    .idle_timeout(Duration::from_millis(300))
                    .max_connections(2),
            )
            .on_message(|_: SocketContext, m: RawMessage| async move { m }),
        );
    let server = LiveServer::start(app).await;
    let mut envelopes = server.connect().await;
    assert!(
        matches!(WsClient::try_connect(&server.url()).await, Err(ori_tests::ConnectError::Status(503))),
        "the envelope endpoint's limit is 1"
    );
    // A client that never answers pings, so that the idle sweeper's ping does not keep it alive.
    let mut raw = RawClient::connect(server.addr, "/raw").await;
    let _second = WsClient::connect(&server.url_at("/raw")).await;
    assert!(
        matches!(
            WsClient::try_connect(&server.url_at("/raw")).await,
            Err(ori_tests::ConnectError::Status(503))
        ),
        "the raw endpoint's limit is 2, counted apart"
    );
    // The raw endpoint's 300 ms idle timeout closes its silent connection;
    // the envelope endpoint keeps the default 120 s.
    let started = std::time::Instant::now();
    assert_eq!(raw.expect_close().await, 1000, "idle timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(envelopes.request(json!({"type": "ping"})).await["type"], "pong", "still open");
}
