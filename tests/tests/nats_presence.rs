//! PROTOCOL.md "Presence" across instances on a real `nats-server` with
//! JetStream (started per test on a free port): the scenarios of
//! [`ori_tests::presence_suite`], and what only NATS has (the stream of
//! entries, its markers purged).

use ori_tests::nats_server::NatsServer;

ori_tests::presence_suite!(NatsServer);

/// Entries are the documented subjects of one stream, with the meta as
/// payload; an untracked entry's marker is purged after the expiry, so the
/// stream holds the present, not every connection ever tracked; junk on
/// the subjects is skipped and counted.
#[tokio::test]
async fn entries_are_subjects_of_one_stream_and_markers_are_purged() {
    use std::time::{Duration, Instant};

    use ori_tests::broker_suite::{Broker, Settings};
    use ori_tests::presence::{diff, track, watch};
    use serde_json::json;

    let Some(nats) = NatsServer::start() else { return };
    let expiry = Duration::from_millis(600);
    let backend = nats.backend(Settings { presence_expiry: Some(expiry), ..Settings::default() });
    let server = ori_tests::LiveServer::start(ori_tests::cross_instance::app(backend.clone())).await;
    let mut watcher = server.connect().await;
    watch(&mut watcher, "room:s.1").await;
    let mut alice = server.connect().await;
    track(&mut alice, "room:s.1", "alice", json!({"on": "web"})).await;
    assert_eq!(diff(&mut watcher, "room:s.1").await.0, json!({"alice": [{"on": "web"}]}));

    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let stream = js.get_stream("ORI_presence").await.expect("the presence stream");
    let filter = "ori.p.room:s%1.>";
    let subjects = subjects_of(&stream, filter).await;
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].ends_with(".616c696365"), "the key, in hex, ends the subject: {}", subjects[0]);
    let kept = stream.get_last_raw_message_by_subject(&subjects[0]).await.unwrap();
    assert_eq!(&kept.payload[..], br#"{"on":"web"}"#, "the meta is the payload");

    nats.publish_raw("ori.p.room:s%1.not.an.entry", b"junk");
    alice.close().await;
    assert_eq!(diff(&mut watcher, "room:s.1").await, (json!({}), json!({"alice": [{"on": "web"}]})));
    let deadline = Instant::now() + expiry * 2 + Duration::from_secs(3);
    loop {
        let left = subjects_of(&stream, filter).await;
        // The junk stays (it is not ori's to purge); the marker goes.
        if left.iter().all(|subject| subject.ends_with("not.an.entry")) {
            break;
        }
        assert!(Instant::now() < deadline, "the marker was not purged: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let junk = backend.stats().junk;
    assert!(junk >= 1, "the junk entry was counted ({junk})");
    watcher.assert_silent().await;
}

/// The subjects of `stream` under `filter` that hold messages.
async fn subjects_of(stream: &async_nats::jetstream::stream::Stream, filter: &str) -> Vec<String> {
    use futures_util::TryStreamExt;
    let subjects = stream.info_with_subjects(filter).await.unwrap();
    subjects.map_ok(|(subject, _)| subject).try_collect().await.unwrap()
}
