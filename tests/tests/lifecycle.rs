//! Lifecycle handlers (`on_open`, `on_message`, `on_close`) for apps without routers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ori::{
    CloseInfo, Ori, SocketContext, SocketError, SocketRoutes, UnroutedMessage, UpgradeRequest,
    WebSocketConfig,
};
use ori_tests::LiveServer;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Nick(String);

#[derive(Deserialize)]
struct Shout {
    text: String,
}

type Log = Arc<Mutex<Vec<String>>>;

fn app(log: Log) -> Ori {
    let (open_log, close_log, message_log) = (log.clone(), log.clone(), log);
    Ori::create()
        .websocket(WebSocketConfig::default())
        .upgrade_handler(
            |req: UpgradeRequest| async move { Some(Nick(req.query("nick").unwrap_or_default())) },
        )
        .socket_routes(SocketRoutes::new().route("slow", |ctx: SocketContext<Nick>| {
            let nick = ctx.state().0.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                ctx.sockets().get(ctx.id()); // the socket is gone by now; this must not fail
                Ok::<_, SocketError>(nick)
            }
        }))
        .on_open(move |ws: SocketContext<Nick>| {
            let log = open_log.clone();
            async move {
                ws.subscribe("lobby").await.unwrap();
                log.lock().unwrap().push(format!("open {}", ws.state().0));
            }
        })
        .on_message(move |ws: SocketContext<Nick>, message: UnroutedMessage| {
            let log = message_log.clone();
            async move {
                log.lock().unwrap().push(format!("message {}", message.message_type()));
                match message.message_type() {
                    "shout" => {
                        let Shout { text } = message.data()?;
                        Ok(json!({"from": ws.state().0, "text": text.to_uppercase(), "topics": ws.topics()}))
                    }
                    "echo.raw" => {
                        Ok(json!({"raw": message.raw_data().get(), "cid": message.correlation_id()}))
                    }
                    other => Err(SocketError::unknown_type(other)),
                }
            }
        })
        .on_close(move |ws: SocketContext<Nick>, info: CloseInfo| {
            let log = close_log.clone();
            async move { log.lock().unwrap().push(format!("close {} {}", ws.state().0, info.code)) }
        })
}

#[tokio::test]
async fn open_runs_before_any_message_and_message_takes_what_routes_do_not() {
    let log = Log::default();
    let server = LiveServer::start(app(log.clone())).await;
    let mut c = ori_tests::WsClient::connect(&format!("{}?nick=ann", server.url())).await;
    // Sent at once: it is handled only after `open` subscribed to the lobby.
    let reply = c.request(json!({"type": "shout", "data": {"text": "hi"}, "correlationId": "1"})).await;
    assert_eq!(
        reply,
        json!({"type": "shout", "data": {"from": "ann", "text": "HI", "topics": ["lobby"]}, "correlationId": "1"})
    );
    let reply = c.request(json!({"type": "echo.raw", "data": {"a": [1, 2]}, "correlationId": "c"})).await;
    assert_eq!(reply["data"], json!({"raw": "{\"a\":[1,2]}", "cid": "c"}));
    let reply = c.request(json!({"type": "shout", "data": {"txt": "typo"}})).await;
    assert_eq!(reply["error"]["code"], "bad_request");
    let reply = c.request(json!({"type": "nobody.handles.this"})).await;
    assert_eq!(reply["error"]["code"], "unknown_type");
    // Control messages and routed types never reach `on_message`.
    c.request(json!({"type": "ping"})).await;
    c.subscribe("x").await;
    let seen: Vec<String> = log.lock().unwrap().clone();
    assert_eq!(
        seen,
        ["open ann", "message shout", "message echo.raw", "message shout", "message nobody.handles.this"]
    );
}

#[tokio::test]
async fn close_runs_once_after_running_handlers_finish() {
    let log = Log::default();
    let server = LiveServer::start(app(log.clone())).await;
    let mut c = ori_tests::WsClient::connect(&format!("{}?nick=bo", server.url())).await;
    c.send(json!({"type": "slow", "correlationId": "s"})).await;
    c.request(json!({"type": "ping"})).await; // the slow handler is now running
    c.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !log.lock().unwrap().iter().any(|l| l.starts_with("close")) {
        assert!(tokio::time::Instant::now() < deadline, "close handler did not run");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen: Vec<String> = log.lock().unwrap().clone();
    assert_eq!(seen, ["open bo", "close bo 1000"]);
    assert_eq!(server.app.sockets().subscriber_count("lobby"), 0);
}

#[tokio::test]
async fn replies_of_on_message_follow_the_reply_rules() {
    let server = LiveServer::start(
        Ori::create()
            .websocket(WebSocketConfig::default())
            .on_message(|_ws: SocketContext, _m: UnroutedMessage| async {}),
    )
    .await;
    let mut c = server.connect().await;
    c.send(json!({"type": "anything"})).await;
    c.assert_silent().await;
    let ack: Value = c.request(json!({"type": "anything", "correlationId": "a"})).await;
    assert_eq!(ack, json!({"type": "anything", "data": null, "correlationId": "a"}));
}
