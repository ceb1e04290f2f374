//! Start-up: providers built in dependency order, overrides, and every
//! start-up error (named types, before the port is bound).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ori::{
    AppContext, ConnectionGuard, Error, Ori, Reject, SocketContext, SocketError, SocketRoutes,
    UpgradeRequest, WebSocketConfig,
};
use ori_tests::LiveServer;
use serde_json::json;

trait Store: Send + Sync {
    fn name(&self) -> &'static str;
}

struct Postgres;
impl Store for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
}

struct InMemory;
impl Store for InMemory {
    fn name(&self) -> &'static str {
        "in-memory"
    }
}

struct Database(Box<dyn Store>);

struct PresenceService {
    db: Arc<Database>,
    ctx: AppContext,
    built: Arc<AtomicUsize>,
}

struct Config {
    greeting: &'static str,
}

async fn presence(ctx: SocketContext) -> Result<serde_json::Value, SocketError> {
    let service = ctx.app().get::<PresenceService>().ok_or_else(SocketError::internal)?;
    let greeting = ctx.app().get::<Config>().unwrap().greeting;
    Ok(json!({
        "store": service.db.0.name(),
        "greeting": greeting,
        "online": service.ctx.sockets().connection_count(),
        "built": service.built.load(Ordering::SeqCst),
    }))
}

fn app(built: Arc<AtomicUsize>) -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::new().route("presence.summary", presence))
        // Registered before its dependencies: the container orders the build.
        .provide(move |db: Arc<Database>, ctx: AppContext| {
            built.fetch_add(1, Ordering::SeqCst);
            PresenceService { db, ctx, built: built.clone() }
        })
        .provide(|| Database(Box::new(Postgres)))
        .provide_value(Config { greeting: "hello" })
}

#[tokio::test]
async fn providers_are_built_once_in_dependency_order() {
    let built = Arc::new(AtomicUsize::new(0));
    let server = LiveServer::start(app(built.clone())).await;
    let mut c = server.connect().await;
    let reply = c.request(json!({"type": "presence.summary"})).await;
    assert_eq!(reply["data"], json!({"store": "postgres", "greeting": "hello", "online": 1, "built": 1}));
    assert!(server.app.get::<PresenceService>().is_some());
    assert!(server.app.get::<String>().is_none());
}

#[tokio::test]
async fn tests_can_override_a_provider() {
    let app = app(Arc::default()).override_provider(|| Database(Box::new(InMemory)));
    let server = LiveServer::start(app).await;
    let mut c = server.connect().await;
    assert_eq!(c.request(json!({"type": "presence.summary"})).await["data"]["store"], "in-memory");
}

async fn start_error(app: Ori) -> Error {
    match app.bind("127.0.0.1:0").await {
        Ok(server) => panic!("expected a start-up error, got a server on {}", server.local_addr()),
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_missing_provider_names_both_types() {
    let app = Ori::create().provide(|db: Arc<Database>| PresenceService {
        db,
        ctx: todo_ctx(),
        built: Arc::default(),
    });
    let error = start_error(app).await;
    assert!(matches!(error, Error::MissingProvider { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("startup::PresenceService") && message.contains("startup::Database"),
        "{message}"
    );
    assert!(message.contains(".provide("), "the message says how to fix it: {message}");
}

fn todo_ctx() -> AppContext {
    unreachable!("never built: start-up fails first")
}

struct A(#[allow(dead_code)] Arc<B>);
struct B(#[allow(dead_code)] Arc<C>);
struct C(#[allow(dead_code)] Arc<A>);

#[tokio::test]
async fn a_dependency_cycle_names_the_path() {
    let app = Ori::create().provide(|b: Arc<B>| A(b)).provide(|c: Arc<C>| B(c)).provide(|a: Arc<A>| C(a));
    let error = start_error(app).await;
    assert_eq!(
        error.to_string(),
        "dependency cycle between providers: startup::A -> startup::B -> startup::C -> startup::A; \
         break it: one of them must not take the next at construction (take `AppContext` instead and \
         call `ctx.get::<T>()` when needed)"
    );
}

#[tokio::test]
async fn a_type_provided_twice_is_an_error_but_an_override_is_not() {
    let error = start_error(
        Ori::create().provide_value(Config { greeting: "a" }).provide_value(Config { greeting: "b" }),
    )
    .await;
    assert!(matches!(error, Error::DuplicateProvider(name) if name.ends_with("Config")), "{error:?}");
    let server = LiveServer::start(
        Ori::create().provide_value(Config { greeting: "a" }).override_value(Config { greeting: "b" }),
    )
    .await;
    assert_eq!(server.app.get::<Config>().unwrap().greeting, "b");
}

async fn noop(_ctx: SocketContext) {}

#[tokio::test]
async fn a_message_type_taken_twice_names_both_routers() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::named("PresenceRoutes").route("presence.heartbeat", noop))
        .socket_routes(SocketRoutes::named("LegacyRoutes").route("presence.heartbeat", noop));
    let message = start_error(app).await.to_string();
    assert_eq!(
        message,
        "message type `presence.heartbeat` is handled by both `PresenceRoutes` and `LegacyRoutes`; each type must have exactly one handler: rename one of them, or name the routers to mount with `.only_socket_router::<R>()`"
    );
}

#[tokio::test]
async fn reserved_and_invalid_message_types_are_refused() {
    for ty in [
        "ping",
        "subscribe",
        "__internal",
        "pong",
        "presence",
        "presence_state",
        "presence_diff",
        "",
        "has space",
    ] {
        let app = Ori::create()
            .websocket(WebSocketConfig::default())
            .socket_routes(SocketRoutes::new().route(ty, noop));
        let error = start_error(app).await;
        assert!(matches!(error, Error::InvalidMessageType { .. }), "{ty}: {error:?}");
    }
}

#[derive(Debug)]
struct Account;

async fn account(_ctx: SocketContext<Account>) {}

struct AccountGuard;
impl ConnectionGuard for AccountGuard {
    type State = Account;
    async fn check(&self, _req: &UpgradeRequest) -> Result<Account, Reject> {
        Ok(Account)
    }
}

#[tokio::test]
async fn handlers_asking_for_state_nobody_produces_are_refused() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::named("AccountRoutes").route("account.get", account));
    let message = start_error(app).await.to_string();
    assert!(
        message.contains("`handler of `account.get` in `AccountRoutes``")
            && message.contains("startup::Account"),
        "{message}"
    );

    let app =
        Ori::create().websocket(WebSocketConfig::default()).on_open(|_ws: SocketContext<Account>| async {});
    assert!(matches!(start_error(app).await, Error::MissingState { .. }));

    // With a producer it starts; two producers of one state are ambiguous.
    let ok = Ori::create()
        .websocket(WebSocketConfig::default())
        .connection_guard(AccountGuard)
        .socket_routes(SocketRoutes::new().route("account.get", account));
    LiveServer::start(ok).await;
    let twice = Ori::create()
        .websocket(WebSocketConfig::default())
        .connection_guard(AccountGuard)
        .upgrade_handler(|_req: UpgradeRequest| async { Some(Account) });
    assert!(matches!(start_error(twice).await, Error::DuplicateState { .. }));
}

#[tokio::test]
async fn socket_handlers_without_a_websocket_endpoint_are_an_error() {
    let app = Ori::create().socket_routes(SocketRoutes::new().route("x", noop));
    let message = start_error(app).await.to_string();
    assert!(message.contains(".websocket(WebSocketConfig::default())"), "{message}");
    let bad_path = Ori::create().websocket_at("ws");
    assert!(matches!(start_error(bad_path).await, Error::InvalidConfig(_)));
}
