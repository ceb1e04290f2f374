//! PROTOCOL.md's presence rules, written once for one instance and for
//! many: the in-process tests run them on one server, the Redis tests on
//! three (clients spread over them).

use serde_json::{Value, json};

use crate::{LiveServer, WsClient};

/// Subscribes `client` to `topic` with presence; checks that the
/// acknowledgement comes first and returns the `presence_state` data.
pub async fn watch(client: &mut WsClient, topic: &str) -> Value {
    let ack = client
        .request(
            json!({"type": "subscribe", "data": {"topic": topic, "presence": true}, "correlationId": "w"}),
        )
        .await;
    assert_eq!(ack["type"], "subscribe", "the acknowledgement comes first: {ack}");
    assert_eq!(ack["correlationId"], "w");
    let state = client.recv().await;
    assert_eq!(state["type"], "presence_state", "{state}");
    assert!(state.get("correlationId").is_none());
    assert_eq!(state["data"]["topic"], topic);
    sorted(state["data"].clone())
}

/// Tracks `client` as `key` with `meta` on `topic` (through `presence.track`).
pub async fn track(client: &mut WsClient, topic: &str, key: &str, meta: Value) {
    let reply = client
        .request(json!({"type": "presence.track", "data": {"topic": topic, "key": key, "meta": meta}, "correlationId": "t"}))
        .await;
    assert_eq!(reply, json!({"type": "presence.track", "data": null, "correlationId": "t"}));
}

/// The next message, a `presence_diff` of `topic`: its `(joins, leaves)`.
pub async fn diff(client: &mut WsClient, topic: &str) -> (Value, Value) {
    let diff = client.recv().await;
    assert_eq!(diff["type"], "presence_diff", "{diff}");
    assert_eq!(diff["data"]["topic"], topic);
    let data = sorted(diff["data"].clone());
    (data["joins"].clone(), data["leaves"].clone())
}

/// Each key's metas sorted (across instances, tracking order is not kept).
pub fn sorted(mut data: Value) -> Value {
    for field in ["members", "joins", "leaves"] {
        if let Some(map) = data.get_mut(field).and_then(Value::as_object_mut) {
            for metas in map.values_mut() {
                if let Some(list) = metas.as_array_mut() {
                    list.sort_by_key(|m| m.to_string());
                }
            }
        }
    }
    data
}

/// Joins, a second device under a present key, a late watcher's state,
/// untracking one of two metas, an update, and a close: each watcher sees
/// the state, then every change once, in order. `servers`: one or more.
pub async fn state_then_every_change_once(servers: &[LiveServer]) {
    let on = |i: usize| &servers[i % servers.len()];
    let topic = "room:presence";
    let mut watcher = on(0).connect().await;
    assert_eq!(watch(&mut watcher, topic).await, json!({"topic": topic, "members": {}}));

    let mut phone = on(2).connect().await;
    track(&mut phone, topic, "alice", json!({"device": "phone"})).await;
    assert_eq!(diff(&mut watcher, topic).await, (json!({"alice": [{"device": "phone"}]}), json!({})));
    let mut web = on(1).connect().await;
    track(&mut web, topic, "alice", json!({"device": "web"})).await;
    assert_eq!(diff(&mut watcher, topic).await, (json!({"alice": [{"device": "web"}]}), json!({})));
    let mut bob = on(0).connect().await;
    track(&mut bob, topic, "bob", json!({})).await;
    assert_eq!(diff(&mut watcher, topic).await, (json!({"bob": [{}]}), json!({})));
    // Tracking the same again changes nothing and sends nothing.
    track(&mut bob, topic, "bob", json!({})).await;

    let mut late = on(1).connect().await;
    let state = watch(&mut late, topic).await;
    assert_eq!(
        state,
        json!({"topic": topic, "members": {"alice": [{"device": "phone"}, {"device": "web"}], "bob": [{}]}})
    );

    let reply = phone
        .request(json!({"type": "presence.untrack", "data": {"topic": topic, "key": "alice"}, "correlationId": "u"}))
        .await;
    assert_eq!(reply["data"], true);
    for w in [&mut watcher, &mut late] {
        assert_eq!(
            diff(w, topic).await,
            (json!({}), json!({"alice": [{"device": "phone"}]})),
            "the key stays"
        );
    }
    let new_meta = json!({"device": "web", "away": true});
    let reply = web
        .request(json!({"type": "presence.update", "data": {"topic": topic, "key": "alice", "meta": new_meta}, "correlationId": "p"}))
        .await;
    assert_eq!(reply["data"], Value::Null, "{reply}");
    for w in [&mut watcher, &mut late] {
        assert_eq!(
            diff(w, topic).await,
            (json!({"alice": [new_meta]}), json!({"alice": [{"device": "web"}]})),
            "an update is a leave and a join in one diff"
        );
    }
    web.close().await;
    for w in [&mut watcher, &mut late] {
        assert_eq!(diff(w, topic).await, (json!({}), json!({"alice": [new_meta]})), "closing untracks");
    }
    let mut asker = on(2).connect().await;
    let reply =
        asker.request(json!({"type": "presence", "data": {"topic": topic}, "correlationId": "q"})).await;
    assert_eq!(
        reply,
        json!({"type": "presence", "data": {"topic": topic, "members": {"bob": [{}]}}, "correlationId": "q"}),
        "a query needs no subscription"
    );
    let reply = watcher.request(json!({"type": "unsubscribe", "data": {"topic": topic}})).await;
    assert_eq!(reply["type"], "unsubscribe");
    bob.close().await;
    assert_eq!(diff(&mut late, topic).await, (json!({}), json!({"bob": [{}]})));
    watcher.assert_silent().await;
    late.assert_silent().await;
}
