//! TLS over real sockets: `wss://` and `https://` on the server's port from
//! PEM files made at test time, certificates reloaded while serving, and the
//! client's clear, unretried errors for certificates it must not trust.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ori::client::{Client, ClientBuilder, ClientError};
use ori::testing::TestServer;
use ori::{Ori, SocketContext, SocketError, SocketRoutes, Tls, WebSocketConfig};
use ori_tests::{LiveServer, http};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A self-signed certificate for 127.0.0.1 and localhost: (cert PEM, key PEM).
fn certificate(expired: bool) -> (String, String) {
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// PEM files in a fresh temporary folder, removed on drop.
struct PemFiles {
    dir: PathBuf,
}

impl PemFiles {
    fn new((cert, key): &(String, String)) -> PemFiles {
        let dir = std::env::temp_dir().join(format!("ori-tls-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = PemFiles { dir };
        files.write((cert, key));
        files
    }

    fn write(&self, (cert, key): (&str, &str)) {
        std::fs::write(self.cert(), cert).unwrap();
        std::fs::write(self.key(), key).unwrap();
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    format!("{}-{:?}", std::process::id(), Instant::now())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

async fn echo(_ctx: SocketContext, data: Value) -> Result<Value, SocketError> {
    Ok(data)
}

fn app(tls: Tls) -> Ori {
    Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::new().route("echo", echo))
        .routes(axum::Router::new().route("/health", axum::routing::get(|| async { "ok" })))
        .tls(tls)
}

fn wss(server: &TestServer) -> String {
    format!("wss://127.0.0.1:{}/ws", server.addr().port())
}

/// A client of `url` that trusts `ca` (PEM), or the system's roots.
fn builder(url: &str, ca: Option<&str>) -> ClientBuilder {
    let builder = Client::builder(url);
    match ca {
        Some(ca) => builder.tls_root_pem(ca.as_bytes().to_vec()),
        None => builder,
    }
}

async fn connect(url: &str, ca: Option<&str>) -> Result<Client, ClientError> {
    builder(url, ca).reconnect(false).connect().await
}

#[tokio::test]
async fn wss_serves_messages_and_the_url_says_so() {
    let pem = certificate(false);
    let files = PemFiles::new(&pem);
    let server =
        TestServer::start(app(Tls::from_pem_files(files.cert(), files.key()).unwrap())).await.unwrap();
    assert_eq!(server.url(), wss(&server), "the URL says wss");
    let client = connect(&wss(&server), Some(&pem.0)).await.expect("wss with the test CA");
    let echoed: Value = client.request("echo", &json!({"over": "tls"})).await.unwrap();
    assert_eq!(echoed, json!({"over": "tls"}));
    client.close().await;
}

#[tokio::test]
async fn a_reloaded_certificate_serves_new_connections_and_old_ones_stay() {
    let (first, second) = (certificate(false), certificate(false));
    let files = PemFiles::new(&first);
    let tls = Tls::from_pem_files(files.cert(), files.key()).unwrap();
    let server = TestServer::start(app(tls.clone())).await.unwrap();
    let old = connect(&wss(&server), Some(&first.0)).await.unwrap();

    files.write((&second.0, &second.1));
    tls.reload().unwrap();
    let refused = connect(&wss(&server), Some(&first.0)).await.unwrap_err();
    assert!(matches!(refused, ClientError::Tls(_)), "{refused:?}");
    let new = connect(&wss(&server), Some(&second.0)).await.expect("the new certificate");
    assert_eq!(new.request::<_, u32>("echo", &1).await.unwrap(), 1);
    assert_eq!(old.request::<_, u32>("echo", &2).await.unwrap(), 2, "open connections keep theirs");

    // A broken file leaves the current certificate in place.
    std::fs::write(files.key(), "not a key").unwrap();
    let error = tls.reload().unwrap_err().to_string();
    assert!(error.contains("key.pem"), "{error}");
    assert!(connect(&wss(&server), Some(&second.0)).await.is_ok());
}

#[tokio::test]
async fn untrusted_and_expired_certificates_are_clear_errors_not_retried() {
    for expired in [false, true] {
        let pem = certificate(expired);
        let files = PemFiles::new(&pem);
        let server =
            TestServer::start(app(Tls::from_pem_files(files.cert(), files.key()).unwrap())).await.unwrap();
        let url = wss(&server);
        // Untrusted (system roots) or expired (its own CA): refused at once, reconnecting or not.
        let ca = if expired { Some(pem.0.as_str()) } else { None };
        let started = Instant::now();
        let error = builder(&url, ca).reconnect_delay(Duration::from_millis(10)).connect().await.unwrap_err();
        let ClientError::Tls(reason) = &error else { panic!("{error:?}") };
        let expected = if expired { "expired" } else { "UnknownIssuer" };
        assert!(reason.contains(expected), "{reason}");
        assert!(error.is_refusal(), "not retried");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(error.to_string().contains("tls_root_pem"), "says what to do: {error}");
    }
}

#[tokio::test]
async fn plain_http_on_the_tls_port_and_tls_on_the_plain_port_are_refused_cleanly() {
    let pem = certificate(false);
    let files = PemFiles::new(&pem);
    let server =
        TestServer::start(app(Tls::from_pem_files(files.cert(), files.key()).unwrap())).await.unwrap();
    // Plain HTTP to the TLS port: the handshake fails and the server hangs up.
    let mut plain = TcpStream::connect(server.addr()).await.unwrap();
    plain.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(_)) | Ok(Err(_))), "the server ends the connection");
    assert!(!String::from_utf8_lossy(&rest).contains("ok"), "no HTTP answer in clear text");
    // The server goes on serving TLS.
    assert!(connect(&wss(&server), Some(&pem.0)).await.is_ok());

    // A TLS client on a plain server: a clear TLS error, and the server goes on.
    let plain_server = LiveServer::start(
        Ori::create()
            .allow_no_routers()
            .websocket(WebSocketConfig::default())
            .routes(axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }))),
    )
    .await;
    let url = format!("wss://127.0.0.1:{}/ws", plain_server.addr.port());
    let error = connect(&url, Some(&pem.0)).await.unwrap_err();
    assert!(matches!(error, ClientError::Tls(_)), "{error:?}");
    assert_eq!(http(plain_server.addr, "GET", "/health", &[], "").await.body, "ok");
}

#[test]
fn bad_pem_files_name_the_file_and_the_problem() {
    let pem = certificate(false);
    let files = PemFiles::new(&pem);
    let missing = Tls::from_pem_files(files.dir.join("nope.pem"), files.key()).unwrap_err().to_string();
    assert!(missing.contains("nope.pem"), "{missing}");
    let other = certificate(false);
    std::fs::write(files.key(), &other.1).unwrap();
    let mismatch = Tls::from_pem_files(files.cert(), files.key()).unwrap_err().to_string();
    assert!(mismatch.contains("does not match"), "{mismatch}");
    std::fs::write(files.cert(), "hello").unwrap();
    let empty = Tls::from_pem_files(files.cert(), files.key()).unwrap_err().to_string();
    assert!(empty.contains("no CERTIFICATE"), "{empty}");
}
