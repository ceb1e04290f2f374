//! PROTOCOL.md "Upgrade": upgrade handler, connection guards, handshake
//! checks, origins, connection limits, the endpoint's path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ori::{
    ConnectionGuard, Ori, Reject, SocketContext, SocketError, SocketRoutes, UpgradeRequest, WebSocketConfig,
};
use ori_tests::{ConnectError, LiveServer, WsClient, http};
use serde_json::json;

#[derive(Debug, Clone)]
struct Token(String);

async fn whoami(ctx: SocketContext<Token>) -> Result<String, SocketError> {
    Ok(ctx.state().0.clone())
}

fn token_app() -> Ori {
    Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default())
        .upgrade_handler(|req: UpgradeRequest| async move {
            req.query("token").filter(|t| !t.is_empty()).map(Token)
        })
        .socket_routes(SocketRoutes::new().route("whoami", whoami))
}

#[tokio::test]
async fn upgrade_handler_none_answers_401_before_any_websocket() {
    let opened = Arc::new(AtomicUsize::new(0));
    let counter = opened.clone();
    let server = LiveServer::start(token_app().on_open(move |_ws: SocketContext<Token>| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }))
    .await;
    for url in [server.url(), format!("{}?token=", server.url()), format!("{}?other=1", server.url())] {
        match WsClient::try_connect(&url).await {
            Err(ConnectError::Status(401)) => {}
            other => panic!("{url}: expected HTTP 401, got {other:?}"),
        }
    }
    assert_eq!(opened.load(Ordering::SeqCst), 0);
    assert_eq!(server.app.sockets().connection_count(), 0);
}

#[tokio::test]
async fn upgrade_data_is_attached_to_the_connection() {
    let server = LiveServer::start(token_app()).await;
    let mut client = WsClient::connect(&format!("{}?token=alice%20smith", server.url())).await;
    let reply = client.request(json!({"type": "whoami", "correlationId": "1"})).await;
    assert_eq!(reply, json!({"type": "whoami", "data": "alice smith", "correlationId": "1"}));
}

/// ori's own server answers the endpoint's path without axum's router, and
/// gives the upgrade request what the router's layers gave it: the peer's
/// address and the app (`Extension<AppContext>`).
#[tokio::test]
async fn the_upgrade_request_carries_the_peer_address_and_the_app() {
    let app = Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default())
        .upgrade_handler(|req: UpgradeRequest| async move {
            let peer = req.remote_addr().map(|addr| addr.ip().to_string()).unwrap_or_default();
            let has_app = req.extensions().get::<ori::AppContext>().is_some();
            Some(Token(format!("{peer} {has_app}")))
        })
        .socket_routes(SocketRoutes::new().route("whoami", whoami));
    let server = LiveServer::start(app).await;
    let mut client = server.connect().await;
    let reply = client.request(json!({"type": "whoami", "correlationId": "1"})).await;
    assert_eq!(reply["data"], "127.0.0.1 true");
}

#[tokio::test]
async fn upgrade_handler_error_timeout_and_panic_answer_500() {
    let failing = Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).upgrade_handler(
        |_req: UpgradeRequest| async move { Err::<Option<Token>, _>("token store unreachable") },
    );
    let server = LiveServer::start(failing).await;
    assert!(matches!(WsClient::try_connect(&server.url()).await, Err(ConnectError::Status(500))));

    let slow = Ori::create()
        .allow_no_routers()
        .websocket(WebSocketConfig::default().upgrade_timeout(Duration::from_millis(100)))
        .upgrade_handler(|_req: UpgradeRequest| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Some(Token("late".into()))
        });
    let server = LiveServer::start(slow).await;
    assert!(matches!(WsClient::try_connect(&server.url()).await, Err(ConnectError::Status(500))));

    let panicking = Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).upgrade_handler(
        |req: UpgradeRequest| async move {
            if req.query("boom").is_some() {
                panic!("upgrade handler bug");
            }
            Some(Token("ok".into()))
        },
    );
    let server = LiveServer::start(panicking).await;
    assert!(matches!(
        WsClient::try_connect(&format!("{}?boom=1", server.url())).await,
        Err(ConnectError::Status(500))
    ));
    // The server survives and serves the next request.
    let mut client = WsClient::connect(&server.url()).await;
    assert_eq!(client.request(json!({"type": "ping"})).await, json!({"type": "pong", "data": null}));
}

#[tokio::test]
async fn handshake_errors_get_http_errors() {
    let server =
        LiveServer::start(Ori::create().allow_no_routers().websocket(WebSocketConfig::default())).await;
    let plain = http(server.addr, "GET", "/ws", &[], "").await;
    assert_eq!(plain.status, 426);
    assert_eq!(plain.header("sec-websocket-version"), Some("13"));
    let upgrade = [("upgrade", "websocket"), ("connection", "upgrade"), ("sec-websocket-version", "13")];
    let no_key = http(server.addr, "GET", "/ws", &upgrade, "").await;
    assert_eq!(no_key.status, 400);
    let mut bad_key = upgrade.to_vec();
    bad_key.push(("sec-websocket-key", "not-base64!"));
    assert_eq!(http(server.addr, "GET", "/ws", &bad_key, "").await.status, 400);
    let mut old_version = upgrade.to_vec();
    old_version[2] = ("sec-websocket-version", "8");
    old_version.push(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="));
    assert_eq!(http(server.addr, "GET", "/ws", &old_version, "").await.status, 426);
}

#[tokio::test]
async fn path_is_configurable() {
    let server = LiveServer::start(Ori::create().allow_no_routers().websocket_at("/realtime")).await;
    let mut client = WsClient::connect(&server.url_at("/realtime")).await;
    assert_eq!(client.request(json!({"type": "ping"})).await["type"], "pong");
    assert!(matches!(WsClient::try_connect(&server.url()).await, Err(ConnectError::Status(404))));
}

#[tokio::test]
async fn origin_allow_list_refuses_other_sites_with_403() {
    let config = WebSocketConfig::default().allowed_origins(["https://app.example.com"]);
    let server = LiveServer::start(Ori::create().allow_no_routers().websocket(config)).await;
    let evil = WsClient::try_connect_request(&server.url(), &[("origin", "https://evil.example")]).await;
    assert!(matches!(evil, Err(ConnectError::Status(403))), "{evil:?}");
    WsClient::try_connect_request(&server.url(), &[("origin", "https://app.example.com")])
        .await
        .expect("allowed origin");
    // Non-browser clients send no Origin and are allowed.
    WsClient::try_connect(&server.url()).await.expect("no origin");
}

#[tokio::test]
async fn max_connections_answers_503_and_frees_slots() {
    let server = LiveServer::start(
        Ori::create().allow_no_routers().websocket(WebSocketConfig::default().max_connections(2)),
    )
    .await;
    let first = server.connect().await;
    let _second = server.connect().await;
    assert!(matches!(WsClient::try_connect(&server.url()).await, Err(ConnectError::Status(503))));
    first.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match WsClient::try_connect(&server.url()).await {
            Ok(_) => break,
            Err(ConnectError::Status(503)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("slot not freed: {other:?}"),
        }
    }
}

#[tokio::test]
async fn socket_ids_are_unique_uuid_v4() {
    let server = LiveServer::start(
        Ori::create().websocket(WebSocketConfig::default()).socket_routes(
            SocketRoutes::new()
                .route("id", |ctx: SocketContext| async move { Ok::<_, SocketError>(ctx.id().to_string()) }),
        ),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let mut client = server.connect().await;
        let id = client.request(json!({"type": "id"})).await["data"].as_str().unwrap().to_owned();
        let uuid: ori::SocketId = id.parse().expect("a UUID");
        assert_eq!(uuid.as_uuid().get_version_num(), 4);
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

// ---- connection guards ----

#[derive(Debug, Clone)]
struct User {
    name: String,
}

#[derive(Debug, Clone)]
struct Role(&'static str);

struct Recording<G> {
    log: Arc<Mutex<Vec<&'static str>>>,
    inner: G,
}

struct UserGuard;
impl ConnectionGuard for UserGuard {
    type State = User;
    async fn check(&self, req: &UpgradeRequest) -> Result<User, Reject> {
        match req.query("user") {
            Some(name) if !name.is_empty() => Ok(User { name }),
            _ => Err(Reject::new("a user is required")),
        }
    }
}

struct RoleGuard;
impl ConnectionGuard for RoleGuard {
    type State = Role;
    async fn check(&self, req: &UpgradeRequest) -> Result<Role, Reject> {
        Ok(if req.query("admin").is_some() { Role("admin") } else { Role("member") })
    }
}

impl<G: ConnectionGuard> ConnectionGuard for Recording<G> {
    type State = G::State;
    async fn check(&self, req: &UpgradeRequest) -> Result<G::State, Reject> {
        self.log.lock().unwrap().push(std::any::type_name::<G>().rsplit("::").next().unwrap());
        self.inner.check(req).await
    }
}

async fn profile(ctx: SocketContext<User>) -> Result<serde_json::Value, SocketError> {
    let role = ctx.try_state::<Role>().map(|r| r.0);
    Ok(json!({"user": ctx.state().name, "role": role}))
}

#[tokio::test]
async fn guards_run_in_order_and_their_states_reach_handlers() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = LiveServer::start(
        Ori::create()
            .websocket(WebSocketConfig::default())
            .connection_guard(Recording { log: log.clone(), inner: UserGuard })
            .connection_guard(Recording { log: log.clone(), inner: RoleGuard })
            .socket_routes(SocketRoutes::new().route("profile", profile)),
    )
    .await;
    let mut client = WsClient::connect(&format!("{}?user=ann&admin", server.url())).await;
    let reply = client.request(json!({"type": "profile"})).await;
    assert_eq!(reply["data"], json!({"user": "ann", "role": "admin"}));
    assert_eq!(*log.lock().unwrap(), ["UserGuard", "RoleGuard"]);

    // The first refusal closes with 1008; later guards do not run.
    log.lock().unwrap().clear();
    let mut refused = WsClient::connect(&server.url()).await;
    assert_eq!(refused.expect_close().await, (1008, "a user is required".to_owned()));
    assert_eq!(*log.lock().unwrap(), ["UserGuard"]);
}

struct FailingGuard;
impl ConnectionGuard for FailingGuard {
    type State = ();
    async fn check(&self, req: &UpgradeRequest) -> Result<(), Reject> {
        match req.query("mode").as_deref() {
            Some("error") => Err(Reject::error(std::io::Error::other("session store down"))),
            Some("panic") => panic!("guard bug"),
            Some("slow") => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn failing_panicking_and_slow_guards_close_with_1008() {
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = closed.clone();
    let server = LiveServer::start(
        Ori::create()
            .allow_no_routers()
            .websocket(WebSocketConfig::default().guard_timeout(Duration::from_millis(200)))
            .connection_guard(FailingGuard)
            .on_close(move |_ws: SocketContext, _info| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }),
    )
    .await;
    for (mode, reason) in [("error", "guard failed"), ("panic", "guard failed"), ("slow", "guard timed out")]
    {
        let mut client = WsClient::connect(&format!("{}?mode={mode}", server.url())).await;
        assert_eq!(client.expect_close().await, (1008, reason.to_owned()), "mode {mode}");
    }
    let mut fine = WsClient::connect(&server.url()).await;
    assert_eq!(fine.request(json!({"type": "ping"})).await["type"], "pong");
    // Refused connections never opened, so no close handler ran for them.
    assert_eq!(closed.load(Ordering::SeqCst), 0);
}

struct SlowUserGuard;
impl ConnectionGuard for SlowUserGuard {
    type State = User;
    async fn check(&self, _req: &UpgradeRequest) -> Result<User, Reject> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(User { name: "late".into() })
    }
}

#[tokio::test]
async fn messages_sent_during_the_guards_wait_for_their_state() {
    let server = LiveServer::start(
        Ori::create()
            .websocket(WebSocketConfig::default())
            .connection_guard(SlowUserGuard)
            .socket_routes(SocketRoutes::new().route("profile", profile)),
    )
    .await;
    let mut client = server.connect().await;
    // Sent at once, while the guard still runs.
    client.send(json!({"type": "profile", "correlationId": "early"})).await;
    let reply = client.recv().await;
    assert_eq!(
        reply,
        json!({"type": "profile", "data": {"user": "late", "role": null}, "correlationId": "early"})
    );
}
