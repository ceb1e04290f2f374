//! The no-macro API over a real socket: closures replying `Data(value)`,
//! handlers that take shared state with `route_with`, and `bad_request` for
//! `data` of the wrong shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ori::{Data, Ori, SocketContext, SocketRoutes, WebSocketConfig};
use ori_tests::LiveServer;
use serde_json::json;

fn app(hits: Arc<AtomicU64>) -> Ori {
    let routes = SocketRoutes::named("Counter")
        .route("whoami", |ctx: SocketContext| async move { Data(ctx.id().to_string()) })
        .route_with("counter.hit", hits.clone(), |hits: Arc<AtomicU64>, _ctx: SocketContext| async move {
            Data(hits.fetch_add(1, Ordering::SeqCst) + 1)
        })
        .route_with("counter.add", hits, |hits: Arc<AtomicU64>, _ctx: SocketContext, n: u64| async move {
            Data(hits.fetch_add(n, Ordering::SeqCst) + n)
        });
    Ori::create().websocket(WebSocketConfig::default()).socket_routes(routes)
}

#[tokio::test]
async fn closures_reply_data_and_share_state_without_cloning_it_themselves() {
    let hits = Arc::new(AtomicU64::new(0));
    let server = LiveServer::start(app(hits.clone())).await;
    let mut client = server.connect().await;
    let me = client.request(json!({"type": "whoami", "correlationId": "1"})).await;
    assert!(me["data"].as_str().is_some_and(|id| !id.is_empty()), "{me}");
    assert_eq!(client.request(json!({"type": "counter.hit", "correlationId": "2"})).await["data"], 1);
    let added = client.request(json!({"type": "counter.add", "data": 5, "correlationId": "3"})).await;
    assert_eq!(added["data"], 6);
    assert_eq!(hits.load(Ordering::SeqCst), 6, "the routes share the caller's counter");
    let wrong = client.request(json!({"type": "counter.add", "data": "five", "correlationId": "4"})).await;
    assert_eq!(wrong["error"]["code"], "bad_request", "{wrong}");
    assert_eq!(hits.load(Ordering::SeqCst), 6, "a bad request changes nothing");
}

#[test]
fn shared_state_routes_are_described_by_their_types() {
    let description = app(Arc::new(AtomicU64::new(0))).describe();
    let add = description.routes.iter().find(|r| r.message_type == "counter.add").expect("described");
    assert_eq!((add.data.rust.as_str(), add.reply.rust.as_str()), ("u64", "u64"));
}
