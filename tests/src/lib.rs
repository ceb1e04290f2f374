//! Helpers for ori's integration tests: start a real server on a free
//! loopback port, connect real WebSocket clients, and read what arrives with
//! timeouts (a test never hangs).

pub mod broker_suite;
pub mod client_app;
pub mod cross_instance;
pub mod history_suite;
pub mod nats_server;
pub mod plain_backend;
pub mod presence;
pub mod presence_suite;
pub mod readme;
pub mod redis_cluster;
pub mod redis_server;
pub mod routes;
pub mod soak;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ori::{AppContext, Ori, ShutdownHandle};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should arrive.
pub const WAIT: Duration = Duration::from_secs(5);

/// `GET /metrics` of `server` (`Ori::metrics_route`), answered 200 in
/// Prometheus' text format: the text.
pub async fn scrape_metrics(server: &LiveServer) -> String {
    let response = http(server.addr, "GET", "/metrics", &[], "").await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4"));
    response.body
}

/// The value of `series` (name and labels as rendered, e.g.
/// `ori_errors_total{code="teapot"}`) in a scrape; 0 when it is absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap_or_else(|_| panic!("a number for {series}: {v}")))
}

/// A test needs a tool this machine lacks (`message` says which and why).
/// It fails, saying what to install, so that a suite that did not run never
/// reports `ok`; with `ORI_SKIP_MISSING=1` (never under `CI=true`) it is
/// skipped instead, and says so on stderr.
pub fn tool_missing(message: &str) {
    let skip = std::env::var("ORI_SKIP_MISSING").as_deref() == Ok("1")
        && std::env::var("CI").as_deref() != Ok("true");
    assert!(
        skip,
        "{message}: install it, or set ORI_SKIP_MISSING=1 to skip the tests that need it (never under CI=true)"
    );
    eprintln!("SKIPPED (ORI_SKIP_MISSING=1): {message}");
}

/// A free loopback port for a server the test runs as `program`, or `None`
/// when `program` is not on the PATH ([`tool_missing`] with `missing`).
pub fn port_for(program: &str, missing: &str) -> Option<u16> {
    require_tool(program, missing)?;
    Some(free_ports(1)[0])
}

/// `Some` when `program` is on the PATH; otherwise [`tool_missing`] with
/// `missing` (a failure, or `None` when missing tools may be skipped).
pub fn require_tool(program: &str, missing: &str) -> Option<()> {
    let found =
        std::process::Command::new(program).arg("--version").stdout(std::process::Stdio::null()).status();
    if found.is_err() {
        tool_missing(missing);
        return None;
    }
    Some(())
}

/// Where the servers that tests start listen: below the kernel's ephemeral
/// range (32768-60999 on Linux), from which `bind(127.0.0.1:0)` picks.
const SERVER_PORTS: std::ops::Range<u32> = 15_000..32_000;

/// `count` free loopback ports for servers a test starts (`redis-server`,
/// `nats-server`, a Redis Cluster's nodes), each a port no other test of
/// this process is given.
///
/// Not from the ephemeral range: a port the kernel hands out there, then
/// released to pass to the server, can be handed to another test binding
/// port 0 at the same moment, and two servers on one port mean a test that
/// talks to another test's server (two clusters even join each other).
/// Each process takes successive ports from a start of its own (from its
/// id: `cargo nextest` runs each test as a process, `cargo test` a file's
/// tests as threads of one), and every port is checked free.
pub fn free_ports(count: usize) -> Vec<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    let span = SERVER_PORTS.end - SERVER_PORTS.start;
    let start = std::process::id().wrapping_mul(64);
    let mut ports = Vec::with_capacity(count);
    while ports.len() < count {
        let offset = start.wrapping_add(TAKEN.fetch_add(1, Ordering::Relaxed)) % span;
        let port = u16::try_from(SERVER_PORTS.start + offset).expect("below 32000");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            ports.push(port);
        }
    }
    ports
}

/// Spawns `command` (an app as a process: `instance_peer`, `bench_peer`, ...,
/// which print `listening on ws://ADDR/ws` once they accept connections) and
/// returns it with its WebSocket URL.
pub fn spawn_listening(command: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} starts: {e}", command.get_program()));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line).unwrap();
    let url =
        line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
    (child, url)
}

/// Kills a server the test started (an outage), waiting until it is gone.
pub fn kill_child(child: &mut Option<std::process::Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}
/// How long a test waits to be sure nothing arrives.
pub const QUIET: Duration = Duration::from_millis(200);

/// A server running in the test process on 127.0.0.1 and a free port:
/// [`ori::testing::TestServer`] with the project's raw-protocol [`WsClient`].
/// Named apart from ori's own `TestServer` and `client::Client`, which
/// the same test files may import.
#[derive(Debug)]
pub struct LiveServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The application context, to publish from the test.
    pub app: AppContext,
    inner: ori::testing::TestServer,
}

impl LiveServer {
    /// Binds `app` on 127.0.0.1:0 and serves it in a task (no signal handlers).
    pub async fn start(app: Ori) -> LiveServer {
        let inner = ori::testing::TestServer::start(app).await.expect("server starts");
        LiveServer { addr: inner.addr(), app: inner.app().clone(), inner }
    }

    /// `ws://127.0.0.1:PORT/ws` (the default path, whatever the app configured).
    pub fn url(&self) -> String {
        self.url_at("/ws")
    }

    /// `ws://127.0.0.1:PORT{path}`.
    pub fn url_at(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Connects a client to `/ws`.
    pub async fn connect(&self) -> WsClient {
        WsClient::connect(&self.url()).await
    }

    /// Starts the graceful shutdown and waits for `serve()` to return.
    pub async fn shutdown(self) -> Result<(), ori::Error> {
        tokio::time::timeout(Duration::from_secs(30), self.inner.shutdown())
            .await
            .expect("server stops within 30 s")
    }

    /// The shutdown handle, to start a shutdown without waiting.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.inner.shutdown_handle()
    }

    /// Waits for `serve()` to return after a shutdown started elsewhere.
    pub async fn stopped(self) -> Result<(), ori::Error> {
        tokio::time::timeout(Duration::from_secs(30), self.inner.stopped())
            .await
            .expect("server stops within 30 s")
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A plain WebSocket client (tokio-tungstenite) with JSON helpers: it speaks
/// the wire protocol by hand, unlike `ori::client::Client`.
#[derive(Debug)]
pub struct WsClient {
    ws: Ws,
}

/// How a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The server answered the upgrade with this HTTP status.
    Status(u16),
    /// Anything else.
    Other(String),
}

impl WsClient {
    /// Connects, panicking with the reason on failure.
    pub async fn connect(url: &str) -> WsClient {
        WsClient::try_connect(url).await.unwrap_or_else(|e| panic!("connect to {url}: {e:?}"))
    }

    /// Connects; an HTTP refusal is reported with its status.
    pub async fn try_connect(url: &str) -> Result<WsClient, ConnectError> {
        WsClient::try_connect_request(url, &[]).await
    }

    /// Connects with extra request headers.
    pub async fn try_connect_request(url: &str, headers: &[(&str, &str)]) -> Result<WsClient, ConnectError> {
        use tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().map_err(|e| ConnectError::Other(e.to_string()))?;
        for (name, value) in headers {
            request.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await {
            Err(_) => Err(ConnectError::Other("timed out".into())),
            Ok(Ok((ws, _))) => Ok(WsClient { ws }),
            Ok(Err(tungstenite::Error::Http(response))) => {
                Err(ConnectError::Status(response.status().as_u16()))
            }
            Ok(Err(e)) => Err(ConnectError::Other(e.to_string())),
        }
    }

    /// Wraps a stream connected by other means (e.g. with extra handshake checks).
    pub fn from_stream(ws: Ws) -> WsClient {
        WsClient { ws }
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// Sends `value` as a text frame.
    pub async fn send(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends a raw frame.
    pub async fn send_message(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    /// The next text message as JSON (pings and pongs skipped); panics after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        match self.next_event().await {
            Event::Text(text) => {
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
            }
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Sends `value` and returns the next message.
    pub async fn request(&mut self, value: Value) -> Value {
        self.send(value).await;
        self.recv().await
    }

    /// The next frame, or the end of the stream.
    pub async fn next_event(&mut self) -> Event {
        let next = async {
            loop {
                return match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => Event::Text(text.to_string()),
                    Some(Ok(Message::Binary(bytes))) => Event::Binary(bytes.to_vec()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => {
                        Event::Close(frame.map(|f| (u16::from(f.code), f.reason.to_string())))
                    }
                    Some(Ok(Message::Frame(_))) => continue,
                    Some(Err(e)) => Event::Error(e.to_string()),
                    None => Event::End,
                };
            }
        };
        tokio::time::timeout(WAIT, next).await.expect("a frame within 5 s")
    }

    /// Reads until the server's close frame and completes the closing
    /// handshake (tungstenite replies, the server then ends the TCP
    /// connection); returns the code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        let frame = loop {
            match self.next_event().await {
                Event::Text(_) | Event::Binary(_) => continue,
                Event::Close(Some(frame)) => break frame,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        let end = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = self.ws.next().await {} }).await;
        assert!(end.is_ok(), "the server did not end the connection after the closing handshake");
        frame
    }

    /// Asserts that nothing arrives: waits [`QUIET`], then pings with a
    /// correlationId and expects the pong as the very next message.
    pub async fn assert_silent(&mut self) {
        tokio::time::sleep(QUIET).await;
        self.send(json!({"type": "ping", "correlationId": "__silence"})).await;
        let next = self.recv().await;
        assert_eq!(
            next,
            json!({"type": "pong", "data": null, "correlationId": "__silence"}),
            "expected nothing before the pong"
        );
    }

    /// Subscribes to `topic` and checks the acknowledgement.
    pub async fn subscribe(&mut self, topic: &str) {
        let ack = self.request(json!({"type": "subscribe", "data": {"topic": topic}})).await;
        assert_eq!(ack, json!({"type": "subscribe", "data": {"topic": topic}}));
    }

    /// Closes with 1000 and waits for the server's close frame.
    pub async fn close(mut self) {
        let frame = tungstenite::protocol::CloseFrame { code: CloseCode::Normal, reason: "".into() };
        let _ = self.ws.close(Some(frame)).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }

    /// The underlying stream.
    pub fn inner(&mut self) -> &mut Ws {
        &mut self.ws
    }
}

/// One thing read from a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A close frame (code, reason).
    Close(Option<(u16, String)>),
    /// A read error.
    Error(String),
    /// The stream ended without a close frame.
    End,
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request over a fresh TCP connection and reads the response
/// (bodies up to the connection close).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response within 5 s")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse { status, headers, body: body.to_owned() }
}

/// A WebSocket client that speaks raw frames, for what tungstenite will not
/// send: unmasked frames, fragments, invalid UTF-8, oversized headers.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// A frame read by [`RawClient`].
#[derive(Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// FIN bit.
    pub fin: bool,
    /// Opcode.
    pub opcode: u8,
    /// RSV1: compressed with permessage-deflate.
    pub rsv1: bool,
    /// Payload.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

impl RawClient {
    /// Performs the opening handshake on `path`.
    pub async fn connect(addr: SocketAddr, path: &str) -> RawClient {
        RawClient::handshake(TcpStream::connect(addr).await.expect("connect"), addr, path).await
    }

    /// Like [`RawClient::connect`], with the socket's receive buffer set to
    /// `bytes` (to make a slow consumer fill up quickly).
    pub async fn connect_with_recv_buffer(addr: SocketAddr, path: &str, bytes: u32) -> RawClient {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = socket.connect(addr).await.expect("connect");
        RawClient::handshake(stream, addr, path).await
    }

    async fn handshake(stream: TcpStream, addr: SocketAddr, path: &str) -> RawClient {
        RawClient::handshake_with(stream, addr, path, &[]).await.0
    }

    /// Performs the opening handshake on `path` with extra request headers
    /// (e.g. `sec-websocket-extensions`); returns the client and the 101's
    /// header lines, lowercased names.
    pub async fn connect_with(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (RawClient, Vec<(String, String)>) {
        let stream = TcpStream::connect(addr).await.expect("connect");
        RawClient::handshake_with(stream, addr, path, headers).await
    }

    async fn handshake_with(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (RawClient, Vec<(String, String)>) {
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
             sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 1024];
        let head_end = loop {
            let n =
                tokio::time::timeout(WAIT, stream.read(&mut chunk)).await.expect("handshake").expect("read");
            assert!(n > 0, "connection closed during handshake");
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "bad accept key: {head}");
        let response_headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        buffer.drain(..head_end);
        (RawClient { stream, buffer }, response_headers)
    }

    /// Encodes a client frame; `mask: None` sends it unmasked.
    pub fn encode(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(mask_bit | n as u8),
            n if n <= 0xFFFF => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(mask) => {
                out.extend_from_slice(&mask);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    /// Sends a masked frame.
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.send_bytes(&RawClient::encode(fin, opcode, payload, Some([0x12, 0x34, 0x56, 0x78]))).await;
    }

    /// Sends raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one server frame (`None` at EOF).
    pub async fn read_frame(&mut self) -> Option<RawFrame> {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buffer) {
                self.buffer.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("a frame within 5 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads frames until a close frame; returns its code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            let frame = self.read_frame().await.expect("a close frame before EOF");
            if frame.opcode == 8 {
                return frame.close_code().expect("close frame with a code");
            }
        }
    }

    /// Reads the next text frame as JSON (skipping control frames other than close).
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = self.read_frame().await.expect("a frame before EOF");
            match frame.opcode {
                1 => return serde_json::from_slice(&frame.payload).expect("JSON"),
                9 | 10 => continue,
                other => panic!("unexpected frame opcode {other}: {frame:?}"),
            }
        }
    }

    /// Whether the server closes the TCP connection (EOF) within [`WAIT`].
    pub async fn reaches_eof(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }
}

fn parse_server_frame(buf: &[u8]) -> Option<(RawFrame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "server frames must not be masked");
    let (len, start) = match buf[1] & 0x7F {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize, 10),
        n => (n as usize, 2),
    };
    let payload = buf.get(start..start + len)?.to_vec();
    let frame =
        RawFrame { fin: buf[0] & 0x80 != 0, opcode: buf[0] & 0x0F, rsv1: buf[0] & 0x40 != 0, payload };
    Some((frame, start + len))
}
