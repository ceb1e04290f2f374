//! The connection task of a [`Client`](super::Client): open (and prove the
//! server accepted us), serve (read, write, keep alive), reconnect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::protocol::{Codec, json_to_msgpack, msgpack_to_json};
use std::borrow::Cow;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{ClientError, ClientEvent, ConnectionState, ServerPush, Shared, encode};
use crate::util::backoff::Backoff;
use crate::util::sync::lock;

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Correlation ids the client uses for itself (user requests are numbers).
const OPEN_ID: &str = "~open";
const KEEPALIVE_ID: &str = "~keepalive";
const REJOIN_PREFIX: &str = "~rejoin:";
/// The longest wait before reconnecting to a server that went away or
/// restarts on purpose (close 1001 or 1012): jitter only.
const AT_ONCE: Duration = Duration::from_millis(250);

/// An incoming message, as much as the client needs to route it.
#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    message_type: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<ErrorBody>,
    #[serde(rename = "correlationId", default)]
    correlation_id: Option<String>,
    /// The position of a message from a topic that keeps history.
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    offset: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Option<serde_json::Value>,
}

impl Incoming {
    fn result(self) -> Result<Box<RawValue>, ClientError> {
        match self.error {
            Some(error) => {
                Err(ClientError::Server { code: error.code, message: error.message, details: error.details })
            }
            None => Ok(self.data.unwrap_or_else(null)),
        }
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("`null` is JSON")
}

/// How a connection ended.
enum End {
    /// [`Client::close`](super::Client::close) (or the last clone dropped).
    ByClient,
    /// The connection dropped.
    Dropped { code: Option<u16>, reason: String },
}

/// Opens the first connection: each URL in turn, until one answers. A
/// refusal is final (another instance of the same service would refuse too).
pub(crate) async fn open_first(shared: &Shared) -> Result<Ws, ClientError> {
    let mut result = open(shared).await;
    for _ in 1..shared.config.urls.len() {
        match result {
            Err(ref error) if !error.is_refusal() => {
                tracing::debug!(%error, "connection failed; trying the next URL");
                shared.next_url();
                result = open(shared).await;
            }
            _ => break,
        }
    }
    result
}

/// Opens a connection to the current URL and waits for the server to accept
/// it: a `ping` is only answered once the upgrade handler and the connection
/// guards passed.
async fn open(shared: &Shared) -> Result<Ws, ClientError> {
    let config = &shared.config;
    let url = shared.url();
    let request = upgrade_request(shared, url)?;
    let wss = request.uri().scheme_str() == Some("wss");
    #[cfg(feature = "tls")]
    let connecting = {
        let connector = if wss { Some(super::tls::connector(config)?) } else { None };
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector)
    };
    #[cfg(not(feature = "tls"))]
    let connecting = {
        if wss {
            return Err(ClientError::Tls("`wss://` needs the feature `tls` of ori".to_owned()));
        }
        tokio_tungstenite::connect_async(request)
    };
    let (mut ws, _) = match tokio::time::timeout(config.request_timeout, connecting).await {
        Err(_) => return Err(ClientError::Connect(format!("no answer from {url} in time"))),
        Ok(Err(error)) if tls_failure(&error).is_some() => {
            let reason = tls_failure(&error).unwrap_or_default();
            return Err(ClientError::Tls(format!("{url}: {reason}")));
        }
        Ok(Err(tungstenite::Error::Http(response))) => {
            return Err(ClientError::Refused { status: response.status().as_u16() });
        }
        Ok(Err(tungstenite::Error::Url(error))) => {
            return Err(ClientError::Connect(format!("`{url}`: {error}")));
        }
        Ok(Err(error)) => return Err(ClientError::Connect(format!("{url}: {error}"))),
        Ok(Ok(connected)) => connected,
    };
    let ping = encode("ping", &(), Some(OPEN_ID))?;
    ws.send(frame(shared, ping)).await.map_err(|e| ClientError::Connect(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + config.request_timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await.map_err(|_| {
            ClientError::Connect(
                "the server did not accept the connection in time (guards still running?)".into(),
            )
        })?;
        match next {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                let Some(text) = envelope_text(shared, &message) else { continue };
                let Ok(incoming) = serde_json::from_str::<Incoming>(&text) else { continue };
                if incoming.correlation_id.as_deref() == Some(OPEN_ID) {
                    return Ok(ws);
                }
                // What the server pushes on open (e.g. a welcome) is delivered.
                deliver(shared, incoming, &mut Vec::new());
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = close_parts(frame);
                return Err(ClientError::Rejected { code: code.unwrap_or(1005), reason });
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(ClientError::Connect(error.to_string())),
            None => {
                return Err(ClientError::Connect("the server ended the connection while opening it".into()));
            }
        }
    }
}

#[cfg(feature = "tls")]
use super::tls::tls_failure;

#[cfg(not(feature = "tls"))]
fn tls_failure(_: &tungstenite::Error) -> Option<String> {
    None
}

/// The frame of an envelope (JSON text) in the connection's codec.
fn frame(shared: &Shared, text: String) -> Message {
    match shared.config.codec {
        Codec::Json => Message::text(text),
        Codec::MessagePack => {
            let mut packed = Vec::with_capacity(text.len());
            if json_to_msgpack(text.as_bytes(), &mut packed) {
                Message::binary(packed)
            } else {
                Message::text(text)
            }
        }
    }
}

/// The JSON text of a received envelope, whichever the codec; `None` for
/// binary on a JSON connection, or MessagePack that is not valid.
fn envelope_text<'a>(shared: &Shared, message: &'a Message) -> Option<Cow<'a, str>> {
    match message {
        Message::Text(text) => Some(Cow::Borrowed(text.as_str())),
        Message::Binary(bytes) if shared.config.codec == Codec::MessagePack => {
            msgpack_to_json(bytes).ok().map(Cow::Owned)
        }
        _ => None,
    }
}

fn upgrade_request(
    shared: &Shared,
    base: &str,
) -> Result<tungstenite::handshake::client::Request, ClientError> {
    let config = &shared.config;
    // The builder's query and headers, with what a re-authentication replaced.
    let (query_pairs, headers) = {
        let credentials = lock(&shared.credentials);
        (credentials.over_query(&config.query), credentials.over_headers(&config.headers))
    };
    let mut url = base.to_owned();
    if !query_pairs.is_empty() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &query_pairs {
            query.append_pair(name, value);
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.finish());
    }
    let mut request =
        url.into_client_request().map_err(|e| ClientError::Connect(format!("`{base}`: {e}")))?;
    if config.codec != Codec::Json {
        let protocol = HeaderValue::from_static(config.codec.subprotocol());
        request.headers_mut().insert(tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    for (name, value) in &headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ClientError::Connect(format!("header `{name}`: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| ClientError::Connect(format!("header `{name}`: {e}")))?;
        request.headers_mut().append(name, value);
    }
    Ok(request)
}

/// The connection task: serves each connection (the first one already
/// open), reconnects between them.
pub(crate) async fn run(shared: Arc<Shared>, ws: Ws) {
    let mut ws = ws;
    loop {
        let end = serve(&shared, ws).await;
        fail_written_requests(&shared);
        let (code, reason) = match end {
            End::ByClient => return finish(&shared, Some(1000), "closed by the client".to_owned()),
            End::Dropped { code, reason } => (code, reason),
        };
        if code == Some(1008) {
            return finish(&shared, code, format!("refused by the server: {reason}"));
        }
        if !shared.config.reconnect {
            return finish(&shared, code, reason);
        }
        shared.emit(ClientEvent::Disconnected { code, reason });
        // A server going away (1001) or restarting (1012) on purpose: others
        // (or it, soon) take the connection, so the first attempt is at once.
        let at_once = matches!(code, Some(1001 | 1012));
        match reconnect(&shared, at_once).await {
            Ok(next) => {
                ws = next;
                shared.state.send_replace(ConnectionState::Open);
                shared.emit(ClientEvent::Open { reconnected: true });
            }
            Err((code, reason)) => return finish(&shared, code, reason),
        }
    }
}

/// Closed for good: fail whatever waits, tell the listeners.
fn finish(shared: &Shared, code: Option<u16>, reason: String) {
    shared.closing.send_replace(true);
    lock(&shared.outbox).clear();
    for (_, waiter) in lock(&shared.pending).drain() {
        let _ = waiter.reply.send(Err(ClientError::Closed));
    }
    shared.state.send_replace(ConnectionState::Closed);
    tracing::debug!(url = %shared.url(), ?code, %reason, "client closed");
    shared.emit(ClientEvent::Closed { code, reason });
}

/// Requests written to a connection that dropped cannot be known to have run
/// or not: they fail (never sent twice).
fn fail_written_requests(shared: &Shared) {
    let written: Vec<_> = lock(&shared.pending).extract_if(|_, waiter| waiter.sent).collect();
    for (_, waiter) in written {
        let _ = waiter.reply.send(Err(ClientError::Disconnected));
    }
}

/// Attempts to connect again with backoff (the first attempt within
/// [`AT_ONCE`] when `at_once`); `Err` ends the client.
async fn reconnect(shared: &Shared, mut at_once: bool) -> Result<Ws, (Option<u16>, String)> {
    let config = &shared.config;
    let mut last_error = String::new();
    let mut backoff = Backoff::new(config.reconnect_delay, config.max_reconnect_delay);
    loop {
        if let Some(max) = config.max_reconnect_attempts
            && backoff.attempt() >= max
        {
            return Err((None, format!("gave up after {max} attempts: {last_error}")));
        }
        let delay = if std::mem::take(&mut at_once) {
            backoff.at_once(config.reconnect_delay.min(AT_ONCE))
        } else {
            backoff.next_delay()
        };
        let attempt = backoff.attempt();
        shared.state.send_replace(ConnectionState::Reconnecting { attempt });
        shared.emit(ClientEvent::Reconnecting { attempt, delay });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = closed(shared) => return Err((Some(1000), "closed by the client".to_owned())),
        }
        // With fallbacks, every attempt goes to the next URL: the one that
        // dropped is the likeliest to be down.
        if config.urls.len() > 1 {
            let url = shared.next_url();
            tracing::debug!(attempt, url, "reconnecting to the next URL");
        }
        match open(shared).await {
            Ok(ws) => return Ok(ws),
            Err(error) if error.is_refusal() => {
                let code = match &error {
                    ClientError::Rejected { code, .. } => Some(*code),
                    _ => None,
                };
                return Err((code, format!("refused by the server: {error}")));
            }
            Err(error) => {
                tracing::debug!(attempt, %error, "reconnection failed");
                last_error = error.to_string();
            }
        }
        if shared.is_closing() {
            return Err((Some(1000), "closed by the client".to_owned()));
        }
    }
}

/// Resolves once a close is requested.
async fn closed(shared: &Shared) {
    let _ = shared.closing.subscribe().wait_for(|closing| *closing).await;
}

/// Serves one open connection until it ends.
async fn serve(shared: &Shared, mut ws: Ws) -> End {
    let keepalive = shared.config.keepalive;
    let mut last_heard = Instant::now();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    // Join the topics again before anything queued is written.
    let mut rejoining = Vec::new();
    let rejoin_deadline = tokio::time::Instant::now() + shared.config.request_timeout;
    let topics = lock(&shared.topics).rejoin();
    for (topic, data) in topics {
        let id = format!("{REJOIN_PREFIX}{topic}");
        let Ok(text) = encode("subscribe", &data, Some(&id)) else {
            continue;
        };
        if let Err(error) = ws.feed(frame(shared, text)).await {
            return End::Dropped { code: None, reason: error.to_string() };
        }
        rejoining.push(topic);
    }
    loop {
        if shared.is_closing() {
            return close(&mut ws).await;
        }
        if rejoining.is_empty()
            && let Err(error) = write_queued(shared, &mut ws).await
        {
            return End::Dropped { code: None, reason: error.to_string() };
        }
        if let Err(error) = ws.flush().await {
            return End::Dropped { code: None, reason: error.to_string() };
        }
        tokio::select! {
            next = ws.next() => {
                last_heard = Instant::now();
                match next {
                    Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                        let parsed = envelope_text(shared, &message)
                            .ok_or_else(|| "binary frame on a JSON connection".to_owned())
                            .and_then(|text| serde_json::from_str::<Incoming>(&text).map_err(|e| e.to_string()));
                        match parsed {
                            Ok(incoming) => deliver(shared, incoming, &mut rejoining),
                            Err(error) => tracing::warn!(%error, "ignoring a message that is not an ori envelope"),
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = close_parts(frame);
                        // Answer the close (tungstenite queues the reply); the connection ends.
                        let _ = ws.flush().await;
                        return End::Dropped { code, reason };
                    }
                    Some(Ok(_)) => {} // pings are answered by tungstenite on the next flush
                    Some(Err(error)) => return End::Dropped { code: None, reason: error.to_string() },
                    None => return End::Dropped { code: None, reason: "the connection ended".to_owned() },
                }
            }
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(rejoin_deadline), if !rejoining.is_empty() => {
                // Unanswered: write the queue anyway rather than hold it forever.
                tracing::warn!(topics = ?rejoining, "no answer to re-subscribing; sending the queued messages");
                rejoining.clear();
            }
            _ = ticks.tick() => {
                if last_heard.elapsed() >= keepalive * 2 {
                    return End::Dropped { code: None, reason: "the server stopped answering (keepalive)".to_owned() };
                }
                if let Ok(ping) = encode("ping", &(), Some(KEEPALIVE_ID))
                    && let Err(error) = ws.feed(frame(shared, ping)).await
                {
                    return End::Dropped { code: None, reason: error.to_string() };
                }
            }
        }
    }
}

/// Writes everything queued, marking requests as written.
async fn write_queued(shared: &Shared, ws: &mut Ws) -> Result<(), tungstenite::Error> {
    loop {
        let Some(outgoing) = lock(&shared.outbox).pop_front() else { return Ok(()) };
        if let Some(id) = outgoing.request {
            match lock(&shared.pending).get_mut(&id) {
                Some(waiter) => waiter.sent = true,
                None => continue, // timed out while queued: not sent at all
            }
        }
        ws.feed(frame(shared, outgoing.text)).await?;
    }
}

/// Closes with 1000 and waits (briefly) for the server's close frame.
async fn close(ws: &mut Ws) -> End {
    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    let _ = ws.close(Some(frame)).await;
    let _ =
        tokio::time::timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = ws.next().await {} })
            .await;
    End::ByClient
}

/// Routes one incoming message: a reply to its waiter, a push to the
/// listeners; keeps the topics' positions and presence on the way.
fn deliver(shared: &Shared, mut incoming: Incoming, rejoining: &mut Vec<String>) {
    let Some(id) = incoming.correlation_id.take() else {
        push(shared, incoming);
        return;
    };
    if incoming.message_type == "subscribe"
        && incoming.error.is_none()
        && let Some(data) = &incoming.data
    {
        acknowledged(shared, data);
    }
    if let Some(topic) = id.strip_prefix(REJOIN_PREFIX) {
        rejoining.retain(|t| t != topic);
        if let Err(error) = incoming.result() {
            lock(&shared.topics).remove(topic);
            lock(&shared.presence).remove(topic);
            shared.emit(ClientEvent::SubscriptionLost { topic: topic.to_owned(), error });
        }
        return;
    }
    if id.starts_with('~') {
        return; // keepalive or a late open ping
    }
    let waiter = id.parse::<u64>().ok().and_then(|id| lock(&shared.pending).remove(&id));
    match waiter {
        Some(waiter) => {
            let _ = waiter.reply.send(incoming.result());
        }
        None => tracing::debug!(correlation_id = %id, "a reply nobody waits for (timed out?)"),
    }
}

/// A subscribe's acknowledgement: the topic's position, and whether a
/// recovery asked for succeeded.
fn acknowledged(shared: &Shared, data: &RawValue) {
    let ack = lock(&shared.topics).acknowledged(data);
    if let Some(ack) = ack
        && let Some(recovered) = ack.recovered
    {
        shared.emit(ClientEvent::Recovered { topic: ack.topic, recovered });
    }
}

/// A message without a `correlationId`: presence and epoch changes are
/// applied (and reported as such); a message already seen at its position
/// is dropped; the rest goes to the listeners.
fn push(shared: &Shared, incoming: Incoming) {
    let Incoming { message_type, data, error, topic, offset, .. } = incoming;
    let data = match error {
        // An error without a correlationId (e.g. a binary frame refused) is pushed as is.
        Some(error) => RawValue::from_string(
            serde_json::json!({ "code": error.code, "message": error.message }).to_string(),
        )
        .unwrap_or_else(|_| null()),
        None => data.unwrap_or_else(null),
    };
    match message_type.as_str() {
        "pong" => return,
        "presence_state" | "presence_diff" => {
            let mut maps = lock(&shared.presence);
            let changes = if message_type == "presence_state" { maps.state(&data) } else { maps.diff(&data) };
            drop(maps);
            for change in changes {
                shared.emit(ClientEvent::Presence(change));
            }
            return;
        }
        "subscribe" => {
            #[derive(Deserialize)]
            struct EpochChange {
                topic: String,
                epoch: String,
            }
            if let Ok(change) = serde_json::from_str::<EpochChange>(data.get()) {
                if lock(&shared.topics).epoch_changed(&change.topic, &change.epoch) {
                    shared.emit(ClientEvent::Recovered { topic: change.topic, recovered: false });
                }
                return;
            }
        }
        _ => {}
    }
    let position = match (topic, offset) {
        (Some(topic), Some(offset)) => {
            if !lock(&shared.topics).accept(&topic, offset) {
                return; // Seen already (replayed and live at the seam).
            }
            Some((topic, offset))
        }
        _ => None,
    };
    shared.emit(ClientEvent::Message(ServerPush::new(message_type, data, position)));
}

fn close_parts(frame: Option<CloseFrame>) -> (Option<u16>, String) {
    match frame {
        Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
        None => (None, String::new()),
    }
}
