//! What is open on this instance (`Sockets::connections`, `Sockets::topics`),
//! from an HTTP route, over real sockets.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use ori::{AppContext, Ori, WebSocketConfig};
use ori_tests::{LiveServer, WsClient, http};
use serde_json::{Value, json};

fn app() -> Ori {
    Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).routes(
        axum::Router::new()
            .route(
                "/admin/connections",
                get(|State(ctx): State<AppContext>| async move { Json(ctx.sockets().connections()) }),
            )
            .route(
                "/admin/topics",
                get(|State(ctx): State<AppContext>| async move { Json(ctx.sockets().topics()) }),
            ),
    )
}

#[tokio::test]
async fn connections_and_topics_of_this_instance_are_listed() {
    let server = LiveServer::start(app()).await;
    let mut first = server.connect().await;
    first.subscribe("room:b").await;
    first.subscribe("room:a").await;
    let mut second =
        WsClient::try_connect_request(&server.url(), &[("Sec-WebSocket-Protocol", "ori.v1.msgpack")])
            .await
            .unwrap();
    let subscribe =
        rmp_serde::to_vec_named(&json!({"type": "subscribe", "data": {"topic": "room:a"}})).unwrap();
    second.send_message(tokio_tungstenite::tungstenite::Message::Binary(subscribe.into())).await;
    let _ack = second.next_event().await;

    let listed = http(server.addr, "GET", "/admin/connections", &[], "").await;
    assert_eq!(listed.status, 200);
    let connections: Vec<Value> = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(connections.len(), 2, "{connections:?}");
    let (a, b) = (&connections[0], &connections[1]);
    assert_eq!(a["subscriptions"], json!(["room:a", "room:b"]), "sorted, no server topics");
    assert_eq!(
        (a["codec"].as_str(), a["subprotocol"].clone(), a["endpoint"].as_str()),
        (Some("json"), Value::Null, Some("/ws"))
    );
    assert_eq!((b["codec"].as_str(), b["subprotocol"].as_str()), (Some("msgpack"), Some("ori.v1.msgpack")));
    assert!(a["remoteAddr"].as_str().unwrap().starts_with("127.0.0.1:"), "{a}");
    assert!(a["connectedAtMs"].as_u64().unwrap() <= b["connectedAtMs"].as_u64().unwrap(), "oldest first");
    let ids: Vec<String> = server.app.sockets().connections().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, [a["id"].as_str().unwrap(), b["id"].as_str().unwrap()]);

    let topics = http(server.addr, "GET", "/admin/topics", &[], "").await;
    assert_eq!(
        serde_json::from_str::<Value>(&topics.body).unwrap(),
        json!([{"topic": "room:a", "subscribers": 2}, {"topic": "room:b", "subscribers": 1}])
    );
    first.close().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.app.sockets().connections().len() != 1 {
        assert!(std::time::Instant::now() < deadline, "a closed connection stays listed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(server.app.sockets().topics().len(), 1);
}
