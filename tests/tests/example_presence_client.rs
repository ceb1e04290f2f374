//! The presence client example (`cargo run -p ori-examples --example
//! presence_client`) against the presence example, as the README runs them.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/presence/app.rs"]
mod app;
#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/presence_client/tour.rs"]
mod tour;

use ori::client::ClientError;
use ori::testing::TestServer;

#[tokio::test]
async fn the_generated_presence_client_drives_the_presence_example() {
    let server = TestServer::start(app::app()).await.unwrap();
    let tour = tour::tour(server.url()).await.unwrap();

    assert_eq!(tour.online_count, 2, "alice and bob");
    let online: Vec<(&str, &[String])> =
        tour.online.iter().map(|u| (u.user_id.as_str(), u.statuses.as_slice())).collect();
    assert_eq!(online, [("alice", &["online".to_owned()][..]), ("bob", &["online".to_owned()][..])]);
    let away = app::Status { status: "away".into() };
    assert_eq!(tour.seen_by_bob.get("alice"), Some(&[away][..]), "bob's client kept the presence");
    assert_eq!(tour.change, app::PresenceChanged { user_id: "alice".into(), status: "away".into() });
    assert!(
        matches!(&tour.kick_refused, ClientError::Server { code, .. } if code == "forbidden"),
        "{:?}",
        tour.kick_refused
    );
    server.shutdown().await.unwrap();
}
