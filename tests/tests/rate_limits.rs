//! Per-connection rate limits (PROTOCOL.md, "Rate limits"), over real
//! sockets: past the limit a message is answered `rate_limited` and not
//! handled; a client that goes on past its burst of refusals is closed with
//! 1008; other connections do not notice.

use std::time::{Duration, Instant};

use ori::{Ori, RateLimit, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::LiveServer;
use serde_json::{Value, json};

async fn echo(_ctx: SocketContext, data: Value) -> Result<Value, SocketError> {
    Ok(data)
}

fn app(limit: Option<RateLimit>) -> Ori {
    let mut config = WebSocketConfig::default();
    if let Some(limit) = limit {
        config = config.rate_limit(limit);
    }
    Ori::create().websocket(config).socket_routes(SocketRoutes::new().route("echo", echo))
}

#[tokio::test]
async fn past_the_rate_messages_are_answered_rate_limited_at_the_configured_rate() {
    let server = LiveServer::start(app(Some(RateLimit::messages(50, 10)))).await;
    let mut c = server.connect().await;
    // 100 messages a second for 2 s: twice the rate.
    let started = Instant::now();
    let (mut handled, mut refused) = (0, 0);
    for n in 0..200u64 {
        let due = started + Duration::from_millis(n * 10);
        tokio::time::sleep_until(due.into()).await;
        let reply = c.request(json!({"type": "echo", "data": n, "correlationId": n.to_string()})).await;
        assert_eq!(reply["correlationId"], n.to_string(), "{reply}");
        match reply["error"]["code"].as_str() {
            None => handled += 1,
            Some("rate_limited") => {
                assert_eq!(reply["type"], "echo", "the refused message's type: {reply}");
                refused += 1;
            }
            Some(other) => panic!("{other}: {reply}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let expected = 10.0 + 50.0 * elapsed;
    assert!(
        (f64::from(handled) - expected).abs() <= expected * 0.1,
        "{handled} handled, {expected:.0} expected"
    );
    assert_eq!(handled + refused, 200);
    c.assert_silent().await;
}

#[tokio::test]
async fn a_flood_is_closed_with_1008_and_a_neighbour_does_not_notice() {
    let server = LiveServer::start(app(Some(RateLimit::messages(20, 5)))).await;
    let mut neighbour = server.connect().await;
    let mut flood = server.connect().await;
    for n in 0..200 {
        flood.send(json!({"type": "echo", "data": n, "correlationId": "f"})).await;
    }
    let (mut handled, mut refused) = (0, 0);
    let (code, reason) = loop {
        match flood.next_event().await {
            ori_tests::Event::Text(text) => {
                let reply: Value = serde_json::from_str(&text).unwrap();
                if reply["error"]["code"] == "rate_limited" { refused += 1 } else { handled += 1 }
            }
            ori_tests::Event::Close(Some(close)) => break close,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((code, reason.as_str()), (1008, "too many requests"));
    assert_eq!((handled, refused), (5, 5), "the burst, then as many refusals, then the close");
    // Within its own limit (20 a second), the neighbour is answered at once.
    for n in 0..10 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let started = Instant::now();
        let reply = neighbour.request(json!({"type": "echo", "data": n, "correlationId": "n"})).await;
        assert_eq!(reply["data"], n);
        assert!(started.elapsed() < Duration::from_secs(1), "the neighbour waited {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn bytes_are_limited_too_and_without_a_limit_nothing_is() {
    let server = LiveServer::start(app(Some(RateLimit::messages(1000, 1000).bytes(2_000, 2_000)))).await;
    let mut c = server.connect().await;
    let big = "x".repeat(900);
    let codes: Vec<Value> = {
        let mut codes = Vec::new();
        for _ in 0..3 {
            let reply = c.request(json!({"type": "echo", "data": big, "correlationId": "b"})).await;
            codes.push(reply["error"]["code"].clone());
        }
        codes
    };
    assert_eq!(codes, [Value::Null, Value::Null, json!("rate_limited")], "2,000 bytes of burst");

    let unlimited = LiveServer::start(app(None)).await;
    let mut c = unlimited.connect().await;
    for n in 0..300 {
        c.send(json!({"type": "echo", "data": n})).await;
    }
    for _ in 0..300 {
        assert!(c.recv().await.get("error").is_none());
    }
}

#[test]
fn the_asyncapi_document_lists_rate_limited_only_with_a_limit() {
    let with = app(Some(RateLimit::messages(1, 1))).describe().asyncapi("t", "1").to_string();
    let without = app(None).describe().asyncapi("t", "1").to_string();
    assert!(with.contains("rate_limited"));
    assert!(!without.contains("rate_limited"));
}

/// Per remote address: concurrent connections and new connections a
/// second; past either, HTTP 429.
#[tokio::test]
async fn one_address_is_refused_with_429_past_its_connections_or_its_rate() {
    let config = WebSocketConfig::default().max_connections_per_ip(2);
    let server = LiveServer::start(Ori::create().allow_no_routers().websocket(config)).await;
    let first = server.connect().await;
    let _second = server.connect().await;
    match ori_tests::WsClient::try_connect(&server.url()).await {
        Err(ori_tests::ConnectError::Status(429)) => {}
        other => panic!("expected HTTP 429, got {other:?}"),
    }
    first.close().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while ori_tests::WsClient::try_connect(&server.url()).await.is_err() {
        assert!(Instant::now() < deadline, "a released slot is given again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let config = WebSocketConfig::default().connection_rate_per_ip(1, 2);
    let server = LiveServer::start(Ori::create().allow_no_routers().websocket(config)).await;
    let (_a, _b) = (server.connect().await, server.connect().await);
    match ori_tests::WsClient::try_connect(&server.url()).await {
        Err(ori_tests::ConnectError::Status(429)) => {}
        other => panic!("expected HTTP 429 past the burst, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(ori_tests::WsClient::try_connect(&server.url()).await.is_ok(), "one more a second");
}
