//! HTTP routes next to the WebSocket endpoint, and `into_router` for apps
//! that serve axum themselves.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::routing::{get, post};
use axum::{Extension, Router};
use ori::{AppContext, Ori, SocketContext, SocketRoutes, WebSocketConfig};
use ori_tests::{LiveServer, WsClient, http};
use serde_json::json;

async fn publish(State(ctx): State<AppContext>, Path(topic): Path<String>, body: String) -> String {
    match ctx.sockets().publish(&topic, body) {
        Ok(()) => format!("{} subscribers", ctx.sockets().subscriber_count(&topic)),
        Err(e) => e.to_string(),
    }
}

async fn count(Extension(ctx): Extension<AppContext>) -> String {
    ctx.sockets().connection_count().to_string()
}

async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
    addr.ip().to_string()
}

fn routes() -> Router<AppContext> {
    Router::new()
        .route("/publish/{topic}", post(publish))
        .route("/count", get(count))
        .route("/peer", get(peer))
}

#[tokio::test]
async fn http_routes_share_the_port_and_reach_the_app_context() {
    let server = LiveServer::start(
        Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).routes(routes()),
    )
    .await;
    let mut c = server.connect().await;
    c.subscribe("monitor:1").await;
    let response =
        http(server.addr, "POST", "/publish/monitor:1", &[], r#"{"type":"monitor.up","data":1}"#).await;
    assert_eq!((response.status, response.body.as_str()), (200, "1 subscribers"));
    assert_eq!(c.recv().await, json!({"type": "monitor.up", "data": 1}));
    assert_eq!(http(server.addr, "GET", "/count", &[], "").await.body, "1");
    assert_eq!(http(server.addr, "GET", "/peer", &[], "").await.body, "127.0.0.1");
    assert_eq!(http(server.addr, "GET", "/nothing-here", &[], "").await.status, 404);
    let invalid = http(server.addr, "POST", "/publish/bad%20topic", &[], "{}").await;
    assert!(invalid.body.starts_with("invalid topic"), "{}", invalid.body);
}

#[tokio::test]
async fn into_router_merges_into_an_axum_app() {
    let ori = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(
            SocketRoutes::new()
                .route("hello", |_ctx: SocketContext| async { Ok::<_, ori::SocketError>("world") }),
        )
        .into_router()
        .await
        .expect("builds");
    let app = Router::new().route("/health", get(|| async { "ok" })).merge(ori);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    assert_eq!(http(addr, "GET", "/health", &[], "").await.body, "ok");
    let mut c = WsClient::connect(&format!("ws://{addr}/ws")).await;
    assert_eq!(c.request(json!({"type": "hello", "correlationId": "1"})).await["data"], "world");
    c.subscribe("t").await;
}

#[tokio::test]
async fn an_upgrade_to_a_wrong_path_is_told_where_the_endpoint_is() {
    let app = Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default())
        .routes(routes().route("/own-upgrade", get(|| async { "the app's own" })));
    let server = LiveServer::start(app).await;
    let upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let missed = http(server.addr, "GET", "/websocket", &upgrade, "").await;
    assert_eq!(missed.status, 404);
    assert_eq!(missed.body, "no WebSocket endpoint at /websocket: this server's is at /ws\n");
    // A plain request to a wrong path stays the app's empty 404; the app's own routes answer as they do.
    let plain = http(server.addr, "GET", "/websocket", &[], "").await;
    assert_eq!((plain.status, plain.body.as_str()), (404, ""));
    let own = http(server.addr, "GET", "/own-upgrade", &upgrade, "").await;
    assert_eq!((own.status, own.body.as_str()), (200, "the app's own"));
    // ori's client says where to look.
    let url = format!("ws://{}/websocket", server.addr);
    let refused = ori::client::Client::builder(url).connect().await.expect_err("no endpoint there");
    assert_eq!(refused, ori::client::ClientError::Refused { status: 404 });
    assert!(
        refused.to_string().contains("no WebSocket endpoint at this path (an ori server's is at /ws"),
        "{refused}"
    );
    // The endpoint itself still upgrades.
    let mut c = server.connect().await;
    assert_eq!(c.request(json!({"type": "ping", "correlationId": "p"})).await["type"], "pong");
}
