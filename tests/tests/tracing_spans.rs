//! The tracing spans a server emits (debug level), as a capturing
//! subscriber sees them: the connection's socket id, remote address, close
//! code and reason; each message's type, correlation id and outcome. Its own
//! test binary: it installs the process's global subscriber.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ori::{Ori, SocketContext, SocketError, SocketRoutes, WebSocketConfig};
use ori_tests::LiveServer;
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

/// Closed spans: name and fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(String, Fields)>>>);

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        ctx.span(id).expect("a new span").extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(&mut Collect(fields));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span.extensions().get::<Fields>().cloned().unwrap_or_default();
            self.0.lock().unwrap().push((span.name().to_owned(), fields));
        }
    }
}

async fn echo(_ctx: SocketContext, data: Value) -> Result<Value, SocketError> {
    Ok(data)
}

async fn number(_ctx: SocketContext, n: u64) -> Result<u64, SocketError> {
    Ok(n)
}

#[tokio::test]
async fn spans_carry_the_socket_the_message_and_the_outcome() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(capture.clone())
        .with(tracing_subscriber::filter::LevelFilter::DEBUG);
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");

    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::new().route("echo", echo).route("number", number));
    let server = LiveServer::start(app).await;
    let mut client = server.connect().await;
    client.request(json!({"type": "echo", "data": 1, "correlationId": "c-1"})).await;
    let refused = client.request(json!({"type": "number", "data": "x", "correlationId": "c-2"})).await;
    assert_eq!(refused["error"]["code"], "bad_request");
    client.close().await;

    let deadline = Instant::now() + Duration::from_secs(5);
    let spans = loop {
        let spans = capture.0.lock().unwrap().clone();
        if spans.iter().any(|(name, _)| name == "connection") {
            break spans;
        }
        assert!(Instant::now() < deadline, "no connection span closed: {spans:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let messages: Vec<&Fields> = spans.iter().filter(|(n, _)| n == "message").map(|(_, f)| f).collect();
    let field = |f: &Fields, k: &str| f.get(k).cloned().unwrap_or_default();
    let echo = messages.iter().find(|f| field(f, "type") == "echo").expect("the echo's span");
    assert_eq!((field(echo, "correlation_id"), field(echo, "outcome")), ("c-1".to_owned(), "ok".to_owned()));
    let number = messages.iter().find(|f| field(f, "type") == "number").expect("the failed message's span");
    assert_eq!(field(number, "outcome"), "bad_request");
    let connection = &spans.iter().find(|(n, _)| n == "connection").unwrap().1;
    assert!(field(connection, "socket_id").len() == 36, "{connection:?}");
    assert!(field(connection, "remote_addr").starts_with("127.0.0.1:"), "{connection:?}");
    assert_eq!(field(connection, "close_code"), "1000");
}
