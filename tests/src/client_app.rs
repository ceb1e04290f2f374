//! The app that `ori::client::Client`'s tests run against: routes that echo,
//! fail, hang and record; a greeting sent on open; a journal of what the server
//! saw that outlives restarts; and [`Restartable`], a server that can be stopped
//! and started again on the same address.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ori::CloseInfo;
use ori::client::{Client, ClientBuilder, ClientEvent, ConnectionState, Events};
use ori::prelude::*;
use ori::testing::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::WAIT;

/// What the server saw, shared across restarts.
#[derive(Debug, Default)]
pub struct Journal {
    /// Every `n` the `record` route received, in order.
    pub recorded: Mutex<Vec<u64>>,
    /// The close code of every connection that ended.
    pub closes: Mutex<Vec<u16>>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, SocketMessage)]
#[message(type = "room.note")]
/// What `record` publishes to `room`.
pub struct Note {
    /// The recorded number.
    pub n: u64,
}

#[derive(Debug, Serialize, Deserialize, SocketMessage)]
#[message(type = "hello")]
/// The greeting every connection gets on open.
pub struct Hello {
    /// The connection's id.
    pub socket_id: String,
}

/// Records `n`, then publishes it to `room` from the server (so the sender
/// receives it only if it is subscribed to `room`).
async fn record(ctx: SocketContext, n: u64) -> Result<(), SocketError> {
    let journal = ctx.app().get::<Arc<Journal>>().expect("journal");
    journal.recorded.lock().unwrap().push(n);
    ctx.sockets().emit("room", &Note { n })?;
    Ok(())
}

async fn echo(_ctx: SocketContext, data: Value) -> Result<Value, SocketError> {
    Ok(data)
}

async fn fail(_ctx: SocketContext, _data: Value) -> Result<(), SocketError> {
    Err(SocketError::new("teapot", "I refuse"))
}

/// An error with structured details.
async fn fail_detailed(_ctx: SocketContext, _data: Value) -> Result<(), SocketError> {
    let details = serde_json::json!({"retryAfterMs": 250, "reasons": ["busy", "queue \"full\""]});
    Err(SocketError::new("busy", "try again later").with_details(&details))
}

async fn hang(_ctx: SocketContext, _data: Value) -> Result<(), SocketError> {
    std::future::pending().await
}

/// `kick`: the server closes the connection (4000); the client reconnects.
async fn kick(ctx: SocketContext) {
    ctx.close(4000, "kicked");
}

/// `kept` data: publish `{"type":"kept","data":n}` on `topic` from the server.
#[derive(Debug, serde::Deserialize)]
struct Kept {
    topic: String,
    n: u64,
}

/// `kept`: a server-level publish (to every subscriber, the sender too).
async fn kept(ctx: SocketContext, data: Kept) -> Result<(), SocketError> {
    ctx.sockets().publish(&data.topic, serde_json::json!({"type": "kept", "data": data.n}).to_string())?;
    Ok(())
}

/// The connection's `token` query parameter, as its connection guard saw it
/// (at connect, or on the last re-authentication).
#[derive(Debug, Clone)]
pub struct Token(pub String);

/// Admits any token but `bad` (so that a re-authentication can be refused).
#[derive(Debug)]
pub struct TokenGuard;

impl ConnectionGuard for TokenGuard {
    type State = Token;

    async fn check(&self, request: &UpgradeRequest) -> Result<Token, Reject> {
        match request.query("token") {
            Some(token) if token == "bad" => Err(Reject::new("bad token")),
            token => Ok(Token(token.unwrap_or_default())),
        }
    }
}

async fn whoami(ctx: SocketContext<Token>) -> Data<String> {
    Data(ctx.state().0.clone())
}

/// The app: routes `echo`, `record`, `fail`, `hang`, `kick`, `kept`,
/// `whoami` (the token the guard saw), and
/// `presence.track`/`presence.untrack`; topics `hist:*` keep their last 100
/// messages; a greeting on open; closes journaled; `?token=revoked`
/// refused at the upgrade, `bad` by the connection guard (also on
/// re-authentication, which is on, with a 5 s grace).
pub fn app(journal: Arc<Journal>, config: WebSocketConfig) -> Ori {
    let on_close = journal.clone();
    Ori::create()
        .discover(false)
        .websocket(config.reauthentication(Duration::from_secs(5)))
        .connection_guard(TokenGuard)
        .provide_value(journal)
        .upgrade_handler(|request: UpgradeRequest| async move {
            (request.query("token").as_deref() != Some("revoked")).then_some(())
        })
        .on_open(|ws: SocketContext| async move {
            let _ = ws.send_message(&Hello { socket_id: ws.id().to_string() });
        })
        .on_close(move |_ws: SocketContext, info: CloseInfo| {
            let journal = on_close.clone();
            async move {
                journal.closes.lock().unwrap().push(info.code);
            }
        })
        .socket_routes(
            SocketRoutes::new()
                .route("echo", echo)
                .route("whoami", whoami)
                .route("record", record)
                .route("fail", fail)
                .route("fail.detailed", fail_detailed)
                .route("hang", hang)
                .route("kick", kick)
                .route("kept", kept)
                .route("presence.track", crate::routes::track)
                .route("presence.untrack", crate::routes::untrack),
        )
        .history("hist:*", 100, Duration::from_secs(60))
}

/// A server that can be stopped and started again on the same address.
#[derive(Debug)]
pub struct Restartable {
    addr: SocketAddr,
    /// What the server saw, across restarts.
    pub journal: Arc<Journal>,
    config: WebSocketConfig,
    /// The app's shutdown grace (ori's default when `None`).
    grace: Option<Duration>,
    running: Option<TestServer>,
}

impl Restartable {
    /// Starts the app on a free port.
    pub async fn start(config: WebSocketConfig) -> Restartable {
        Restartable::start_with_grace(config, None).await
    }

    /// Starts the app on a free port, with `grace` as its shutdown grace.
    pub async fn start_with_grace(config: WebSocketConfig, grace: Option<Duration>) -> Restartable {
        let journal = Arc::new(Journal::default());
        let addr = "127.0.0.1:0".parse().unwrap();
        let mut server = Restartable { addr, journal, config, grace, running: None };
        server.resume().await;
        server
    }

    /// Starts the app again, on the address it had.
    pub async fn resume(&mut self) {
        let mut app = app(self.journal.clone(), self.config.clone());
        if let Some(grace) = self.grace {
            app = app.shutdown_grace(grace);
        }
        let running = TestServer::start_at(app, self.addr).await.expect("binds");
        self.addr = running.addr();
        self.running = Some(running);
    }

    /// Shuts the server down and waits until it has stopped.
    pub async fn stop(&mut self) {
        let running = self.running.take().expect("running");
        tokio::time::timeout(WAIT, running.shutdown()).await.expect("stops").unwrap();
    }

    /// The address it listens on (the same after every restart).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR/ws`.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A client builder for [`Restartable::url`].
    pub fn builder(&self) -> ClientBuilder {
        Client::builder(self.url())
    }
}

/// The next event that `pick` accepts, skipping others (pushes, ...).
pub async fn next_event<T>(events: &mut Events, mut pick: impl FnMut(ClientEvent) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("events end").expect("no lag");
            if let Some(picked) = pick(event) {
                return picked;
            }
        }
    })
    .await
    .expect("event within 5 s")
}

/// Waits until `client` is in `state`.
pub async fn wait_state(client: &Client, state: ConnectionState) {
    let mut states = client.state_changes();
    tokio::time::timeout(WAIT, states.wait_for(|s| *s == state)).await.expect("state within 5 s").unwrap();
}
