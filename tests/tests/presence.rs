//! PROTOCOL.md "Presence" on one instance (the in-process backend), over
//! real sockets: state then diffs, a second device, updates, closes, the
//! query, the authorizer, bad input, the state limit, typed presence for
//! the server, and the order at the seam while members keep changing.

use ori::pubsub::InProcess;
use ori::{Presence, Socket};
use ori_tests::presence::{diff, track, watch};
use ori_tests::{LiveServer, WsClient, cross_instance};
use serde_json::{Value, json};

async fn server() -> LiveServer {
    LiveServer::start(cross_instance::app(InProcess::new())).await
}

#[tokio::test]
async fn a_watcher_gets_the_state_then_every_change_once() {
    let server = server().await;
    ori_tests::presence::state_then_every_change_once(std::slice::from_ref(&server)).await;
}

async fn request(c: &mut WsClient, message_type: &str, data: Value) -> Value {
    c.request(json!({"type": message_type, "data": data, "correlationId": "r"})).await
}

#[tokio::test]
async fn bad_tracks_are_refused_and_track_nothing() {
    let server = server().await;
    let mut c = server.connect().await;
    let cases = [
        (json!({"topic": "has space", "key": "a"}), "bad_request"),
        (json!({"topic": "__broadcast__", "key": "a"}), "forbidden"),
        (json!({"topic": "room", "key": ""}), "bad_request"),
        (json!({"topic": "room", "key": "k".repeat(257)}), "bad_request"),
        (json!({"topic": "room", "key": "a", "meta": {"blob": "x".repeat(1100)}}), "bad_request"),
    ];
    for (data, code) in cases {
        let reply = request(&mut c, "presence.track", data.clone()).await;
        assert_eq!(reply["error"]["code"], code, "{data}: {reply}");
    }
    let reply = request(
        &mut c,
        "presence.track",
        json!({"topic": "room", "key": "a", "meta": {"blob": "x".repeat(1100)}}),
    )
    .await;
    assert!(reply["error"]["message"].as_str().unwrap().contains("limit of 1024"), "{reply}");
    let reply = request(&mut c, "presence.update", json!({"topic": "room", "key": "a", "meta": 1})).await;
    assert_eq!(reply["error"]["code"], "internal", "an update of nothing is the app's mistake: {reply}");
    let here: Presence<Value> = server.app.sockets().presence("room").await.unwrap();
    assert!(here.is_empty(), "nothing was tracked: {here:?}");
    // A meta of exactly 1024 bytes is fine.
    let meta = json!("x".repeat(1022));
    assert_eq!(meta.to_string().len(), 1024);
    assert_eq!(
        request(&mut c, "presence.track", json!({"topic": "room", "key": "a", "meta": meta})).await["data"],
        Value::Null
    );
}

#[tokio::test]
async fn presence_messages_are_checked_like_subscribe() {
    let app = cross_instance::app(InProcess::new())
        .topic_authorizer(|_socket: &Socket, topic: &str| !topic.starts_with("secret:"));
    let server = LiveServer::start(app).await;
    let mut c = server.connect().await;
    for topic in ["secret:x"] {
        assert_eq!(request(&mut c, "presence", json!({"topic": topic})).await["error"]["code"], "forbidden");
        let reply = request(&mut c, "subscribe", json!({"topic": topic, "presence": true})).await;
        assert_eq!(reply["error"]["code"], "forbidden");
    }
    assert_eq!(
        request(&mut c, "presence", json!({"topic": "bad topic"})).await["error"]["code"],
        "bad_request"
    );
    assert_eq!(
        request(&mut c, "presence", json!({"topic": "__broadcast__"})).await["error"]["code"],
        "forbidden"
    );
    assert_eq!(request(&mut c, "presence", json!({})).await["error"]["code"], "bad_request");
    for reserved in ["presence_state", "presence_diff"] {
        assert_eq!(request(&mut c, reserved, json!({})).await["error"]["code"], "unknown_type", "{reserved}");
    }
    c.assert_silent().await;
}

#[tokio::test]
async fn the_state_holds_at_most_ten_thousand_keys_and_says_so() {
    let server = server().await;
    let mut tracker = server.connect().await;
    let reply = request(&mut tracker, "presence.many", json!({"topic": "big", "count": 10_001})).await;
    assert_eq!(reply["data"], Value::Null, "{reply}");
    let mut c = server.connect().await;
    let state = watch(&mut c, "big").await;
    assert_eq!(state["members"].as_object().unwrap().len(), 10_000);
    assert_eq!(state["truncated"], true);
    let reply = request(&mut c, "presence", json!({"topic": "big"})).await;
    assert_eq!(reply["data"]["truncated"], true);
    let typed: Presence<Value> = server.app.sockets().presence("big").await.unwrap();
    assert_eq!(typed.len(), 10_001, "the server sees everyone");
    let reply = request(&mut c, "presence.many", json!({"topic": "small", "count": 3})).await;
    assert_eq!(reply["data"], Value::Null);
    let reply = request(&mut c, "presence", json!({"topic": "small"})).await;
    assert!(reply["data"].get("truncated").is_none(), "absent when everyone fits: {reply}");
}

#[tokio::test]
async fn the_server_reads_presence_typed() {
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Device {
        device: String,
    }
    let server = server().await;
    let mut phone = server.connect().await;
    track(&mut phone, "room:t", "alice", json!({"device": "phone"})).await;
    let mut web = server.connect().await;
    track(&mut web, "room:t", "alice", json!({"device": "web"})).await;
    let here: Presence<Device> = server.app.sockets().presence("room:t").await.unwrap();
    assert_eq!(here.len(), 1, "one member on two devices");
    assert_eq!(
        here.get("alice").unwrap(),
        [Device { device: "phone".into() }, Device { device: "web".into() }]
    );
    let error = server.app.sockets().presence::<u32>("room:t").await.unwrap_err();
    assert!(matches!(error, ori::PubSubError::MetaMismatch { .. }), "{error}");
}

/// Members join and leave without a pause while watchers subscribe: each
/// watcher's state plus the diffs after it is exactly the members at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_diffs_add_up_while_members_keep_changing() {
    let server = server().await;
    let url = server.url();
    let churn = tokio::spawn(async move {
        let mut clients = Vec::new();
        for i in 0..40 {
            let mut c = WsClient::connect(&url).await;
            track(&mut c, "room:churn", &format!("u{}", i % 10), json!({"n": i})).await;
            clients.push(c);
            if i % 3 == 0 {
                let gone = clients.remove(0);
                gone.close().await;
            }
        }
        clients
    });
    let mut watchers = Vec::new();
    for _ in 0..8 {
        let mut w = server.connect().await;
        let state = watch(&mut w, "room:churn").await;
        watchers.push((w, state["members"].clone()));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let clients = churn.await.unwrap();
    let expected: Presence<Value> = server.app.sockets().presence("room:churn").await.unwrap();
    assert_eq!(clients.len(), 26);
    for (mut w, mut members) in watchers {
        // Apply diffs until the view matches, or fail on a rule broken.
        let mut applied = 0;
        while sorted_members(&members) != sorted_members(&json!(expected.members())) {
            let (joins, leaves) = diff(&mut w, "room:churn").await;
            for (key, metas) in leaves.as_object().unwrap() {
                let list =
                    members[key].as_array_mut().unwrap_or_else(|| panic!("a leave without a join: {key}"));
                for meta in metas.as_array().unwrap() {
                    let at = list.iter().position(|m| m == meta).expect("a leave of a meta that joined");
                    list.remove(at);
                }
                if list.is_empty() {
                    members.as_object_mut().unwrap().remove(key);
                }
            }
            for (key, metas) in joins.as_object().unwrap() {
                let list = members.as_object_mut().unwrap().entry(key.clone()).or_insert(json!([]));
                for meta in metas.as_array().unwrap() {
                    assert!(!list.as_array().unwrap().contains(meta), "a duplicate join: {key} {meta}");
                    list.as_array_mut().unwrap().push(meta.clone());
                }
            }
            applied += 1;
            assert!(applied < 200, "the diffs never add up");
        }
        w.assert_silent().await;
    }
}

fn sorted_members(members: &Value) -> Value {
    ori_tests::presence::sorted(json!({"members": members}))
}
