//! Subprotocol negotiation (`Sec-WebSocket-Protocol`) over real sockets: the
//! server names the client's first supported choice in the 101, refuses a
//! list of only unknown names with HTTP 400, and hands the choice to the
//! upgrade handler, connection guards and handlers.

use ori::{
    ConnectionGuard, Ori, RawMessage, RawWebSocket, Reject, SocketContext, SocketError, SocketRoutes,
    UpgradeRequest, WebSocketConfig,
};
use ori_tests::{Event, LiveServer, WsClient, http};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Connects asking for `protocols`; returns the 101's `Sec-WebSocket-Protocol`
/// and the client, or the refusal's status.
async fn connect(url: &str, protocols: &str) -> Result<(Option<String>, WsClient), u16> {
    let mut request = url.into_client_request().unwrap();
    if !protocols.is_empty() {
        request.headers_mut().insert("sec-websocket-protocol", protocols.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, response)) => {
            let chosen =
                response.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned());
            Ok((chosen, WsClient::from_stream(ws)))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

#[derive(Debug)]
struct Seen(String);

struct SubprotocolGuard;

impl ConnectionGuard for SubprotocolGuard {
    type State = Seen;
    async fn check(&self, request: &UpgradeRequest) -> Result<Seen, Reject> {
        Ok(Seen(request.subprotocol().unwrap_or("none").to_owned()))
    }
}

async fn which(ctx: SocketContext<Seen>) -> Result<serde_json::Value, SocketError> {
    Ok(json!({"guard": ctx.state().0, "handler": ctx.subprotocol()}))
}

fn app() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default().subprotocols(["chat.v2"]))
        .connection_guard(SubprotocolGuard)
        .socket_routes(SocketRoutes::new().route("which", which))
}

#[tokio::test]
async fn the_clients_first_supported_choice_is_named_and_reaches_guards_and_handlers() {
    let server = LiveServer::start(app()).await;

    let (chosen, mut c) = connect(&server.url(), "").await.unwrap();
    assert_eq!(chosen, None, "no header asked, none named: JSON envelopes as in v1");
    assert_eq!(c.request(json!({"type": "which"})).await["data"], json!({"guard": "none", "handler": null}));

    let (chosen, mut c) = connect(&server.url(), "mqtt, ori.v1.json, chat.v2").await.unwrap();
    assert_eq!(chosen.as_deref(), Some("ori.v1.json"));
    assert_eq!(
        c.request(json!({"type": "which"})).await["data"],
        json!({"guard": "ori.v1.json", "handler": "ori.v1.json"})
    );

    let (chosen, mut c) = connect(&server.url(), "chat.v2").await.unwrap();
    assert_eq!(chosen.as_deref(), Some("chat.v2"), "the app's own name, on the envelope endpoint");
    assert_eq!(c.request(json!({"type": "which"})).await["data"]["handler"], "chat.v2");
}

#[tokio::test]
async fn only_unknown_subprotocols_get_400_naming_the_supported_ones() {
    let server = LiveServer::start(app()).await;
    assert_eq!(connect(&server.url(), "mqtt, wamp").await.err(), Some(400));
    let upgrade = [
        ("upgrade", "websocket"),
        ("connection", "upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-protocol", "mqtt"),
    ];
    let refused = http(server.addr, "GET", "/ws", &upgrade, "").await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        "unsupported subprotocol; this endpoint speaks: ori.v1.json, ori.v1.msgpack, chat.v2"
    );
}

#[tokio::test]
async fn raw_endpoints_speak_only_the_subprotocols_they_name() {
    let app = Ori::create()
        .raw_websocket(
            RawWebSocket::new(WebSocketConfig::default().path("/echo").subprotocols(["echo.v1"])).on_message(
                |ctx: SocketContext, _: RawMessage| async move {
                    RawMessage::from(ctx.subprotocol().unwrap_or("none"))
                },
            ),
        )
        .raw_websocket(
            RawWebSocket::at("/plain").on_message(|_: SocketContext, m: RawMessage| async move { m }),
        );
    let server = LiveServer::start(app).await;
    let (chosen, mut c) = connect(&server.url_at("/echo"), "echo.v1").await.unwrap();
    assert_eq!(chosen.as_deref(), Some("echo.v1"));
    c.send_text("which?").await;
    assert_eq!(c.next_event().await, Event::Text("echo.v1".to_owned()));
    assert_eq!(connect(&server.url_at("/echo"), "ori.v1.json").await.err(), Some(400), "no envelopes here");
    assert_eq!(connect(&server.url_at("/plain"), "echo.v1").await.err(), Some(400));
    assert!(connect(&server.url_at("/plain"), "").await.is_ok());
}

#[tokio::test]
async fn invalid_subprotocol_names_stop_start_up() {
    let app = Ori::create().websocket(WebSocketConfig::default().subprotocols(["two words"]));
    let error = ori::testing::TestServer::start(app).await.unwrap_err().to_string();
    assert!(error.contains("subprotocol `two words` is not a valid name"), "{error}");
}
