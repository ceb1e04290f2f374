//! The yardstick for ori's rpc path: `bench.echo` served by hand on
//! tokio-tungstenite, without ori, the way a careful user would write it
//! (one task per connection, serde_json for the envelope with `data` left
//! raw, replies fed and flushed once per batch of what was read). It answers
//! the `rpc` workload of `../shared/bench` and nothing else (`ping` too, for
//! the harness's readiness checks), so it measures what the framework adds
//! per reply:
//!
//! ```sh
//! cargo build --release -p ori-tests --example handwritten_echo
//! PEERS=ori WORKLOADS=rpc ORI_CMD=$PWD/target/release/examples/handwritten_echo ../shared/bench/compare.sh
//! ```
//! Listens on `ORI_ADDR` (default `127.0.0.1:3000`); like `bench_server`, it
//! refuses an upgrade without a `token` in the query with HTTP 401.

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    message_type: &'a str,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(rename = "correlationId")]
    correlation_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    #[serde(rename = "type")]
    message_type: &'a str,
    data: Option<&'a RawValue>,
    #[serde(rename = "correlationId", skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
}

/// The reply to one text message, if it gets one.
fn reply(text: &str) -> Option<String> {
    let incoming: Incoming<'_> = serde_json::from_str(text).ok()?;
    let (message_type, data) = match incoming.message_type {
        "bench.echo" => ("bench.echo", incoming.data),
        "ping" => ("pong", None),
        _ => return None,
    };
    serde_json::to_string(&Outgoing { message_type, data, correlation_id: incoming.correlation_id }).ok()
}

// The token check's signature is the one tungstenite's callback asks for.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let check_token = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let has_token = request.uri().query().is_some_and(|q| q.split('&').any(|p| p.starts_with("token=")));
        if has_token {
            return Ok(response);
        }
        let mut refused = ErrorResponse::new(Some("a token is required".to_owned()));
        *refused.status_mut() = StatusCode::UNAUTHORIZED;
        Err(refused)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, check_token).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        let mut next = Some(message);
        // Everything already read is answered before one flush.
        while let Some(message) = next {
            if let Message::Text(text) = &message
                && let Some(reply) = reply(text)
                && ws.feed(Message::text(reply)).await.is_err()
            {
                return;
            }
            next = match ws.next().now_or_never() {
                Some(Some(Ok(message))) => Some(message),
                Some(_) => return,
                None => None,
            };
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("ORI_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("handwritten_echo on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream));
    }
}
