//! Layers around socket handlers, over real sockets: a router's
//! `layer = L`s (built by the container), `SocketRoutes::layer` and
//! `Ori::layer`. Layers see each message before the route and its outcome
//! after, may rewrite either or answer in the route's place, run in a
//! documented order, and a panicking layer is answered `internal` with the
//! connection kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ori::layer::{LayerMessage, Next, Outcome, SocketLayer, from_fn};
use ori::prelude::*;
use ori_tests::LiveServer;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What the layers and handlers of one app did, in order.
#[derive(Clone, Default)]
struct Trace(Arc<Mutex<Vec<String>>>);

impl Trace {
    fn push(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The outcome's code, or `ok`.
fn code(outcome: &Outcome) -> &str {
    outcome.as_error().map_or("ok", |e| e.code())
}

/// A router layer: records each message and its outcome.
#[injectable]
struct Audit {
    #[inject(value)]
    trace: Trace,
}

impl SocketLayer for Audit {
    async fn call(&self, message: LayerMessage, next: Next) -> Outcome {
        self.trace.push(format!("audit> {}", message.message_type()));
        let outcome = next.run(message).await;
        self.trace.push(format!("audit< {}", code(&outcome)));
        outcome
    }
}

/// The router's second layer, inside `Audit`.
#[injectable]
struct Inner {
    #[inject(value)]
    trace: Trace,
}

impl SocketLayer for Inner {
    async fn call(&self, message: LayerMessage, next: Next) -> Outcome {
        self.trace.push("inner>");
        let outcome = next.run(message).await;
        self.trace.push(format!("inner< {}", code(&outcome)));
        outcome
    }
}

#[message_guard]
struct DenyAll;

impl MessageGuard for DenyAll {
    async fn check(&self, _socket: &Socket, _message_type: &str) -> Result<(), Reject> {
        Err(Reject::new("nobody may"))
    }
}

#[derive(Deserialize)]
struct Note {
    text: String,
}

#[derive(Serialize)]
struct Added {
    chars: usize,
}

#[injectable]
struct Notes {
    #[inject(value)]
    trace: Trace,
}

#[socket_router(layer = Audit, layer = Inner)]
impl Notes {
    #[on("note.add")]
    async fn add(&self, note: Note) -> Result<Added, SocketError> {
        self.trace.push("handler");
        Ok(Added { chars: note.text.chars().count() })
    }

    #[on("note.secret", guard = DenyAll)]
    async fn secret(&self) {
        self.trace.push("handler");
    }
}

/// An app around `Notes`, with an app-wide layer that records too.
fn app(trace: &Trace) -> Ori {
    let outer = trace.clone();
    Ori::create().websocket(WebSocketConfig::default()).provide_value(trace.clone()).layer(from_fn(
        move |message, next| {
            let trace = outer.clone();
            async move {
                trace.push("app>");
                let outcome = next.run(message).await;
                trace.push(format!("app< {}", code(&outcome)));
                outcome
            }
        },
    ))
}

#[tokio::test]
async fn layers_wrap_the_whole_route_app_layer_first_then_the_routers_in_written_order() {
    let trace = Trace::default();
    let server = LiveServer::start(app(&trace)).await;
    let mut client = server.connect().await;

    let reply =
        client.request(json!({"type": "note.add", "data": {"text": "héllo"}, "correlationId": "1"})).await;
    assert_eq!(reply, json!({"type": "note.add", "data": {"chars": 5}, "correlationId": "1"}));
    let expected = ["app>", "audit> note.add", "inner>", "handler", "inner< ok", "audit< ok", "app< ok"];
    assert_eq!(trace.take(), expected);

    // Data the route cannot decode is the route's answer: the layers see it.
    let reply = client.request(json!({"type": "note.add", "data": {"txt": 1}, "correlationId": "2"})).await;
    assert_eq!(reply["error"]["code"], "bad_request", "{reply}");
    let expected =
        ["app>", "audit> note.add", "inner>", "inner< bad_request", "audit< bad_request", "app< bad_request"];
    assert_eq!(trace.take(), expected);

    // So is a message guard's refusal: layers are outside the guards.
    let reply = client.request(json!({"type": "note.secret", "correlationId": "3"})).await;
    assert_eq!(reply["error"], json!({"code": "forbidden", "message": "nobody may"}));
    let expected =
        ["app>", "audit> note.secret", "inner>", "inner< forbidden", "audit< forbidden", "app< forbidden"];
    assert_eq!(trace.take(), expected);

    // Control messages and unknown types do not pass through layers.
    assert_eq!(client.request(json!({"type": "ping", "correlationId": "p"})).await["type"], "pong");
    let unknown = client.request(json!({"type": "note.nope", "correlationId": "u"})).await;
    assert_eq!(unknown["error"]["code"], "unknown_type");
    assert_eq!(trace.take(), Vec::<String>::new());
}

#[tokio::test]
async fn a_layer_can_rewrite_the_message_and_the_outcome() {
    let trace = Trace::default();
    let counter = SocketRoutes::named("Counter")
        .route("count", |_ctx: SocketContext, n: u32| async move { Data(n + 1) })
        // Inner: doubles what the client sent.
        .layer(from_fn(|mut message, next| async move {
            match message.data_as::<u32>().and_then(|n| message.set_data(&(n * 2))) {
                Ok(()) => next.run(message).await,
                Err(bad_request) => Outcome::error(bad_request),
            }
        }))
        // Outer: wraps the route's data, and gives errors details.
        .layer(from_fn(|message, next| async move {
            let outcome = next.run(message).await;
            match (outcome.data_json(), outcome.as_error()) {
                (Some(data), _) => {
                    Outcome::data(&json!({ "result": serde_json::from_str::<Value>(data).unwrap() }))
                }
                (None, Some(error)) => Outcome::error(
                    SocketError::new(error.code().to_owned(), "a number, please")
                        .with_details(&json!({"hint": 21})),
                ),
                (None, None) => outcome,
            }
        }));
    let server = LiveServer::start(app(&trace).socket_routes(counter)).await;
    let mut client = server.connect().await;

    let reply = client.request(json!({"type": "count", "data": 20, "correlationId": "c"})).await;
    assert_eq!(reply, json!({"type": "count", "data": {"result": 41}, "correlationId": "c"}));

    let reply = client.request(json!({"type": "count", "data": "twenty", "correlationId": "d"})).await;
    assert_eq!(
        reply,
        json!({"type": "count", "error": {"code": "bad_request", "message": "a number, please", "details": {"hint": 21}}, "correlationId": "d"})
    );
    // The app layer is outside the set's own layers, so it saw both.
    assert_eq!(trace.take(), ["app>", "app< ok", "app>", "app< bad_request"]);
}

/// `?mode=` of the connection's URL.
struct Mode(String);

/// How many times the work ran.
static WORK_RAN: AtomicUsize = AtomicUsize::new(0);

#[tokio::test]
async fn a_layer_can_answer_in_the_routes_place() {
    let trace = Trace::default();
    let work = SocketRoutes::named("Work")
        .route("work.do", |_ctx: SocketContext| async {
            WORK_RAN.fetch_add(1, Ordering::SeqCst);
        })
        .layer(from_fn(|message, next| async move {
            let mode = message.socket().try_state::<Mode>();
            match mode.as_ref().map(|m| m.0.as_str()) {
                Some("limited") => Outcome::error(SocketError::new("rate_limited", "slow down")),
                Some("cached") => Outcome::data(&"from cache"),
                Some("quiet") => Outcome::ack(),
                _ => next.run(message).await,
            }
        }));
    let modes = |req: UpgradeRequest| async move { Some(Mode(req.query("mode").unwrap_or_default())) };
    let server = LiveServer::start(app(&trace).socket_routes(work).upgrade_handler(modes)).await;
    let request = json!({"type": "work.do", "correlationId": "w"});

    let mut limited = ori_tests::WsClient::connect(&format!("{}?mode=limited", server.url())).await;
    assert_eq!(
        limited.request(request.clone()).await,
        json!({"type": "work.do", "error": {"code": "rate_limited", "message": "slow down"}, "correlationId": "w"})
    );
    let mut cached = ori_tests::WsClient::connect(&format!("{}?mode=cached", server.url())).await;
    assert_eq!(
        cached.request(request.clone()).await,
        json!({"type": "work.do", "data": "from cache", "correlationId": "w"})
    );
    let mut quiet = ori_tests::WsClient::connect(&format!("{}?mode=quiet", server.url())).await;
    assert_eq!(
        quiet.request(request.clone()).await,
        json!({"type": "work.do", "data": null, "correlationId": "w"})
    );
    // Without a correlationId, an acknowledgement sends nothing.
    quiet.send(json!({"type": "work.do"})).await;
    quiet.assert_silent().await;
    assert_eq!(WORK_RAN.load(Ordering::SeqCst), 0, "the layer answered; the handler never ran");

    let mut open = server.connect().await;
    assert_eq!(open.request(request).await, json!({"type": "work.do", "data": null, "correlationId": "w"}));
    assert_eq!(WORK_RAN.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_panicking_layer_is_answered_internal_and_the_connection_goes_on() {
    let trace = Trace::default();
    let fragile = SocketRoutes::named("Fragile")
        .route("fragile.before", |_ctx: SocketContext| async { Data("unreachable") })
        .route("fragile.after", |_ctx: SocketContext| async { Data("computed") })
        .route("fragile.fine", |_ctx: SocketContext| async { Data("fine") })
        .layer(from_fn(|message, next| async move {
            if message.message_type() == "fragile.before" {
                panic!("layer failed before the route");
            }
            let outcome = next.run(message).await;
            if outcome.data_json() == Some("\"computed\"") {
                panic!("layer failed after the route");
            }
            outcome
        }));
    let server = LiveServer::start(app(&trace).socket_routes(fragile)).await;
    let mut client = server.connect().await;
    let mut bystander = server.connect().await;

    for message_type in ["fragile.before", "fragile.after"] {
        let reply = client.request(json!({"type": message_type, "correlationId": message_type})).await;
        assert_eq!(
            reply,
            json!({"type": message_type, "error": {"code": "internal", "message": "internal server error"}, "correlationId": message_type})
        );
    }
    // The panic unwound through the app layer too: it recorded the start only.
    assert_eq!(trace.take(), ["app>", "app>"]);
    for socket in [&mut client, &mut bystander] {
        let reply = socket.request(json!({"type": "fragile.fine", "correlationId": "f"})).await;
        assert_eq!(reply["data"], "fine");
    }
}
