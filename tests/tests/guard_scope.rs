//! Guard scope over real sockets: a public router beside a router whose
//! guard decides its own routes only (`guard_scope = "router"`), with and
//! without an admin token; the default scope unchanged (a refusal closes
//! with 1008); and what `describe()`, AsyncAPI and the start-up lines say of
//! each. Also: a state a handler replaces is what the next message sees.

use ori::prelude::*;
use ori_tests::LiveServer;
use serde_json::{Value, json};

// The benchmark server's admin guard (tokens that begin with `admin`), as it ships.
#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/bench_server/app.rs"]
mod bench;

use bench::{Admin, AdminGuard};

/// Every connection must have a token (the default scope).
#[derive(Debug, Clone)]
struct User {
    name: String,
}

#[connection_guard]
struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = User;

    async fn check(&self, request: &UpgradeRequest) -> Result<User, Reject> {
        match request.query("token") {
            Some(name) if !name.is_empty() => Ok(User { name }),
            _ => Err(Reject::new("a token is required")),
        }
    }
}

/// Public: no guard.
#[injectable]
struct StatusRouter;

/// A nickname a handler sets and the next message reads.
#[derive(Debug, Clone)]
struct Nickname(String);

#[socket_router]
impl StatusRouter {
    #[on("status.get")]
    async fn get(&self) -> &'static str {
        "up"
    }

    #[on("status.nick.set")]
    async fn set_nick(&self, ctx: SocketContext, nick: String) {
        ctx.set_state(Nickname(nick));
    }

    #[on("status.nick.get")]
    async fn nick(&self, ctx: SocketContext) -> Option<String> {
        ctx.try_state::<Nickname>().map(|n| n.0.clone())
    }
}

/// Guarded for its own routes only.
#[injectable]
struct AdminRouter;

#[socket_router(guard = AdminGuard, guard_scope = "router")]
impl AdminRouter {
    #[on("admin.echo")]
    async fn echo(&self, ctx: SocketContext<Admin>, data: Value) -> Value {
        json!({"token": ctx.state().token, "data": data})
    }

    /// Counts in the admin's state: each call sees the last one's change.
    #[on("admin.count")]
    async fn count(&self, mut ctx: SocketContext<Admin>) -> String {
        let next = format!("{}+", ctx.state().token);
        ctx.replace_state(Admin { token: next.clone() });
        assert_eq!(ctx.state().token, next, "the context sees what it set");
        next
    }
}

/// Guarded for every connection (the default scope).
#[injectable]
struct MemberRouter;

#[socket_router(guard = TokenGuard)]
impl MemberRouter {
    #[on("member.whoami")]
    async fn whoami(&self, ctx: SocketContext<User>) -> String {
        ctx.state().name.clone()
    }
}

fn side_by_side() -> Ori {
    Ori::create()
        .only_socket_router::<StatusRouter>()
        .only_socket_router::<AdminRouter>()
        .websocket(WebSocketConfig::default())
}

async fn ask(client: &mut ori_tests::WsClient, message_type: &str, data: Value) -> Value {
    client.request(json!({"type": message_type, "data": data, "correlationId": "c"})).await
}

#[tokio::test]
async fn a_router_scoped_guard_answers_forbidden_on_its_routes_and_leaves_the_rest() {
    let server = LiveServer::start(side_by_side()).await;

    let mut public = ori_tests::WsClient::connect(&format!("{}?token=guest", server.url())).await;
    let refused = ask(&mut public, "admin.echo", json!(1)).await;
    assert_eq!(
        refused,
        json!({"type": "admin.echo", "error": {"code": "forbidden", "message": "admin token required"}, "correlationId": "c"})
    );
    assert_eq!(ask(&mut public, "status.get", Value::Null).await["data"], "up", "the connection stays");
    public.subscribe("room:1").await;
    assert_eq!(ask(&mut public, "admin.count", Value::Null).await["error"]["code"], "forbidden");

    let mut anonymous = server.connect().await;
    assert_eq!(ask(&mut anonymous, "status.get", Value::Null).await["data"], "up", "no token at all: public");
    assert_eq!(ask(&mut anonymous, "admin.echo", json!(2)).await["error"]["code"], "forbidden");

    let mut admin = ori_tests::WsClient::connect(&format!("{}?token=admin-7", server.url())).await;
    assert_eq!(ask(&mut admin, "admin.echo", json!(3)).await["data"], json!({"token": "admin-7", "data": 3}));
    assert_eq!(ask(&mut admin, "status.get", Value::Null).await["data"], "up");
}

#[tokio::test]
async fn a_state_a_handler_replaces_is_what_the_next_message_sees() {
    let server = LiveServer::start(side_by_side()).await;
    let mut admin = ori_tests::WsClient::connect(&format!("{}?token=admin", server.url())).await;
    assert_eq!(ask(&mut admin, "admin.count", Value::Null).await["data"], "admin+");
    assert_eq!(ask(&mut admin, "admin.count", Value::Null).await["data"], "admin++");
    assert_eq!(ask(&mut admin, "admin.echo", Value::Null).await["data"]["token"], "admin++");

    assert_eq!(ask(&mut admin, "status.nick.get", Value::Null).await["data"], Value::Null);
    assert_eq!(ask(&mut admin, "status.nick.set", json!("ada")).await["data"], Value::Null);
    assert_eq!(ask(&mut admin, "status.nick.get", Value::Null).await["data"], "ada");

    let mut other = ori_tests::WsClient::connect(&format!("{}?token=admin", server.url())).await;
    assert_eq!(ask(&mut other, "status.nick.get", Value::Null).await["data"], Value::Null, "per connection");
    assert_eq!(ask(&mut other, "admin.count", Value::Null).await["data"], "admin+");
}

#[tokio::test]
async fn the_default_scope_still_closes_a_refused_connection_with_1008() {
    let app = side_by_side().only_socket_router::<MemberRouter>();
    let server = LiveServer::start(app).await;
    let mut refused = server.connect().await;
    assert_eq!(refused.expect_close().await, (1008, "a token is required".to_owned()));

    // A connection guard of another router guards the public router too: that is the default.
    let mut member = ori_tests::WsClient::connect(&format!("{}?token=bob", server.url())).await;
    assert_eq!(ask(&mut member, "member.whoami", Value::Null).await["data"], "bob");
    assert_eq!(ask(&mut member, "status.get", Value::Null).await["data"], "up");
    assert_eq!(ask(&mut member, "admin.echo", Value::Null).await["error"]["code"], "forbidden");
}

#[test]
fn descriptions_say_what_the_server_enforces() {
    let description = side_by_side().only_socket_router::<MemberRouter>().describe();
    assert_eq!(description.connection_guards, ["TokenGuard"]);
    let route = |t: &str| description.routes.iter().find(|r| r.message_type == t).unwrap();
    // TokenGuard is MemberRouter's, yet every connection must pass it: every route says so.
    for message_type in ["status.get", "member.whoami", "admin.echo"] {
        assert_eq!(route(message_type).connection_guards, ["TokenGuard"], "{message_type}");
    }
    assert_eq!(route("admin.echo").router_guards, ["AdminGuard"]);
    assert!(route("admin.echo").errors.contains(&"forbidden".to_owned()));
    assert!(route("status.get").router_guards.is_empty());
    assert!(!route("status.get").errors.contains(&"forbidden".to_owned()));

    let asyncapi = description.asyncapi("Scopes", "1");
    let guards = |id: &str| asyncapi["operations"][id]["x-ori-guards"].clone();
    assert_eq!(guards("admin.echo"), json!({"connection": ["TokenGuard"], "router": ["AdminGuard"]}));
    assert_eq!(guards("status.get"), json!({"connection": ["TokenGuard"]}));

    let ts = description.typescript(&ori::describe::typescript::Options::default());
    assert!(ts.contains("Every connection must pass `TokenGuard` (run once, at connect)"), "{ts}");
    assert!(ts.contains("Only for connections that `AdminGuard` admitted at connect"), "{ts}");

    let public = side_by_side().describe();
    assert!(public.connection_guards.is_empty());
    assert!(route("status.get").router_guards.is_empty());
}

/// What the server said at start-up (INFO, through the global subscriber
/// this test binary installs).
#[derive(Clone, Default)]
struct Said(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Said {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_start_up_lines_name_each_guard_in_its_scope() {
    let said = Said::default();
    let writer = said.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber of this binary");
    let _server = LiveServer::start(side_by_side().only_socket_router::<MemberRouter>()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let lines = loop {
        let lines = String::from_utf8(said.0.lock().unwrap().clone()).unwrap();
        if lines.contains("listening on") || std::time::Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert!(
        lines.contains("connection guards (every connection; a refusal closes it with 1008): TokenGuard"),
        "{lines}"
    );
    assert!(
        lines.contains(
            "router AdminRouter (router guard AdminGuard; a refusal answers forbidden): admin.echo"
        ),
        "{lines}"
    );
    assert!(lines.contains("router MemberRouter: member.whoami"), "{lines}");
    assert!(lines.contains("router StatusRouter: status.get"), "{lines}");
    assert!(lines.contains("pub/sub: in process (this instance only)"), "{lines}");
}
