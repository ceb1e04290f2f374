//! Generated routers over real sockets: routing, typed data errors naming the
//! field, connection and message guards in order, state passing, DI with an
//! overridden provider, correlationIds, route metadata.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ori::AppContext;
use ori::prelude::*;
use ori::routing::SocketRouter;
use ori_tests::{LiveServer, WsClient};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone)]
struct Auth {
    user: String,
    admin: bool,
}

/// Who is online, and with which status.
#[injectable]
struct PresenceStore {
    #[inject(default)]
    online: Mutex<BTreeMap<String, String>>,
}

#[injectable]
struct PresenceService {
    store: Arc<PresenceStore>,
    ctx: AppContext,
}

impl PresenceService {
    fn set(&self, user: &str, status: &str) {
        self.store.online.lock().unwrap().insert(user.to_owned(), status.to_owned());
    }
    fn online(&self) -> BTreeMap<String, String> {
        self.store.online.lock().unwrap().clone()
    }
}

#[connection_guard]
struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = Auth;
    async fn check(&self, req: &UpgradeRequest) -> Result<Auth, Reject> {
        match req.query("token").as_deref() {
            Some("admin") => Ok(Auth { user: "root".into(), admin: true }),
            Some(user) if !user.is_empty() => Ok(Auth { user: user.into(), admin: false }),
            _ => Err(Reject::new("token required")),
        }
    }
}

#[message_guard]
struct AdminGuard;

impl MessageGuard for AdminGuard {
    async fn check(&self, socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        match socket.try_state::<Auth>() {
            Some(auth) if auth.admin => Ok(()),
            _ => Err(Reject::new("admin role required")),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Heartbeat {
    status: String,
    battery: u8,
}

#[derive(Debug, Serialize)]
struct Ack {
    ok: bool,
}

#[derive(Debug, Deserialize)]
struct Kick {
    user: String,
}

#[injectable]
struct PresenceRouter {
    presence: Arc<PresenceService>,
}

#[socket_router(guard = TokenGuard)]
impl PresenceRouter {
    /// Records the sender's status.
    #[on("presence.heartbeat")]
    async fn heartbeat(&self, ctx: SocketContext<Auth>, data: Heartbeat) -> Result<Ack, SocketError> {
        self.presence.set(&ctx.state().user, &data.status);
        Ok(Ack { ok: data.battery > 0 })
    }

    /// Who is online.
    #[on("presence.getOnline")]
    async fn get_online(&self) -> BTreeMap<String, String> {
        self.presence.online()
    }

    #[on("presence.setStatus")]
    async fn set_status(&self, ctx: SocketContext<Auth>, status: String) {
        self.presence.set(&ctx.state().user, &status);
    }

    #[on("presence.whoami")]
    async fn whoami(&self, ctx: SocketContext<Auth>) -> String {
        ctx.state().user.clone()
    }

    #[on("presence.kick", guard = AdminGuard)]
    async fn kick(&self, _ctx: SocketContext<Auth>, data: Kick) -> Result<String, SocketError> {
        if data.user == "nobody" {
            return Err(SocketError::new("not_found", "no such user"));
        }
        Ok(format!("kicked {}", data.user))
    }

    #[on("presence.count")]
    async fn count(&self, data: Vec<u8>) -> usize {
        let _ = &self.presence.ctx;
        data.len()
    }

    /// Not a route: stays a plain method (the route count above excludes it).
    #[allow(dead_code)]
    fn helper(&self) -> usize {
        1
    }
}

async fn server() -> LiveServer {
    server_of::<PresenceRouter>().await
}

/// A server that mounts router `R` alone.
async fn server_of<R: SocketRouter>() -> LiveServer {
    LiveServer::start(Ori::create().websocket(WebSocketConfig::default()).only_socket_router::<R>()).await
}

#[tokio::test]
async fn generated_routes_dispatch_typed_data_and_replies() {
    let server = server().await;
    let mut c = WsClient::connect(&format!("{}?token=ann", server.url())).await;
    let reply = c.request(json!({"type": "presence.heartbeat", "data": {"status": "away", "battery": 5}, "correlationId": "h1"})).await;
    assert_eq!(reply, json!({"type": "presence.heartbeat", "data": {"ok": true}, "correlationId": "h1"}));
    c.send(json!({"type": "presence.setStatus", "data": "busy"})).await; // unit, no correlationId: no reply
    let online = c.request(json!({"type": "presence.getOnline"})).await;
    assert_eq!(online, json!({"type": "presence.getOnline", "data": {"ann": "busy"}}));
    let ack = c.request(json!({"type": "presence.setStatus", "data": "back", "correlationId": "s"})).await;
    assert_eq!(ack, json!({"type": "presence.setStatus", "data": null, "correlationId": "s"}));
    assert_eq!(c.request(json!({"type": "presence.whoami"})).await["data"], "ann");
    assert_eq!(c.request(json!({"type": "presence.count", "data": [1, 2, 3]})).await["data"], 3);
}

#[tokio::test]
async fn data_errors_name_the_field() {
    let server = server().await;
    let mut c = WsClient::connect(&format!("{}?token=ann", server.url())).await;
    let reply = c.request(json!({"type": "presence.heartbeat", "data": {"status": "x", "battery": 300}, "correlationId": "e"})).await;
    assert_eq!(reply["correlationId"], "e");
    assert_eq!(reply["error"]["code"], "bad_request");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("`battery`") && message.contains("presence.heartbeat"), "{message}");
}

#[tokio::test]
async fn connection_guard_and_message_guard_apply() {
    let server = server().await;
    let mut refused = server.connect().await;
    assert_eq!(refused.expect_close().await, (1008, "token required".to_owned()));

    let mut user = WsClient::connect(&format!("{}?token=ann", server.url())).await;
    let reply =
        user.request(json!({"type": "presence.kick", "data": {"user": "bob"}, "correlationId": "k"})).await;
    assert_eq!(
        reply,
        json!({"type": "presence.kick", "error": {"code": "forbidden", "message": "admin role required"}, "correlationId": "k"})
    );

    let mut admin = WsClient::connect(&format!("{}?token=admin", server.url())).await;
    assert_eq!(
        admin.request(json!({"type": "presence.kick", "data": {"user": "bob"}})).await["data"],
        "kicked bob"
    );
    let missing = admin.request(json!({"type": "presence.kick", "data": {"user": "nobody"}})).await;
    assert_eq!(missing["error"], json!({"code": "not_found", "message": "no such user"}));
    // Data is checked before guards: a malformed kick is bad_request for anyone.
    let malformed = user.request(json!({"type": "presence.kick", "data": {}})).await;
    assert_eq!(malformed["error"]["code"], "bad_request");
}

#[tokio::test]
async fn route_metadata_describes_the_source() {
    let routes = PresenceRouter::routes();
    let heartbeat = routes.iter().find(|r| r.message_type == "presence.heartbeat").unwrap();
    assert_eq!(heartbeat.handler, "heartbeat");
    assert_eq!(heartbeat.request, "Heartbeat");
    assert_eq!(heartbeat.reply, "Result<Ack, SocketError>");
    assert_eq!(heartbeat.doc, "Records the sender's status.");
    let kick = routes.iter().find(|r| r.message_type == "presence.kick").unwrap();
    assert_eq!(kick.guards, ["AdminGuard"]);
    let count = routes.iter().find(|r| r.message_type == "presence.count").unwrap();
    assert_eq!((count.request, count.reply), ("Vec<u8>", "usize"));
    assert_eq!(routes.len(), 6);
    assert_eq!(PresenceRouter::NAME, "PresenceRouter");
}

/// Relays `data` without parsing it.
#[injectable]
struct RelayRouter;

#[socket_router]
impl RelayRouter {
    #[on("relay.echo")]
    async fn echo(&self, data: Box<serde_json::value::RawValue>) -> Box<serde_json::value::RawValue> {
        data
    }
}

/// A generated handler's `Box<RawValue>` argument is `data` as the client
/// wrote it, and its `Box<RawValue>` reply goes out as it is.
#[tokio::test]
async fn a_raw_value_handler_relays_data_byte_for_byte() {
    let server = server_of::<RelayRouter>().await;
    let mut c = server.connect().await;
    let data = r#"[ 1 , "\u00e9\"" , {"x" : true} ]"#;
    c.send_text(&format!(r#"{{"type":"relay.echo","correlationId":"e1","data":{data}}}"#)).await;
    let ori_tests::Event::Text(reply) = c.next_event().await else { panic!("a text reply expected") };
    assert_eq!(reply, format!(r#"{{"type":"relay.echo","data":{data},"correlationId":"e1"}}"#));
    assert_eq!(c.request(json!({"type": "relay.echo"})).await, json!({"type": "relay.echo", "data": null}));
}
