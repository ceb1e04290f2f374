//! History on NATS JetStream: the suite every broker that keeps history
//! runs (`ori_tests::history_suite`), against a `nats-server -js` each test
//! starts on a free port.

use ori_tests::nats_server::NatsServer;

ori_tests::history_suite!(NatsServer);

/// PROTOCOL.md: a history topic is a JetStream stream on the subject
/// `<prefix>.h.<topic>` (dots as `%`), whose sequence numbers are the
/// offsets. A dotted topic: the stream's name cannot hold a `%` (async-nats
/// then fails to read its messages), so dots are `~` there.
#[tokio::test]
async fn a_history_topic_is_a_stream_on_its_documented_subject() {
    documented().await;
}

async fn documented() {
    use ori_tests::broker_suite::Settings;
    use ori_tests::history_suite::{instance_with, publish, received, subscribe};

    let Some(nats) = NatsServer::start() else { return };
    let (server, _) = instance_with(&nats, Settings::default(), std::time::Duration::from_secs(300)).await;
    let mut client = server.connect().await;
    subscribe(&mut client, serde_json::json!({"topic": "hist:a.b"})).await;
    publish(&server, "hist:a.b", ["1".to_owned(), "2".to_owned()]);
    assert_eq!(
        received(&mut client, "hist:a.b", 2).await.iter().map(|(_, o)| *o).collect::<Vec<_>>(),
        [1, 2]
    );

    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = js.get_stream("ORI_h_hist:a~b").await.expect("the topic's stream");
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.subjects, ["ori.h.hist:a%b"]);
    assert_eq!((info.state.first_sequence, info.state.last_sequence), (1, 2), "offsets are sequences");
}
