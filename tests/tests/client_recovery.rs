//! `ori::client::Client` with history and presence, over real sockets: after
//! a dropped connection it joins again from the last position it saw,
//! reports whether it recovered, delivers what it missed exactly once, and
//! keeps a presence map whose changes say who is a new member.

use std::time::Duration;

use ori::client::{Client, ClientEvent, PresenceChange, SubscribeOptions};
use ori::pubsub::InProcess;
use ori::{Ori, SocketContext, SocketRoutes};
use ori_tests::{LiveServer, WAIT, cross_instance};
use serde_json::{Value, json};

async fn kick(ctx: SocketContext) {
    ctx.close(4000, "kicked by the test");
}

async fn server() -> LiveServer {
    let app: Ori = cross_instance::app(InProcess::new())
        .socket_routes(SocketRoutes::new().route("kick", kick))
        .history("hist:*", 100, Duration::from_secs(60));
    LiveServer::start(app).await
}

async fn client(server: &LiveServer) -> Client {
    Client::builder(server.url())
        .reconnect_delay(Duration::from_millis(300))
        .max_reconnect_delay(Duration::from_millis(300))
        .connect()
        .await
        .unwrap()
}

/// The next event `pick` accepts (others skipped), within [`WAIT`].
async fn next<T>(events: &mut ori::client::Events, mut pick: impl FnMut(ClientEvent) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok(event)) = events.recv().await
                && let Some(found) = pick(event)
            {
                return found;
            }
        }
    })
    .await
    .expect("the event within 5 s")
}

fn message_data(event: ClientEvent) -> Option<(Value, u64)> {
    match event {
        ClientEvent::Message(push) => {
            let (_, offset) = push.position()?;
            Some((push.data::<Value>().unwrap(), offset))
        }
        _ => None,
    }
}

#[tokio::test]
async fn after_a_drop_the_client_recovers_what_it_missed_exactly_once() {
    let server = server().await;
    let client = client(&server).await;
    let mut events = client.events();
    let ack = client.subscribe_with("hist:c", SubscribeOptions::new()).await.unwrap();
    assert_eq!((ack.offset, ack.recovered), (Some(0), None));
    let publish =
        |n: u64| server.app.sockets().publish("hist:c", json!({"type": "m", "data": n}).to_string()).unwrap();
    for n in 1..=3 {
        publish(n);
    }
    for n in 1..=3 {
        assert_eq!(next(&mut events, message_data).await, (json!(n), n));
    }
    assert_eq!(client.position("hist:c").unwrap().offset, 3);

    let _ = client.request::<_, ()>("kick", &()).await;
    next(&mut events, |e| matches!(e, ClientEvent::Disconnected { .. }).then_some(())).await;
    for n in 4..=6 {
        publish(n);
    }
    let recovered = next(&mut events, |e| match e {
        ClientEvent::Recovered { topic, recovered } => Some((topic, recovered)),
        _ => None,
    })
    .await;
    assert_eq!(recovered, ("hist:c".to_owned(), true));
    for n in 4..=6 {
        assert_eq!(next(&mut events, message_data).await, (json!(n), n), "missed, once each, in order");
    }
    publish(7);
    assert_eq!(next(&mut events, message_data).await, (json!(7), 7));
    client.close().await;
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_to_refetch() {
    let server = server().await;
    let client = client(&server).await;
    let mut events = client.events();
    client.subscribe("hist:far").await.unwrap();
    let _ = client.request::<_, ()>("kick", &()).await;
    next(&mut events, |e| matches!(e, ClientEvent::Disconnected { .. }).then_some(())).await;
    for n in 1..=150 {
        server.app.sockets().publish("hist:far", json!({"type": "m", "data": n}).to_string()).unwrap();
    }
    let recovered = next(&mut events, |e| match e {
        ClientEvent::Recovered { recovered, .. } => Some(recovered),
        _ => None,
    })
    .await;
    assert!(!recovered, "150 missed, 100 kept");
    server.app.sockets().publish("hist:far", json!({"type": "m", "data": 151}).to_string()).unwrap();
    assert_eq!(next(&mut events, message_data).await, (json!(151), 151), "the live stream follows");
    client.close().await;
}

#[tokio::test]
async fn the_client_keeps_presence_and_says_who_is_a_new_member() {
    let server = server().await;
    let watcher = client(&server).await;
    let mut changes = watcher.presence_changes::<Value>();
    watcher.subscribe_with("room:p", SubscribeOptions::new().presence(true)).await.unwrap();
    let synced = tokio::time::timeout(WAIT, changes.recv()).await.unwrap().unwrap().unwrap();
    assert!(matches!(synced, PresenceChange::Synced { .. }), "{synced:?}");

    let phone = client(&server).await;
    let track = |meta: Value| json!({"topic": "room:p", "key": "alice", "meta": meta});
    phone.request::<_, ()>("presence.track", &track(json!({"device": "phone"}))).await.unwrap();
    let web = client(&server).await;
    web.request::<_, ()>("presence.track", &track(json!({"device": "web"}))).await.unwrap();
    let mut next_change =
        async || tokio::time::timeout(WAIT, changes.recv()).await.unwrap().unwrap().unwrap();
    match next_change().await {
        PresenceChange::Join { key, meta, new_member, .. } => {
            assert_eq!((key.as_str(), meta, new_member), ("alice", json!({"device": "phone"}), true));
        }
        other => panic!("{other:?}"),
    }
    match next_change().await {
        PresenceChange::Join { meta, new_member, .. } => {
            assert_eq!(
                (meta, new_member),
                (json!({"device": "web"}), false),
                "a second device, not a second member"
            );
        }
        other => panic!("{other:?}"),
    }
    let here = watcher.presence::<Value>("room:p").unwrap().unwrap();
    assert_eq!(here.len(), 1);
    assert_eq!(here.get("alice").unwrap().len(), 2);

    // The watcher drops; alice's phone leaves about then: as a diff, or as
    // the new state's difference, once either way.
    let _ = watcher.request::<_, ()>("kick", &()).await;
    phone.close().await;
    let (mut left, mut synced) = (0, 0);
    while left + synced < 2 {
        match next_change().await {
            PresenceChange::Leave { meta, gone, .. } => {
                assert_eq!((meta, gone), (json!({"device": "phone"}), false));
                left += 1;
            }
            PresenceChange::Synced { .. } => synced += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((left, synced), (1, 1));
    web.close().await;
    match next_change().await {
        PresenceChange::Leave { key, gone, .. } => assert_eq!((key.as_str(), gone), ("alice", true)),
        other => panic!("{other:?}"),
    }
    assert!(watcher.presence::<Value>("room:p").unwrap().unwrap().is_empty());
    watcher.close().await;
}
