//! A real `nats-server` per test, on a free loopback port, that the test can
//! stop and start again (to test outages) on the same port. JetStream is on,
//! storing in a directory of its own that outlives a restart (and is
//! removed when the server is dropped).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server` child process. Killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    port: u16,
    child: Option<Child>,
    /// The certificate and key PEM files it requires TLS with, if any.
    tls: Option<(PathBuf, PathBuf)>,
}

impl NatsServer {
    /// Starts `nats-server` on a free port. When it is not installed, the
    /// test fails ([`tool_missing`](crate::tool_missing)), or, with
    /// `ORI_SKIP_MISSING=1` outside CI, this returns `None` and it is skipped.
    pub fn start() -> Option<NatsServer> {
        let mut server = NatsServer::reserve()?;
        server.resume();
        Some(server)
    }

    /// Picks a free port without starting the server (start it with
    /// [`resume`](NatsServer::resume)); `None` as for [`start`](NatsServer::start).
    pub fn reserve() -> Option<NatsServer> {
        let port = crate::port_for(
            "nats-server",
            "nats-server is not on the PATH (apt-get install nats-server), and the NATS tests need it",
        )?;
        Some(NatsServer { port, child: None, tls: None })
    }

    /// Starts `nats-server` requiring TLS with the certificate and key PEM
    /// files given (clients connect to `tls://`); `None` as for [`start`](NatsServer::start).
    pub fn start_tls(cert: PathBuf, key: PathBuf) -> Option<NatsServer> {
        let mut server = NatsServer::reserve()?;
        server.tls = Some((cert, key));
        server.resume();
        Some(server)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (an outage), waiting until it is gone.
    pub fn kill(&mut self) {
        crate::kill_child(&mut self.child);
    }

    /// Starts the server again on the same port and waits until it answers.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut command = Command::new("nats-server");
        command.args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"]).arg(self.store());
        if let Some((cert, key)) = &self.tls {
            command.arg("--tls").arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "nats-server did not answer within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Where JetStream keeps its streams.
    fn store(&self) -> PathBuf {
        std::env::temp_dir().join(format!("ori-nats-{}-{}", std::process::id(), self.port))
    }

    /// Kills the server and removes what JetStream kept (a server that comes
    /// back without its storage), then starts it again.
    pub fn restart_empty(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(self.store());
        self.resume();
    }

    /// Publishes `payload` on `subject` as another program would (the NATS
    /// text protocol over a plain socket), and waits until the server has it.
    pub fn publish_raw(&self, subject: &str, payload: &[u8]) {
        let (mut stream, mut reader) = self.raw().expect("nats-server answers");
        let mut command = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
        command.extend_from_slice(payload);
        command.extend_from_slice(b"\r\nPING\r\n");
        stream.write_all(&command).expect("publish");
        let mut line = String::new();
        while !line.starts_with("PONG") {
            line.clear();
            reader.read_line(&mut line).expect("the server answers");
            assert!(!line.starts_with("-ERR"), "nats-server refused: {line}");
        }
    }

    /// Whether it answers: with TLS, it sends its INFO (the rest is TLS);
    /// without, a plain connection gets PONG.
    fn answers(&self) -> bool {
        if self.tls.is_none() {
            return self.raw().is_some();
        }
        let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut info = String::new();
        BufReader::new(stream).read_line(&mut info).is_ok() && info.starts_with("INFO")
    }

    /// A connection that has said CONNECT and got PONG, or `None`.
    fn raw(&self) -> Option<(TcpStream, BufReader<TcpStream>)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut info = String::new();
        reader.read_line(&mut info).ok()?;
        if !info.starts_with("INFO") {
            return None;
        }
        stream.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").ok()?;
        let mut pong = String::new();
        reader.read_line(&mut pong).ok()?;
        pong.starts_with("PONG").then_some((stream, reader))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(self.store());
    }
}
