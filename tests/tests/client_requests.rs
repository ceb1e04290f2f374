//! `ori::client::Client` against a real server: requests and their replies,
//! pushes (raw and typed), refusals, timeouts, keepalive, and closing.

use std::time::{Duration, Instant};

use ori::client::{Client, ClientError, ClientEvent, ConnectionState};
use ori::prelude::*;
use ori::testing::TestServer;
use ori_tests::WAIT;
use ori_tests::client_app::{Hello, Note, Restartable, next_event};
use serde_json::{Value, json};

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
    assert_eq!(
        refused,
        ClientError::Server { code: "teapot".into(), message: "I refuse".into(), details: None }
    );
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Busy {
        retry_after_ms: u64,
        reasons: Vec<String>,
    }
    let busy = client.request::<_, ()>("fail.detailed", &()).await.unwrap_err();
    assert!(matches!(&busy, ClientError::Server { code, .. } if code == "busy"), "{busy:?}");
    let details = busy.details::<Busy>().expect("details").expect("a Busy");
    assert_eq!(
        (details.retry_after_ms, details.reasons),
        (250, vec!["busy".to_owned(), "queue \"full\"".to_owned()])
    );
    assert!(busy.details::<u64>().expect("details").is_err(), "details of another shape are an error");
    assert!(refused.details::<Busy>().is_none(), "no details");
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
