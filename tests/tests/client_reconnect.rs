//! `ori::client::Client` across server restarts: re-subscribing, then
//! flushing the queue in order; backoff bounds and giving up; refusals that end
//! the client; and the bound on what it queues while disconnected.

use std::time::{Duration, Instant};

use ori::client::{ClientError, ClientEvent, ConnectionState};
use ori::prelude::*;
use ori_tests::WAIT;
use ori_tests::client_app::{Note, Restartable, next_event, wait_state};

#[tokio::test]
async fn after_a_restart_the_client_rejoins_its_topics_then_flushes_its_queue_in_order() {
    // A short grace: the hanging handler is dropped at shutdown.
    let mut server =
        Restartable::start_with_grace(WebSocketConfig::default(), Some(Duration::from_millis(100))).await;
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
    // The server went away on purpose (1001): the first attempt is at once
    // (jitter up to the first wait), and the waits then grow from the first.
    let full = [40, 40, 80, 160];
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    for ((attempt, delay), (expected_attempt, full)) in attempts.iter().zip((1..).zip(full)) {
        assert_eq!(*attempt, expected_attempt);
        let full = Duration::from_millis(full);
        let least = if expected_attempt == 1 { Duration::ZERO } else { full / 2 };
        assert!(
            *delay >= least && *delay <= full,
            "attempt {attempt}: {delay:?} outside {least:?}..={full:?}"
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
    // A graceful stop (1001): the first attempt comes after a jitter only
    // (0..=100 ms: the reconnect delay caps it), then two waits of 50..=100 ms.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "gave up after {elapsed:?}");
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
        .bind(server.addr())
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
async fn with_fallback_urls_the_client_skips_a_dead_one_and_moves_on_when_its_server_goes() {
    use ori::client::Client;
    use ori::pubsub::InProcess;
    use ori_tests::{LiveServer, cross_instance};
    use serde_json::json;

    // Nothing listens here: the port was bound, then released.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("ws://{}/ws", listener.local_addr().unwrap())
    };
    let first = LiveServer::start(cross_instance::app(InProcess::new())).await;
    let second = LiveServer::start(cross_instance::app(InProcess::new())).await;
    let client = Client::builder(dead)
        .fallback_url(first.url())
        .fallback_url(second.url())
        .reconnect_delay(Duration::from_millis(20))
        .max_reconnect_delay(Duration::from_millis(100))
        .connect()
        .await
        .expect("connect tries the next URL when one does not answer");
    let mut events = client.events();
    client.subscribe("room").await.unwrap();
    assert_eq!(first.app.sockets().connection_count(), 1);

    first.shutdown().await.unwrap();
    next_event(&mut events, |e| matches!(e, ClientEvent::Open { reconnected: true }).then_some(())).await;
    // It went to the URL after the one that dropped, and joined `room` there
    // before anything else it sends (the ping's reply shows it is done).
    assert_eq!(second.app.sockets().connection_count(), 1);
    client.request::<_, serde_json::Value>("ping", &()).await.unwrap();
    assert_eq!(second.app.sockets().count_subscribers("room").await, Ok(1));
    second.app.sockets().publish("room", json!({"type": "note", "data": {"n": 7}}).to_string()).unwrap();
    let pushed = next_event(&mut events, |e| match e {
        ClientEvent::Message(push) => Some(push.data::<serde_json::Value>().unwrap()),
        _ => None,
    })
    .await;
    assert_eq!(pushed, json!({"n": 7}));
    client.close().await;
}

#[tokio::test]
async fn a_refusal_is_final_even_with_fallback_urls() {
    use ori::pubsub::InProcess;
    use ori_tests::{LiveServer, cross_instance};

    let refusing = Ori::create()
        .discover(false)
        .websocket(WebSocketConfig::default())
        .upgrade_handler(|_request: UpgradeRequest| async move { None::<()> });
    let refusing = LiveServer::start(refusing).await;
    let healthy = LiveServer::start(cross_instance::app(InProcess::new())).await;
    // The first URL refuses (401); the second would accept, and is not tried.
    let error =
        ori::client::Client::builder(refusing.url()).fallback_url(healthy.url()).connect().await.unwrap_err();
    assert_eq!(error, ClientError::Refused { status: 401 });
    assert_eq!(healthy.app.sockets().connection_count(), 0);
}
