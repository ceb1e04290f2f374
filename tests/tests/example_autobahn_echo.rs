//! The Autobahn echo example (`cargo run -p ori-examples --example
//! autobahn_echo`): echoes text and binary unchanged at `/`, up to 16 MiB.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/autobahn_echo/app.rs"]
mod autobahn_echo;

use ori_tests::{Event, LiveServer, WsClient};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn echoes_text_and_binary_up_to_the_raised_limit() {
    let server = LiveServer::start(autobahn_echo::app(true)).await;
    let mut c = WsClient::connect(&server.url_at("/")).await;
    c.send_text("Hello, κόσμε").await;
    assert_eq!(c.next_event().await, Event::Text("Hello, κόσμε".to_owned()));
    let big: Vec<u8> = (0..autobahn_echo::MAX_MESSAGE).map(|i| (i % 251) as u8).collect();
    c.send_message(Message::binary(big.clone())).await;
    assert!(c.next_event().await == Event::Binary(big), "16 MiB of binary comes back unchanged");
    c.send_message(Message::binary(vec![0u8; autobahn_echo::MAX_MESSAGE + 1])).await;
    assert_eq!(c.expect_close().await.0, 1009, "past 16 MiB");
}
