//! Re-authentication (PROTOCOL.md, "Re-authentication") over real sockets:
//! new credentials change the guards' states; refused ones close with 1008
//! and nothing sent after them is dispatched; a guard's expiry asks the
//! client for new credentials within the grace, or closes; router-scoped
//! access follows the new verdict; the Rust client re-authenticates and
//! reconnects with its new credentials.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ori::client::{Client, Credentials};
use ori::prelude::*;
use ori_tests::{LiveServer, WsClient};
use serde_json::{Value, json};

/// The user a token names. Tokens are `name` (never expire) or
/// `name@unix-ms` (valid until then).
#[derive(Debug, Clone)]
struct User {
    name: String,
    valid_until: Option<SystemTime>,
}

#[connection_guard]
struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = User;

    async fn check(&self, request: &UpgradeRequest) -> Result<User, Reject> {
        let token = request.query("token").unwrap_or_default();
        let (name, valid_until) = match token.split_once('@') {
            Some((name, ms)) => {
                let ms: u64 = ms.parse().map_err(|_| Reject::new("bad token"))?;
                (name, Some(UNIX_EPOCH + Duration::from_millis(ms)))
            }
            None => (token.as_str(), None),
        };
        if name.is_empty() {
            return Err(Reject::new("a token is required"));
        }
        if valid_until.is_some_and(|at| at <= SystemTime::now()) {
            return Err(Reject::new("token expired"));
        }
        Ok(User { name: name.to_owned(), valid_until })
    }

    fn expires_at(&self, user: &User) -> Option<SystemTime> {
        user.valid_until
    }
}

/// Admits names that begin with `admin`, for [`AdminRouter`] only.
#[derive(Debug, Clone)]
struct Admin;

#[connection_guard]
struct AdminGuard;

impl ConnectionGuard for AdminGuard {
    type State = Admin;

    async fn check(&self, request: &UpgradeRequest) -> Result<Admin, Reject> {
        match request.query("token") {
            Some(token) if token.starts_with("admin") => Ok(Admin),
            _ => Err(Reject::new("admins only")),
        }
    }
}

static COUNTED: AtomicUsize = AtomicUsize::new(0);

#[injectable]
struct UserRouter;

#[socket_router(guard = TokenGuard)]
impl UserRouter {
    #[on("whoami")]
    async fn whoami(&self, ctx: SocketContext<User>) -> String {
        ctx.state().name.clone()
    }

    #[on("count")]
    async fn count(&self) -> usize {
        COUNTED.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The nickname a handler set, if any.
    #[on("nickname")]
    async fn nickname(&self, ctx: SocketContext) -> Option<String> {
        ctx.try_state::<Nickname>().map(|n| n.0.clone())
    }

    #[on("nickname.set")]
    async fn set_nickname(&self, ctx: SocketContext, nickname: String) {
        ctx.set_state(Nickname(nickname));
    }
}

#[derive(Debug, Clone)]
struct Nickname(String);

#[injectable]
struct AdminRouter;

#[socket_router(guard = AdminGuard, guard_scope = "router")]
impl AdminRouter {
    #[on("admin.ping")]
    async fn ping(&self, _ctx: SocketContext<Admin>) -> &'static str {
        "admin pong"
    }
}

fn app(grace: Option<Duration>) -> Ori {
    let mut config = WebSocketConfig::default();
    if let Some(grace) = grace {
        config = config.reauthentication(grace);
    }
    Ori::create().only_socket_router::<UserRouter>().only_socket_router::<AdminRouter>().websocket(config)
}

fn token_until(name: &str, from_now: Duration) -> String {
    let at = SystemTime::now() + from_now;
    format!("{name}@{}", at.duration_since(UNIX_EPOCH).unwrap().as_millis())
}

async fn connect(server: &LiveServer, token: &str) -> WsClient {
    WsClient::connect(&format!("{}?token={token}", server.url())).await
}

async fn ask(client: &mut WsClient, message_type: &str) -> Value {
    client.request(json!({"type": message_type, "correlationId": message_type})).await
}

fn reauthenticate(token: &str) -> Value {
    json!({"type": "__reauthenticate", "data": {"query": {"token": token}}, "correlationId": "r"})
}

#[tokio::test]
async fn new_credentials_replace_the_guards_states_and_keep_the_rest() {
    let server = LiveServer::start(app(Some(Duration::from_secs(5)))).await;
    let mut c = connect(&server, "alice").await;
    assert_eq!(ask(&mut c, "whoami").await["data"], "alice");
    c.request(json!({"type": "nickname.set", "data": "al", "correlationId": "n"})).await;
    assert_eq!(ask(&mut c, "admin.ping").await["error"]["code"], "forbidden");

    let ack = c.request(reauthenticate("admin-bob")).await;
    assert_eq!(ack, json!({"type": "__reauthenticate", "data": null, "correlationId": "r"}));
    assert_eq!(ask(&mut c, "whoami").await["data"], "admin-bob", "the guard's new state");
    assert_eq!(ask(&mut c, "nickname").await["data"], "al", "a state a handler set stays");
    assert_eq!(ask(&mut c, "admin.ping").await["data"], "admin pong", "the router-scoped guard admits now");

    let back = c.request(reauthenticate("carol")).await;
    assert_eq!(back["type"], "__reauthenticate");
    assert_eq!(ask(&mut c, "admin.ping").await["error"]["message"], "admins only", "and refuses again");
}

#[tokio::test]
async fn refused_credentials_close_with_1008_and_nothing_after_them_runs() {
    let server = LiveServer::start(app(Some(Duration::from_secs(5)))).await;
    let mut c = connect(&server, "alice").await;
    let before = COUNTED.load(Ordering::SeqCst);
    // In one write: the refused re-authentication, then messages behind it.
    let burst = [
        reauthenticate("").to_string(),
        json!({"type": "count", "correlationId": "1"}).to_string(),
        json!({"type": "count", "correlationId": "2"}).to_string(),
    ];
    for text in &burst {
        c.send_text(text).await;
    }
    assert_eq!(c.expect_close().await, (1008, "a token is required".to_owned()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(COUNTED.load(Ordering::SeqCst), before, "nothing sent after it was dispatched");
}

#[tokio::test]
async fn messages_behind_an_admitted_reauthentication_run_after_it_in_order() {
    let server = LiveServer::start(app(Some(Duration::from_secs(5)))).await;
    let mut c = connect(&server, "alice").await;
    c.send(reauthenticate("dave")).await;
    c.send(json!({"type": "whoami", "correlationId": "w"})).await;
    assert_eq!(c.recv().await["type"], "__reauthenticate", "the acknowledgement first");
    assert_eq!(c.recv().await["data"], "dave", "then what came behind it, with the new state");
}

#[tokio::test]
async fn bad_credentials_are_bad_request_and_off_is_unsupported() {
    let server = LiveServer::start(app(Some(Duration::from_secs(5)))).await;
    let mut c = connect(&server, "alice").await;
    for data in [json!({"query": {"token": 1}}), json!("token"), json!({"cookies": {}})] {
        let reply = c.request(json!({"type": "__reauthenticate", "data": data, "correlationId": "b"})).await;
        assert_eq!(reply["error"]["code"], "bad_request", "{data}: {reply}");
    }
    let header = json!({"headers": {"bad header": "x"}});
    let reply = c.request(json!({"type": "__reauthenticate", "data": header, "correlationId": "h"})).await;
    assert_eq!(reply["error"]["code"], "bad_request", "{reply}");
    assert_eq!(ask(&mut c, "whoami").await["data"], "alice", "the connection stays");

    let off = LiveServer::start(app(None)).await;
    let mut c = connect(&off, "alice").await;
    let reply = c.request(reauthenticate("bob")).await;
    assert_eq!(reply["error"]["code"], "unsupported", "{reply}");
    assert_eq!(ask(&mut c, "whoami").await["data"], "alice");
}

#[tokio::test]
async fn an_expired_verdict_asks_for_new_credentials_within_the_grace() {
    let server = LiveServer::start(app(Some(Duration::from_millis(700)))).await;
    let mut renewing = connect(&server, &token_until("erin", Duration::from_millis(300))).await;
    let mut silent = connect(&server, &token_until("finn", Duration::from_millis(300))).await;

    let ask_again = renewing.recv().await;
    assert_eq!(ask_again, json!({"type": "__reauthenticate", "data": {"reason": "token expired"}}));
    let ack = renewing.request(reauthenticate(&token_until("erin2", Duration::from_secs(60)))).await;
    assert_eq!(ack["type"], "__reauthenticate", "{ack}");
    assert_eq!(ask(&mut renewing, "whoami").await["data"], "erin2");

    assert_eq!(silent.recv().await["type"], "__reauthenticate");
    assert_eq!(silent.expect_close().await, (1008, "credentials expired: token expired".to_owned()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ask(&mut renewing, "whoami").await["data"], "erin2", "the renewed one stays past the grace");
}

#[tokio::test]
async fn without_reauthentication_expired_credentials_close_at_once() {
    let server = LiveServer::start(app(None)).await;
    let mut c = connect(&server, &token_until("gus", Duration::from_millis(200))).await;
    assert_eq!(ask(&mut c, "whoami").await["data"], "gus");
    assert_eq!(c.expect_close().await, (1008, "credentials expired: token expired".to_owned()));
}

#[tokio::test]
async fn the_rust_client_reauthenticates_and_reconnects_with_its_new_credentials() {
    let server = LiveServer::start(app(Some(Duration::from_secs(5)))).await;
    let client = Client::builder(server.url())
        .query("token", "hana")
        .reconnect_delay(Duration::from_millis(50))
        .connect()
        .await
        .unwrap();
    assert_eq!(client.request::<_, String>("whoami", &()).await.unwrap(), "hana");
    client.reauthenticate(Credentials::new().query("token", "admin-ivy")).await.unwrap();
    assert_eq!(client.request::<_, String>("whoami", &()).await.unwrap(), "admin-ivy");
    assert_eq!(client.request::<_, String>("admin.ping", &()).await.unwrap(), "admin pong");

    // The server closes every connection; the client comes back with the new token.
    for connection in server.app.sockets().connections() {
        server.app.sockets().get(connection.id).expect("open").close(4000, "go away");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match client.request::<_, String>("whoami", &()).await {
            Ok(name) if server.app.sockets().connections().len() == 1 => {
                assert_eq!(name, "admin-ivy");
                break;
            }
            _ => assert!(std::time::Instant::now() < deadline, "back within 5 s"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let refused = client.reauthenticate(Credentials::new().query("token", "")).await;
    assert!(refused.is_err(), "{refused:?}");
}
