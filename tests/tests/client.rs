//! `ori::client::Client` against real servers: requests, pushes, refusals,
//! reconnection (re-subscribe, then flush the queue in order), backoff bounds,
//! giving up, queue bounds, timeouts, keepalive, and a clean close.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ori::CloseInfo;
use ori::client::{Client, ClientBuilder, ClientError, ClientEvent, ConnectionState, Events};
use ori::prelude::*;
use ori::testing::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// What the server saw, shared across restarts.
#[derive(Default)]
struct Journal {
    recorded: Mutex<Vec<u64>>,
    closes: Mutex<Vec<u16>>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, SocketMessage)]
#[message(type = "room.note")]
struct Note {
    n: u64,
}

#[derive(Debug, Serialize, Deserialize, SocketMessage)]
#[message(type = "hello")]
struct Hello {
    socket_id: String,
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

async fn hang(_ctx: SocketContext, _data: Value) -> Result<(), SocketError> {
    std::future::pending().await
}

fn app(journal: Arc<Journal>, config: WebSocketConfig) -> Ori {
    let on_close = journal.clone();
    Ori::create()
        .discover(false)
        .websocket(config)
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
                .route("record", record)
                .route("fail", fail)
                .route("hang", hang),
        )
}

/// A server that can be stopped and started again on the same address.
struct Restartable {
    addr: SocketAddr,
    journal: Arc<Journal>,
    config: WebSocketConfig,
    running: Option<TestServer>,
}

impl Restartable {
    async fn start(config: WebSocketConfig) -> Restartable {
        let journal = Arc::new(Journal::default());
        let mut server = Restartable { addr: "127.0.0.1:0".parse().unwrap(), journal, config, running: None };
        server.resume().await;
        server
    }

    async fn resume(&mut self) {
        let app = app(self.journal.clone(), self.config.clone());
        let running = TestServer::start_at(app, self.addr).await.expect("binds");
        self.addr = running.addr();
        self.running = Some(running);
    }

    async fn stop(&mut self) {
        let running = self.running.take().expect("running");
        tokio::time::timeout(WAIT, running.shutdown()).await.expect("stops").unwrap();
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn builder(&self) -> ClientBuilder {
        Client::builder(self.url())
    }
}

/// The next event that `pick` accepts, skipping others (pushes, ...).
async fn next_event<T>(events: &mut Events, mut pick: impl FnMut(ClientEvent) -> Option<T>) -> T {
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

async fn wait_state(client: &Client, state: ConnectionState) {
    let mut states = client.state_changes();
    tokio::time::timeout(WAIT, states.wait_for(|s| *s == state)).await.expect("state within 5 s").unwrap();
}

#[tokio::test]
async fn requests_get_their_replies_and_errors_become_typed() {
    let server = Restartable::start(WebSocketConfig::default()).await;
    let client = server.builder().connect().await.unwrap();
    assert_eq!(client.state(), ConnectionState::Open);

    let echoed: Value = client.request("echo", &json!({"a": [1, 2]})).await.unwrap();
    assert_eq!(echoed, json!({"a": [1, 2]}));
    // Pipelined requests are matched by correlationId.
    let (a, b, c) = tokio::join!(
        client.request::<_, u64>("echo", &1),
        client.request::<_, u64>("echo", &2),
        client.request::<_, u64>("echo", &3)
    );
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (1, 2, 3));

    let refused = client.request::<_, ()>("fail", &()).await.unwrap_err();
    assert_eq!(refused, ClientError::Server { code: "teapot".into(), message: "I refuse".into() });
    let unknown = client.request::<_, ()>("nope", &()).await.unwrap_err();
    assert!(matches!(&unknown, ClientError::Server { code, .. } if code == "unknown_type"), "{unknown:?}");
    let wrong_type = client.request::<_, String>("echo", &5).await.unwrap_err();
    assert!(matches!(wrong_type, ClientError::Decode { .. }), "{wrong_type:?}");
    client.close().await;
}

#[tokio::test]
async fn pushes_reach_listeners_raw_and_typed_including_the_one_sent_on_open() {
    let server = Restartable::start(WebSocketConfig::default()).await;
    let client = server.builder().connect().await.unwrap();
    // The first listener sees what the server pushed while the connection opened.
    let mut hello = client.on::<Hello>();
    let greeting = tokio::time::timeout(WAIT, hello.recv()).await.unwrap().unwrap().unwrap();
    assert!(!greeting.socket_id.is_empty());

    let mut notes = client.on::<Note>();
    let mut events = client.events();
    client.subscribe("room").await.unwrap();
    assert_eq!(client.topics(), vec!["room".to_owned()]);
    client.send("record", &7).unwrap();
    assert_eq!(tokio::time::timeout(WAIT, notes.recv()).await.unwrap().unwrap().unwrap(), Note { n: 7 });
    let raw = next_event(&mut events, |e| match e {
        ClientEvent::Message(push) if push.message_type() == "room.note" => Some(push),
        _ => None,
    })
    .await;
    assert_eq!(raw.raw_data().get(), r#"{"n":7}"#);

    client.unsubscribe("room").await.unwrap();
    assert!(client.topics().is_empty());
    client.close().await;
}

#[tokio::test]
async fn refusals_are_clear_errors_and_never_retried() {
    let server = Restartable::start(WebSocketConfig::default()).await;
    let refused = server.builder().query("token", "revoked").connect().await.unwrap_err();
    assert_eq!(refused, ClientError::Refused { status: 401 });
    assert!(refused.is_refusal());
    assert!(refused.to_string().contains("401"), "{refused}");

    let unreachable = Client::connect("ws://127.0.0.1:1/ws").await.unwrap_err();
    assert!(matches!(unreachable, ClientError::Connect(_)), "{unreachable:?}");
    assert!(!unreachable.is_refusal());
}

#[tokio::test]
async fn a_guard_refusal_is_rejected_with_its_close_code() {
    #[connection_guard]
    struct NoOne;
    impl ConnectionGuard for NoOne {
        type State = ();
        async fn check(&self, _request: &UpgradeRequest) -> Result<(), Reject> {
            Err(Reject::new("nobody gets in"))
        }
    }
    #[injectable]
    struct Guarded;
    #[socket_router(guard = NoOne)]
    impl Guarded {
        #[on("guarded.x")]
        async fn x(&self) {}
    }
    let app =
        Ori::create().discover(false).websocket(WebSocketConfig::default()).only_socket_router::<Guarded>();
    let server = TestServer::start(app).await.unwrap();
    let rejected = server.client().await.unwrap_err();
    assert_eq!(rejected, ClientError::Rejected { code: 1008, reason: "nobody gets in".into() });
    assert!(rejected.is_refusal());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn after_a_restart_the_client_rejoins_its_topics_then_flushes_its_queue_in_order() {
    // A short grace: the hanging handler is dropped at shutdown.
    let mut server =
        Restartable::start(WebSocketConfig::default().shutdown_grace(Duration::from_millis(100))).await;
    let client = server
        .builder()
        .reconnect_delay(Duration::from_millis(20))
        .max_reconnect_delay(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let mut events = client.events();
    let mut notes = client.on::<Note>();
    client.subscribe("room").await.unwrap();

    // A request in flight when the server goes away fails clearly.
    let in_flight = {
        let client = client.clone();
        tokio::spawn(async move { client.request::<_, ()>("hang", &()).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop().await;
    assert_eq!(in_flight.await.unwrap(), Err(ClientError::Disconnected));
    let (code, _) = next_event(&mut events, |e| match e {
        ClientEvent::Disconnected { code, reason } => Some((code, reason)),
        _ => None,
    })
    .await;
    assert_eq!(code, Some(1001), "the server said it was going away");

    // Queued while the server is down: a request and plain sends.
    let queued_request = {
        let client = client.clone();
        tokio::spawn(async move { client.request::<_, u64>("echo", &99).await })
    };
    for n in 0..5 {
        client.send("record", &n).unwrap();
    }
    server.resume().await;
    next_event(&mut events, |e| matches!(e, ClientEvent::Open { reconnected: true }).then_some(())).await;

    assert_eq!(queued_request.await.unwrap(), Ok(99));
    // The server ran them in order, and each note came back: `room` was joined again first.
    for n in 0..5 {
        assert_eq!(tokio::time::timeout(WAIT, notes.recv()).await.unwrap().unwrap().unwrap(), Note { n });
    }
    assert_eq!(*server.journal.recorded.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(client.topics(), vec!["room".to_owned()]);
    client.close().await;
}

#[tokio::test]
async fn backoff_grows_within_its_bounds_then_gives_up_after_max_attempts() {
    let mut server = Restartable::start(WebSocketConfig::default()).await;
    let client = server
        .builder()
        .reconnect_delay(Duration::from_millis(40))
        .max_reconnect_delay(Duration::from_millis(160))
        .max_reconnect_attempts(4)
        .connect()
        .await
        .unwrap();
    let mut events = client.events();
    server.stop().await;

    let mut attempts = Vec::new();
    let reason = loop {
        match next_event(&mut events, Some).await {
            ClientEvent::Reconnecting { attempt, delay } => attempts.push((attempt, delay)),
            ClientEvent::Closed { reason, .. } => break reason,
            _ => {}
        }
    };
    let full = [40, 80, 160, 160];
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    for ((attempt, delay), (expected_attempt, full)) in attempts.iter().zip((1..).zip(full)) {
        assert_eq!(*attempt, expected_attempt);
        let full = Duration::from_millis(full);
        assert!(
            *delay >= full / 2 && *delay <= full,
            "attempt {attempt}: {delay:?} outside {:?}..={full:?}",
            full / 2
        );
    }
    assert!(reason.contains("gave up after 4 attempts"), "{reason}");
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(client.request::<_, ()>("echo", &()).await, Err(ClientError::Closed));
}

#[tokio::test]
async fn the_waits_between_attempts_are_really_waited() {
    let mut server = Restartable::start(WebSocketConfig::default()).await;
    let client = server
        .builder()
        .reconnect_delay(Duration::from_millis(100))
        .max_reconnect_delay(Duration::from_millis(100))
        .max_reconnect_attempts(3)
        .connect()
        .await
        .unwrap();
    let mut events = client.events();
    server.stop().await;
    let started = Instant::now();
    next_event(&mut events, |e| matches!(e, ClientEvent::Closed { .. }).then_some(())).await;
    // Three waits of 50..=100 ms each.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(150), "gave up after {elapsed:?}");
}

#[tokio::test]
async fn a_refusal_after_a_restart_ends_the_client_instead_of_retrying() {
    let mut server = Restartable::start(WebSocketConfig::default()).await;
    let client = server.builder().reconnect_delay(Duration::from_millis(20)).connect().await.unwrap();
    let mut events = client.events();
    server.stop().await;
    // The new server refuses every connection (401).
    let refusing = Ori::create()
        .discover(false)
        .websocket(WebSocketConfig::default())
        .upgrade_handler(|_request: UpgradeRequest| async move { None::<()> })
        .shutdown_signal(std::future::pending())
        .bind(server.addr)
        .await
        .unwrap();
    let stop = refusing.shutdown_handle();
    let serving = tokio::spawn(refusing.serve());
    let reason = next_event(&mut events, |e| match e {
        ClientEvent::Closed { reason, .. } => Some(reason),
        _ => None,
    })
    .await;
    assert!(reason.contains("refused") && reason.contains("401"), "{reason}");
    assert_eq!(client.state(), ConnectionState::Closed);
    stop.shutdown();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_full_queue_is_an_error_returned_to_the_caller() {
    let mut server = Restartable::start(WebSocketConfig::default()).await;
    let client =
        server.builder().reconnect_delay(Duration::from_secs(30)).max_queued(3).connect().await.unwrap();
    server.stop().await;
    wait_state(&client, ConnectionState::Reconnecting { attempt: 1 }).await;
    for n in 0..3 {
        client.send("record", &n).unwrap();
    }
    assert_eq!(client.send("record", &3), Err(ClientError::QueueFull { limit: 3 }));
    let error = client.request::<_, ()>("echo", &()).await.unwrap_err();
    assert_eq!(error, ClientError::QueueFull { limit: 3 });
    assert!(error.to_string().contains("max_queued"));
    client.close().await;
    assert_eq!(client.state(), ConnectionState::Closed);
}

#[tokio::test]
async fn a_request_without_reply_times_out() {
    let server = Restartable::start(WebSocketConfig::default()).await;
    let client = server.builder().request_timeout(Duration::from_millis(200)).connect().await.unwrap();
    let started = Instant::now();
    assert_eq!(client.request::<_, ()>("hang", &()).await, Err(ClientError::Timeout));
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The connection is fine afterwards.
    assert_eq!(client.request::<_, u64>("echo", &1).await, Ok(1));
}

#[tokio::test]
async fn the_client_answers_server_pings_and_keeps_an_idle_connection_alive() {
    // The server closes connections silent for 600 ms (pinging at 300 ms).
    let server =
        Restartable::start(WebSocketConfig::default().idle_timeout(Duration::from_millis(600))).await;
    let quiet = server.builder().connect().await.unwrap();
    let chatty = server.builder().keepalive(Duration::from_millis(100)).connect().await.unwrap();
    let mut quiet_events = quiet.events();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for client in [&quiet, &chatty] {
        assert_eq!(client.state(), ConnectionState::Open);
        assert_eq!(client.request::<_, u64>("echo", &1).await, Ok(1));
    }
    // No reconnection happened behind our back.
    while let Ok(Some(Ok(event))) = tokio::time::timeout(Duration::from_millis(10), quiet_events.recv()).await
    {
        assert!(!matches!(event, ClientEvent::Disconnected { .. }), "{event:?}");
    }
}

#[tokio::test]
async fn close_sends_1000_and_stops_for_good() {
    let server = Restartable::start(WebSocketConfig::default()).await;
    let client = server.builder().connect().await.unwrap();
    let mut events = client.events();
    client.close().await;
    assert_eq!(client.state(), ConnectionState::Closed);
    let (code, reason) = next_event(&mut events, |e| match e {
        ClientEvent::Closed { code, reason } => Some((code, reason)),
        _ => None,
    })
    .await;
    assert_eq!((code, reason.as_str()), (Some(1000), "closed by the client"));
    tokio::time::timeout(WAIT, async {
        while server.journal.closes.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server saw the close");
    assert_eq!(*server.journal.closes.lock().unwrap(), vec![1000]);
    assert_eq!(client.send("echo", &1), Err(ClientError::Closed));
    client.close().await; // twice is fine
}

#[tokio::test]
async fn dropping_the_last_clone_closes_the_connection() {
    let server = Restartable::start(WebSocketConfig::default()).await;
    let client = server.builder().connect().await.unwrap();
    let mut states = client.state_changes();
    drop(client);
    tokio::time::timeout(WAIT, states.wait_for(|s| *s == ConnectionState::Closed)).await.unwrap().unwrap();
}
