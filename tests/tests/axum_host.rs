//! ori inside an axum app of the host's own (`Ori::mount`, `Mounted::serve`):
//! the host's routes keep their state and reach ori through it, through
//! `Extension<AppContext>` and through `Provided<T>`; guards see the peer
//! address; the shutdown handle closes every WebSocket with 1001; a host
//! route on ori's path is a start-up error.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Extension;
use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use ori::{
    AppContext, ConnectionGuard, Error, Ori, Provided, Reject, SocketContext, SocketError, SocketRoutes,
    UpgradeRequest, WebSocketConfig,
};
use ori_tests::{Event, WAIT, WsClient, http};
use serde_json::json;

#[derive(Clone)]
struct HostState {
    greeting: String,
    ori: AppContext,
}

impl FromRef<HostState> for AppContext {
    fn from_ref(state: &HostState) -> AppContext {
        state.ori.clone()
    }
}

/// A provider both the sockets and the host's routes use.
#[derive(Default)]
struct Hits(AtomicU64);

struct Unregistered;

/// Admits every connection, remembering its peer address.
struct PeerGuard;

impl ConnectionGuard for PeerGuard {
    type State = SocketAddr;
    async fn check(&self, request: &UpgradeRequest) -> Result<SocketAddr, Reject> {
        request.remote_addr().ok_or_else(|| Reject::new("no peer address"))
    }
}

async fn peer(ctx: SocketContext<SocketAddr>) -> Result<String, SocketError> {
    Ok(ctx.state().to_string())
}

async fn greet(State(state): State<HostState>) -> String {
    state.greeting
}

async fn announce(State(ori): State<AppContext>, body: String) -> &'static str {
    ori.sockets().broadcast(body);
    "sent"
}

async fn announce_by_extension(Extension(ori): Extension<AppContext>, body: String) -> &'static str {
    ori.sockets().broadcast(body);
    "sent"
}

async fn hits(Provided(hits): Provided<Hits>) -> String {
    (hits.0.fetch_add(1, Ordering::Relaxed) + 1).to_string()
}

async fn missing(_: Provided<Unregistered>) -> &'static str {
    "unreachable"
}

fn ori_app() -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .connection_guard(PeerGuard)
        .provide_value(Hits::default())
        .socket_routes(SocketRoutes::named("PeerRoutes").route("peer", peer))
}

fn host(ori: AppContext) -> axum::Router {
    axum::Router::new()
        .route("/greet", get(greet))
        .route("/announce", post(announce))
        .route("/announce-ext", post(announce_by_extension))
        .route("/hits", get(hits))
        .route("/missing", get(missing))
        .with_state(HostState { greeting: "hello from the host".to_owned(), ori })
}

#[tokio::test]
async fn the_host_keeps_its_state_reaches_ori_and_shuts_it_down() {
    let mounted = ori_app().mount().await.expect("ori builds");
    let router = host(mounted.context());
    let shutdown = mounted.shutdown_handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(mounted.serve(listener, router));

    let greeting = http(addr, "GET", "/greet", &[], "").await;
    assert_eq!((greeting.status, greeting.body.as_str()), (200, "hello from the host"));

    let mut client = WsClient::connect(&format!("ws://{addr}/ws")).await;
    let seen = client.request(json!({"type": "peer", "correlationId": "1"})).await;
    let seen: SocketAddr = seen["data"].as_str().expect("the peer address").parse().unwrap();
    assert_eq!(seen.ip(), addr.ip(), "guards see the peer address");

    for path in ["/announce", "/announce-ext"] {
        let sent = http(addr, "POST", path, &[], &format!("from {path}")).await;
        assert_eq!(sent.status, 200, "{path}: {}", sent.body);
        let pushed = client.next_event().await;
        assert!(matches!(&pushed, Event::Text(text) if *text == format!("from {path}")), "{pushed:?}");
    }

    assert_eq!(http(addr, "GET", "/hits", &[], "").await.body, "1");
    assert_eq!(http(addr, "GET", "/hits", &[], "").await.body, "2");
    let missing = http(addr, "GET", "/missing", &[], "").await;
    assert_eq!(missing.status, 500);
    assert!(
        missing.body.contains("axum_host::Unregistered") && missing.body.contains(".provide("),
        "{}",
        missing.body
    );

    shutdown.shutdown();
    assert_eq!(client.expect_close().await.0, 1001);
    let ended = tokio::time::timeout(WAIT, serving).await.expect("serve returns").expect("no panic");
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn a_host_route_on_oris_path_is_a_start_up_error() {
    let mounted = ori_app().mount().await.expect("ori builds");
    let host = axum::Router::new().route("/ws", get(|| async { "the host's own /ws" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = mounted.serve(listener, host).await.expect_err("the paths collide");
    let message = error.to_string();
    assert!(matches!(error, Error::InvalidConfig(_)), "{error:?}");
    assert!(message.contains("/ws") && message.contains("collide"), "{message}");
}

#[tokio::test]
async fn mounting_ori_twice_is_a_start_up_error() {
    let mounted = ori_app().mount().await.expect("ori builds");
    let host = axum::Router::new().merge(mounted.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = mounted.serve(listener, host).await.expect_err("ori is in the host already");
    assert!(matches!(error, Error::InvalidConfig(_)), "{error:?}");
    assert!(error.to_string().contains("mount ori once"), "{error}");
}
