//! PROTOCOL.md "Close codes" and "Transport": close handshakes, frame-level
//! errors, fragmentation, ping frames, idle timeouts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ori::{CloseInfo, Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::{LiveServer, RawClient, WsClient};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

async fn goodbye(ctx: SocketContext) -> Result<&'static str, SocketError> {
    ctx.close(4000, "see you");
    Ok("bye")
}

fn app(config: WebSocketConfig, closes: Arc<Mutex<Vec<CloseInfo>>>) -> Ori {
    Ori::create().websocket(config).socket_routes(SocketRoutes::new().route("goodbye", goodbye)).on_close(
        move |_ws: SocketContext, info: CloseInfo| {
            let closes = closes.clone();
            async move { closes.lock().unwrap().push(info) }
        },
    )
}

async fn closes_eventually(closes: &Arc<Mutex<Vec<CloseInfo>>>, count: usize) -> Vec<CloseInfo> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let seen = closes.lock().unwrap().clone();
        if seen.len() >= count {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "close handler ran {} of {count} times", seen.len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_client_close_is_echoed_and_reported() {
    let closes = Arc::new(Mutex::new(Vec::new()));
    let server = LiveServer::start(app(WebSocketConfig::default(), closes.clone())).await;
    let mut c = server.connect().await;
    let frame = CloseFrame { code: CloseCode::Library(4001), reason: "done here".into() };
    c.inner().close(Some(frame)).await.unwrap();
    assert_eq!(c.expect_close().await, (4001, String::new()));
    assert_eq!(closes_eventually(&closes, 1).await, [CloseInfo { code: 4001, reason: "done here".into() }]);

    let mut raw = RawClient::connect(server.addr, "/ws").await;
    raw.send_frame(true, 8, &[]).await; // a close frame without a code
    assert_eq!(raw.expect_close().await, 1000);
    assert!(raw.reaches_eof().await, "the server closes the TCP connection after the handshake");
    assert_eq!(closes_eventually(&closes, 2).await[1].code, 1005);
}

#[tokio::test]
async fn a_dropped_connection_reports_1006() {
    let closes = Arc::new(Mutex::new(Vec::new()));
    let server = LiveServer::start(app(WebSocketConfig::default(), closes.clone())).await;
    let raw = RawClient::connect(server.addr, "/ws").await;
    drop(raw);
    assert_eq!(closes_eventually(&closes, 1).await[0].code, 1006);
}

#[tokio::test]
async fn the_application_can_close_after_its_reply() {
    let closes = Arc::new(Mutex::new(Vec::new()));
    let server = LiveServer::start(app(WebSocketConfig::default(), closes.clone())).await;
    let mut c = server.connect().await;
    assert_eq!(c.request(json!({"type": "goodbye", "correlationId": "g"})).await["data"], "bye");
    assert_eq!(c.expect_close().await, (4000, "see you".to_owned()));
    assert_eq!(closes_eventually(&closes, 1).await[0], CloseInfo { code: 4000, reason: "see you".into() });
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009_after_flushing_the_close_frame() {
    let closes = Arc::new(Mutex::new(Vec::new()));
    let config = WebSocketConfig::default().max_message_size(1024).close_timeout(Duration::from_millis(300));
    let server = LiveServer::start(app(config, closes.clone())).await;
    let mut c = server.connect().await;
    // At the limit is fine.
    let at_limit = format!(r#"{{"type":"ping","data":"{}"}}"#, "x".repeat(1024 - 25));
    assert_eq!(at_limit.len(), 1024);
    c.send_text(&at_limit).await;
    assert_eq!(c.recv().await["type"], "pong");
    c.send_text(&"y".repeat(1025)).await;
    assert_eq!(c.expect_close().await.0, 1009);
    drop(c);

    // A header announcing 10 MB: the server answers without reading the
    // payload, skips what does arrive, and ends the connection when the close
    // timeout passes without the client's close frame.
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    let mut header = RawClient::encode(true, 1, &[], Some([1, 2, 3, 4]));
    header[1] = 0x80 | 127;
    header.splice(2..2, (10u64 << 20).to_be_bytes());
    raw.send_bytes(&header).await;
    raw.send_bytes(&vec![b'z'; 64 * 1024]).await;
    assert_eq!(raw.expect_close().await, 1009);
    assert!(raw.reaches_eof().await);

    // Fragments count together.
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    raw.send_frame(false, 1, &[b'a'; 600]).await;
    raw.send_frame(true, 0, &[b'a'; 600]).await;
    assert_eq!(raw.expect_close().await, 1009);
    assert_eq!(closes_eventually(&closes, 3).await.iter().filter(|c| c.code == 1009).count(), 3);
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let server = LiveServer::start(app(WebSocketConfig::default(), Arc::default())).await;
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    raw.send_frame(true, 1, &[b'{', 0xff, 0xfe, b'}']).await;
    assert_eq!(raw.expect_close().await, 1007);
}

#[tokio::test]
async fn frames_that_break_rfc_6455_close_with_1002() {
    let server = LiveServer::start(app(WebSocketConfig::default(), Arc::default())).await;
    let cases: Vec<Vec<u8>> = vec![
        RawClient::encode(true, 1, br#"{"type":"ping"}"#, None), // unmasked
        RawClient::encode(true, 3, b"", Some([1, 1, 1, 1])),     // reserved opcode
        RawClient::encode(true, 0, b"x", Some([1, 1, 1, 1])),    // continuation of nothing
        RawClient::encode(false, 9, b"", Some([1, 1, 1, 1])),    // fragmented ping
        {
            let mut rsv = RawClient::encode(true, 1, b"{}", Some([1, 1, 1, 1]));
            rsv[0] |= 0x40; // compression bit without the extension
            rsv
        },
    ];
    for bytes in cases {
        let mut raw = RawClient::connect(server.addr, "/ws").await;
        raw.send_bytes(&bytes).await;
        assert_eq!(raw.expect_close().await, 1002, "{bytes:?}");
    }
    // Two data messages interleaved.
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    raw.send_frame(false, 1, b"{").await;
    raw.send_frame(true, 1, b"{}").await;
    assert_eq!(raw.expect_close().await, 1002);
}

#[tokio::test]
async fn replies_ready_before_a_protocol_error_go_out_ahead_of_the_1002() {
    let server = LiveServer::start(app(WebSocketConfig::default(), Arc::default())).await;
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    // One write: a ping envelope, then a frame with a reserved opcode, then
    // another ping that must not be read.
    let mut bytes = RawClient::encode(true, 1, br#"{"type":"ping","correlationId":"1"}"#, Some([5, 6, 7, 8]));
    bytes.extend(RawClient::encode(true, 3, b"", Some([1, 1, 1, 1])));
    bytes.extend(RawClient::encode(true, 1, br#"{"type":"ping","correlationId":"2"}"#, Some([5, 6, 7, 8])));
    raw.send_bytes(&bytes).await;
    assert_eq!(raw.recv().await, serde_json::json!({"type": "pong", "data": null, "correlationId": "1"}));
    assert_eq!(
        raw.expect_close().await,
        1002,
        "then the close; the ping after the bad frame is not answered"
    );
}

#[tokio::test]
async fn fragmented_messages_are_reassembled_and_pings_answered_in_between() {
    let server = LiveServer::start(app(WebSocketConfig::default(), Arc::default())).await;
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    raw.send_frame(false, 1, br#"{"type":"pi"#).await;
    raw.send_frame(true, 9, b"beat").await; // a ping between fragments
    raw.send_frame(false, 0, br#"ng","correlationId":"#).await;
    raw.send_frame(true, 0, "\"é\"}".as_bytes()).await;
    let pong = raw.read_frame().await.unwrap();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (10, &b"beat"[..]));
    assert_eq!(raw.recv().await, json!({"type": "pong", "data": null, "correlationId": "é"}));
}

#[tokio::test]
async fn silent_connections_are_pinged_then_closed_with_1000() {
    let config = WebSocketConfig::default().idle_timeout(Duration::from_millis(400));
    let server = LiveServer::start(app(config, Arc::default())).await;
    let mut silent = RawClient::connect(server.addr, "/ws").await;
    let started = tokio::time::Instant::now();
    let ping = silent.read_frame().await.unwrap();
    assert_eq!(ping.opcode, 9, "a ping first: {ping:?}");
    let close = silent.read_frame().await.unwrap();
    assert_eq!((close.close_code(), &close.payload[2..]), (Some(1000), &b"idle timeout"[..]));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(2), "{elapsed:?}");

    // A client that answers pings (tungstenite does when it reads) stays connected,
    // and is served as before once the server has pinged it (and released the
    // buffers of its earlier traffic).
    let mut live = server.connect().await;
    assert_eq!(live.request(json!({"type": "ping", "correlationId": "before"})).await["type"], "pong");
    let reader = tokio::spawn(async move {
        let ws = live.inner();
        let end = tokio::time::Instant::now() + Duration::from_millis(1500);
        while let Ok(Some(frame)) = tokio::time::timeout_at(end, futures_util::StreamExt::next(ws)).await {
            assert!(!matches!(frame, Ok(Message::Close(_))), "closed: {frame:?}");
        }
        live
    });
    let mut live = reader.await.unwrap();
    assert_eq!(live.request(json!({"type": "ping"})).await["type"], "pong");
}

#[tokio::test]
async fn ping_frames_get_pong_frames_with_the_same_payload() {
    let server = LiveServer::start(app(WebSocketConfig::default(), Arc::default())).await;
    let mut raw = RawClient::connect(server.addr, "/ws").await;
    raw.send_frame(true, 9, b"are you there").await;
    let pong = raw.read_frame().await.unwrap();
    assert_eq!(
        pong,
        ori_tests::RawFrame { fin: true, opcode: 10, rsv1: false, payload: b"are you there".to_vec() }
    );
    // An unsolicited pong is fine.
    raw.send_frame(true, 10, b"").await;
    raw.send_frame(true, 1, br#"{"type":"ping"}"#).await;
    assert_eq!(raw.recv().await["type"], "pong");
    let _ = WsClient::connect; // the tungstenite client is used by the other tests
}
