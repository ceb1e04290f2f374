//! permessage-deflate (RFC 7692) over real sockets: negotiation, compressed
//! messages both ways, publishes to compressing and plain subscribers,
//! MessagePack and compression on one connection,
//! corrupt streams (1007) and zip bombs (1009 with bounded memory).

use flate2::{Compress, Compression as Level, Decompress, FlushCompress, FlushDecompress};
use ori::{Compression, Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::{LiveServer, RawClient};
use serde_json::{Value, json};

const OFFER: (&str, &str) = ("sec-websocket-extensions", "permessage-deflate; client_max_window_bits");
const AGREED: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

async fn echo(_ctx: SocketContext, data: Value) -> Result<Value, SocketError> {
    Ok(data)
}

async fn shout(ctx: SocketContext, data: Value) -> Result<(), SocketError> {
    ctx.sockets().publish("room", &json!({"type": "room.message", "data": data})).map_err(Into::into)
}

fn app(config: WebSocketConfig) -> Ori {
    Ori::create()
        .websocket(config)
        .socket_routes(SocketRoutes::new().route("test.echo", echo).route("test.shout", shout))
}

fn compressing() -> WebSocketConfig {
    WebSocketConfig::default().compression(Compression::default())
}

/// A message compressed as a client does: raw deflate, sync flush, tail removed.
fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Level::fast(), false);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    compressor.compress_vec(bytes, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn inflate(bytes: &[u8]) -> Vec<u8> {
    let mut input = bytes.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(bytes.len() * 20 + 1024);
    Decompress::new(false).decompress_vec(&input, &mut out, FlushDecompress::Sync).unwrap();
    out
}

/// Sends a masked frame with RSV1 set.
async fn send_compressed(client: &mut RawClient, opcode: u8, payload: &[u8]) {
    let mut frame = RawClient::encode(true, opcode, payload, Some([3, 1, 4, 1]));
    frame[0] |= 0x40;
    client.send_bytes(&frame).await;
}

/// The payload of the next frame with `opcode` (pings and pongs skipped),
/// inflated if compressed; and whether it was.
async fn recv_payload(client: &mut RawClient, opcode: u8) -> (Vec<u8>, bool) {
    loop {
        let frame = client.read_frame().await.expect("a frame");
        if frame.opcode == opcode {
            let payload = if frame.rsv1 { inflate(&frame.payload) } else { frame.payload };
            return (payload, frame.rsv1);
        }
        assert!(frame.opcode == 9 || frame.opcode == 10, "unexpected {frame:?}");
    }
}

/// The next text frame as JSON; and whether it was compressed.
async fn recv(client: &mut RawClient) -> (Value, bool) {
    let (payload, compressed) = recv_payload(client, 1).await;
    (serde_json::from_slice(&payload).expect("JSON"), compressed)
}

fn extension(headers: &[(String, String)]) -> Option<&str> {
    headers.iter().find(|(n, _)| n == "sec-websocket-extensions").map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn negotiated_only_when_configured_and_offered_with_valid_parameters() {
    let plain = LiveServer::start(app(WebSocketConfig::default())).await;
    let (mut c, headers) = RawClient::connect_with(plain.addr, "/ws", &[OFFER]).await;
    assert_eq!(extension(&headers), None, "compression is off by default");
    send_compressed(&mut c, 1, &deflate(br#"{"type":"ping"}"#)).await;
    assert_eq!(c.expect_close().await, 1002, "RSV1 without the extension");

    let server = LiveServer::start(app(compressing())).await;
    let (_, headers) = RawClient::connect_with(server.addr, "/ws", &[OFFER]).await;
    assert_eq!(extension(&headers), Some(AGREED));
    let (_, headers) = RawClient::connect_with(server.addr, "/ws", &[]).await;
    assert_eq!(extension(&headers), None, "not offered");
    for (offer, agreed) in [
        (
            "permessage-deflate; server_max_window_bits=10",
            Some(format!("{AGREED}; server_max_window_bits=10")),
        ),
        ("permessage-deflate; server_max_window_bits=99", None),
        ("permessage-deflate; no_such_parameter", None),
        ("permessage-deflate; client_max_window_bits=\"x\"", None),
        ("permessage-deflate;;;, x-unknown; a=b", None),
        ("x-webkit-deflate-frame, permessage-deflate", Some(AGREED.to_owned())),
    ] {
        let (mut c, headers) =
            RawClient::connect_with(server.addr, "/ws", &[("sec-websocket-extensions", offer)]).await;
        assert_eq!(extension(&headers), agreed.as_deref(), "{offer}");
        c.send_frame(true, 1, br#"{"type":"ping"}"#).await;
        assert_eq!(recv(&mut c).await.0["type"], "pong", "{offer}: the connection works either way");
    }
}

#[tokio::test]
async fn compressed_messages_both_ways_and_small_replies_uncompressed() {
    let server = LiveServer::start(app(compressing())).await;
    let (mut c, _) = RawClient::connect_with(server.addr, "/ws", &[OFFER]).await;
    let big = json!({"type": "test.echo", "data": {"text": "hello ".repeat(200)}, "correlationId": "1"});
    send_compressed(&mut c, 1, &deflate(big.to_string().as_bytes())).await;
    let (reply, compressed) = recv(&mut c).await;
    assert_eq!(reply["data"], big["data"]);
    assert!(compressed, "a reply over the threshold is compressed");

    send_compressed(&mut c, 1, &deflate(br#"{"type":"ping"}"#)).await;
    assert_eq!(recv(&mut c).await, (json!({"type": "pong", "data": null}), false), "under the threshold");

    // An uncompressed message on a compressing connection is fine too.
    c.send_frame(true, 1, br#"{"type":"ping","correlationId":"u"}"#).await;
    assert_eq!(recv(&mut c).await.0["correlationId"], "u");

    // A compressed message in two fragments (RSV1 on the first only).
    let packed = deflate(big.to_string().as_bytes());
    let (first, rest) = packed.split_at(packed.len() / 2);
    let mut frame = RawClient::encode(false, 1, first, Some([9, 9, 9, 9]));
    frame[0] |= 0x40;
    c.send_bytes(&frame).await;
    c.send_frame(true, 0, rest).await;
    assert_eq!(recv(&mut c).await.0["data"], big["data"]);
}

#[tokio::test]
async fn a_publish_reaches_compressing_and_plain_subscribers() {
    let server = LiveServer::start(app(compressing())).await;
    let (mut deflating, _) = RawClient::connect_with(server.addr, "/ws", &[OFFER]).await;
    let (mut plain, _) = RawClient::connect_with(server.addr, "/ws", &[]).await;
    for c in [&mut deflating, &mut plain] {
        c.send_frame(true, 1, br#"{"type":"subscribe","data":{"topic":"room"}}"#).await;
        assert_eq!(recv(c).await.0["type"], "subscribe");
    }
    let text = "lorem ipsum dolor sit amet ".repeat(80);
    plain.send_frame(true, 1, json!({"type": "test.shout", "data": text}).to_string().as_bytes()).await;
    let expected = json!({"type": "room.message", "data": text});
    assert_eq!(recv(&mut deflating).await, (expected.clone(), true));
    assert_eq!(recv(&mut plain).await, (expected, false));
}

#[tokio::test]
async fn a_corrupt_stream_closes_with_1007() {
    let server = LiveServer::start(app(compressing())).await;
    let (mut c, _) = RawClient::connect_with(server.addr, "/ws", &[OFFER]).await;
    send_compressed(&mut c, 1, &[0xff, 0xff, 0xff, 0xff, 0x00]).await;
    assert_eq!(c.expect_close().await, 1007);
    assert!(c.reaches_eof().await);
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_zip_bomb_closes_with_1009_after_the_limits_worth_of_memory() {
    // 512 MiB of zeros in about half a MiB: under the 1 MiB limit compressed.
    let limit = 1 << 20;
    let mut compressor = Compress::new(Level::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut bomb = Vec::with_capacity(1 << 20);
    for _ in 0..512 {
        bomb.reserve(4096);
        compressor.compress_vec(&zeros, &mut bomb, FlushCompress::None).unwrap();
        assert_eq!(compressor.total_in() % (1 << 20), 0, "all input taken");
    }
    compressor.compress_vec(&[], &mut bomb, FlushCompress::Sync).unwrap();
    bomb.truncate(bomb.len() - 4);
    assert!(bomb.len() < limit, "{} bytes", bomb.len());
    drop(zeros);

    let server = LiveServer::start(app(compressing().max_message_size(limit))).await;
    let (mut c, _) = RawClient::connect_with(server.addr, "/ws", &[OFFER]).await;
    let before = peak_rss_kib();
    send_compressed(&mut c, 1, &bomb).await;
    assert_eq!(c.expect_close().await, 1009);
    let grew = peak_rss_kib().saturating_sub(before);
    assert!(grew < 64 * 1024, "peak RSS grew by {grew} KiB inflating a 512 MiB bomb");
}

/// The next binary frame, as the JSON its MessagePack payload holds; and
/// whether it was compressed.
async fn recv_packed(client: &mut RawClient) -> (Value, bool) {
    let (payload, compressed) = recv_payload(client, 2).await;
    (rmp_serde::from_slice(&payload).expect("MessagePack"), compressed)
}

/// A connection with both MessagePack and compression: its replies and the
/// publishes it receives are transcoded, then compressed when over the
/// threshold (one encoder for both, `Encoding::encode`).
#[tokio::test]
async fn messagepack_and_compression_together_for_replies_and_publishes() {
    let server = LiveServer::start(app(compressing())).await;
    let protocol = ("sec-websocket-protocol", "ori.v1.msgpack");
    let (mut c, headers) = RawClient::connect_with(server.addr, "/ws", &[OFFER, protocol]).await;
    assert_eq!(extension(&headers), Some(AGREED));
    let (mut plain, _) = RawClient::connect_with(server.addr, "/ws", &[]).await;

    let big = json!({"type": "test.echo", "data": {"text": "hello ".repeat(200)}, "correlationId": "1"});
    c.send_frame(true, 1, big.to_string().as_bytes()).await;
    let (reply, compressed) = recv_packed(&mut c).await;
    assert_eq!((&reply["data"], &reply["correlationId"]), (&big["data"], &big["correlationId"]));
    assert!(compressed, "a reply over the threshold is transcoded, then compressed");
    c.send_frame(true, 1, br#"{"type":"ping","correlationId":"p"}"#).await;
    let pong = json!({"type": "pong", "data": null, "correlationId": "p"});
    assert_eq!(recv_packed(&mut c).await, (pong, false), "under the threshold: transcoded only");

    c.send_frame(true, 1, br#"{"type":"subscribe","data":{"topic":"room"},"correlationId":"s"}"#).await;
    assert_eq!(recv_packed(&mut c).await.0["type"], "subscribe");
    let text = "lorem ipsum dolor sit amet ".repeat(80);
    plain.send_frame(true, 1, json!({"type": "test.shout", "data": text}).to_string().as_bytes()).await;
    assert_eq!(recv_packed(&mut c).await, (json!({"type": "room.message", "data": text}), true));
}
