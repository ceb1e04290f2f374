//! A real `redis-server` per test, on a free loopback port, that the test can
//! stop and start again (to test outages) on the same port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process. Killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port. When it is not installed, the
    /// test fails ([`tool_missing`](crate::tool_missing)), or, with
    /// `ORI_SKIP_MISSING=1` outside CI, this returns `None` and it is skipped.
    pub fn start() -> Option<RedisServer> {
        let mut server = RedisServer::reserve()?;
        server.resume();
        Some(server)
    }

    /// Picks a free port without starting the server (start it with
    /// [`resume`](RedisServer::resume)); `None` as for [`start`](RedisServer::start).
    pub fn reserve() -> Option<RedisServer> {
        let port =
            crate::port_for("redis-server", "redis-server is not on the PATH, and the Redis tests need it")?;
        Some(RedisServer { port, child: None })
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (an outage), waiting until the port is closed.
    pub fn kill(&mut self) {
        crate::kill_child(&mut self.child);
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the running server: a stalled
    /// Redis keeps its connections open and answers nothing.
    pub fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status =
            Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill {signal}");
    }

    /// Starts the server again on the same port and waits until it answers.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut conn) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not answer within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A blocking client connection, for `PUBSUB` queries and raw publishes.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("url").get_connection().expect("connects")
    }

    /// The channels with at least one subscriber, sorted.
    pub fn channels(&self) -> Vec<String> {
        let mut channels: Vec<String> =
            redis::cmd("PUBSUB").arg("CHANNELS").query(&mut self.connection()).expect("PUBSUB CHANNELS");
        channels.sort();
        channels
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
