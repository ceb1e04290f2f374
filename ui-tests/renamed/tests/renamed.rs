//! The renamed crate's router served over real sockets, through its
//! generated client stub.

use ori_ui_renamed::{EchoClient, Greet, Greeting, Shouted};
use realtime::Ori;
use realtime::client::ClientError;
use realtime::testing::TestServer;

async fn server() -> TestServer {
    TestServer::start(Ori::create().websocket(realtime::WebSocketConfig::default())).await.expect("serves")
}

#[tokio::test]
async fn the_generated_router_guard_provider_and_stub_work_under_another_name() {
    let server = server().await;
    let client = server.client_builder().query("user", "ada").connect().await.expect("admitted");
    let echo = EchoClient::from(client.clone());
    let reply = echo.greet(Greet { name: "Bob".into() }).await.expect("a reply");
    assert_eq!(reply, Greeting { text: "hello, Bob (from ada)".into() });

    // The message guard refuses anyone but root.
    let refused = echo.shout().await.expect_err("ada may not shout");
    assert!(matches!(&refused, ClientError::Server { code, .. } if code == "forbidden"), "{refused:?}");

    let root = server.client_builder().query("user", "root").connect().await.expect("admitted");
    let mut shouts = client.on::<Shouted>();
    client.subscribe("shouts").await.expect("subscribed");
    EchoClient::from(root).shout().await.expect("root may shout");
    let pushed = shouts.recv().await.expect("a push").expect("a Shouted");
    assert_eq!(pushed.by, "root");
}

#[tokio::test]
async fn the_connection_guard_refuses_without_a_user() {
    let server = server().await;
    let refused = server.client().await.expect_err("no ?user=");
    assert!(refused.to_string().contains("?user= is missing"), "{refused}");
}
