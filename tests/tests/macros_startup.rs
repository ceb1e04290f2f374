//! Start-up errors that the compiler cannot see across routers: a message type
//! taken by two routers, a missing provider, a handler state nobody produces.
//! (These routers conflict on purpose; each test mounts what it needs.)

use std::sync::Arc;

use ori::Error;
use ori::prelude::*;

#[injectable]
struct LegacyPresence;

#[socket_router]
impl LegacyPresence {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

#[injectable]
struct Presence;

#[socket_router]
impl Presence {
    #[on("presence.heartbeat")]
    async fn heartbeat(&self) {}
}

/// Never registered anywhere.
struct Mailer;

#[injectable]
struct Notifications {
    mailer: Arc<Mailer>,
}

#[socket_router]
impl Notifications {
    #[on("notify.send")]
    async fn send(&self) {
        let _ = &self.mailer;
    }
}

#[derive(Debug)]
struct Account;

#[injectable]
struct Accounts;

#[socket_router]
impl Accounts {
    #[on("account.get")]
    async fn get(&self, _ctx: SocketContext<Account>) {}
}

async fn start_error(app: Ori) -> Error {
    app.bind("127.0.0.1:0").await.expect_err("start-up fails before binding")
}

#[tokio::test]
async fn a_message_type_in_two_routers_names_both() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .only_socket_router::<Presence>()
        .only_socket_router::<LegacyPresence>();
    let message = start_error(app).await.to_string();
    assert_eq!(
        message,
        "message type `presence.heartbeat` is handled by both `Presence` and `LegacyPresence`; each type must have exactly one handler: rename one of them, or name the routers to mount with `.only_socket_router::<R>()`"
    );
}

#[tokio::test]
async fn discovery_reports_the_first_problem_of_the_binary() {
    // Providers are built before routes are bound: the missing mailer comes first.
    let error = start_error(Ori::create().websocket(WebSocketConfig::default())).await;
    assert!(
        matches!(error, Error::MissingProvider { missing, .. } if missing.ends_with("Mailer")),
        "{error:?}"
    );
    // With it provided, the duplicate message type is next, named by both routers (sorted).
    let error = start_error(Ori::create().websocket(WebSocketConfig::default()).provide_value(Mailer)).await;
    assert_eq!(
        error.to_string(),
        "message type `presence.heartbeat` is handled by both `LegacyPresence` and `Presence`; each type must have exactly one handler: rename one of them, or name the routers to mount with `.only_socket_router::<R>()`"
    );
}

#[tokio::test]
async fn a_missing_provider_names_the_router() {
    let app = Ori::create().websocket(WebSocketConfig::default()).only_socket_router::<Notifications>();
    let message = start_error(app).await.to_string();
    assert!(
        message.starts_with("`macros_startup::Notifications` needs `macros_startup::Mailer`"),
        "{message}"
    );
}

#[tokio::test]
async fn a_state_no_guard_produces_is_refused() {
    let app = Ori::create().websocket(WebSocketConfig::default()).only_socket_router::<Accounts>();
    let message = start_error(app).await.to_string();
    assert!(
        message.contains("`handler of `account.get` in `Accounts``") && message.contains("Account`"),
        "{message}"
    );
}
