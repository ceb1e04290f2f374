//! ori across instances on NATS: several servers sharing one real
//! `nats-server` (started per test on a free port) behave as one. The
//! scenarios every broker passes are `ori_tests::broker_suite`'s; what is
//! NATS's own (its subjects, its membership) is here.

use std::time::{Duration, Instant};

use ori::PubSubError;
use ori::pubsub::NatsBackend;
use ori_tests::WAIT;
use ori_tests::broker_suite::{eventually, instance};
use ori_tests::cross_instance;
use ori_tests::nats_server::NatsServer;
use serde_json::json;

ori_tests::broker_suite!(NatsServer);

#[tokio::test]
async fn foreign_messages_on_ori_subjects_are_skipped_and_counted() {
    let Some(nats) = NatsServer::start() else { return };
    let (server, backend) = instance(NatsBackend::new(nats.url())).await;
    let mut client = server.connect().await;
    client.subscribe("room").await;

    for junk in [&b"hello"[..], br#"{"type":"room.message","data":"not framed"}"#, b""] {
        nats.publish_raw("ori.t.room", junk);
    }
    // This process's direct subject (the tag that starts its socket ids).
    let tag = &ori::SocketId::new().to_string()[..8];
    nats.publish_raw(&format!("ori.direct.{tag}"), b"\xc1junk");
    // PROTOCOL.md: a topic with dots is one subject token, its dots as `%`.
    let mut dotted = server.connect().await;
    dotted.subscribe("room.1").await;
    assert_eq!(backend.subject_of("room.1"), "ori.t.room%1");
    nats.publish_raw("ori.t.room%1", b"junk on the dotted topic's subject");

    eventually("the junk is counted", || backend.stats().junk == 5).await;
    client.assert_silent().await;
    dotted.assert_silent().await;
    server.app.sockets().publish("room", r#"{"type":"ok","data":null}"#).unwrap();
    assert_eq!(client.recv().await, json!({"type": "ok", "data": null}));
}

/// PROTOCOL.md: a direct send travels on `<prefix>.direct.<tag>`, the
/// first 8 hex digits of the socket's id: only the instances of the process
/// that made the id read it, not every instance.
#[tokio::test]
async fn a_direct_send_goes_to_the_subject_of_the_socket_s_process() {
    use futures_util::StreamExt;

    let Some(nats) = NatsServer::start() else { return };
    let (here, _) = instance(NatsBackend::new(nats.url())).await;
    let (there, _) = instance(NatsBackend::new(nats.url())).await;
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut directs = watcher.subscribe("ori.direct.>").await.unwrap();
    watcher.flush().await.unwrap();
    let mut remote = there.connect().await;
    let id = remote.request(json!({"type": "id", "correlationId": "i"})).await["data"]
        .as_str()
        .unwrap()
        .to_owned();
    here.app.sockets().send_to(id.parse().unwrap(), r#"{"type":"direct","data":1}"#).unwrap();
    assert_eq!(remote.recv().await, json!({"type": "direct", "data": 1}));
    let seen = tokio::time::timeout(WAIT, directs.next()).await.expect("the send is seen").unwrap();
    assert_eq!(seen.subject.as_str(), format!("ori.direct.{}", &id[..8]));
}

#[tokio::test]
async fn an_unreachable_nats_fails_start_up_unless_degraded_start_is_allowed() {
    let Some(mut nats) = NatsServer::reserve() else { return };
    let app = cross_instance::app(
        NatsBackend::builder(nats.url()).connect_timeout(Duration::from_millis(500)).build(),
    );
    let error = app.bind("127.0.0.1:0").await.map(|_| ()).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("cannot connect to NATS at `nats://127.0.0.1:"), "{text}");
    assert!(text.contains("start_degraded(true)"), "{text}");

    let (server, backend) = instance(NatsBackend::builder(nats.url()).start_degraded(true).build()).await;
    assert!(!backend.stats().connected);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(backend.stats().outage > Duration::ZERO, "the outage counts from start-up");
    let mut client = server.connect().await;
    client.subscribe("room").await; // acknowledged for local delivery
    nats.resume();
    eventually("it connects once NATS is up", || backend.stats().connected).await;
    let (other, _) = instance(NatsBackend::new(nats.url())).await;
    // The subscription made before NATS was up is live now.
    let deadline = Instant::now() + WAIT;
    loop {
        other.app.sockets().publish("room", r#"{"type":"late","data":0}"#).unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), client.recv()).await {
            assert_eq!(got, json!({"type": "late", "data": 0}));
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never went live");
    }
}

#[tokio::test]
async fn a_member_that_does_not_answer_fails_a_count_and_one_that_said_bye_does_not() {
    let Some(nats) = NatsServer::start() else { return };
    let (asker, _) =
        instance(NatsBackend::builder(nats.url()).control_timeout(Duration::from_millis(300)).build()).await;
    // Another program says it is an instance, and then never answers.
    let ghost = "ab".repeat(16);
    nats.publish_raw("ori.instances", format!("{ghost} beat").as_bytes());
    // (The asker hears the beat a moment after the server has it.)
    let deadline = Instant::now() + WAIT;
    let counted = loop {
        let counted = asker.app.sockets().count_connections().await;
        if counted != Ok(0) || Instant::now() > deadline {
            break counted;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        counted,
        Err(PubSubError::Backend("1 of 1 other instances did not answer within 300ms".to_owned()))
    );
    // Once it says bye, nobody is waited for.
    nats.publish_raw("ori.instances", format!("{ghost} bye").as_bytes());
    while asker.app.sockets().count_connections().await != Ok(0) {
        assert!(Instant::now() < deadline, "the ghost is still a member");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Junk on the membership subject is counted, not believed.
    nats.publish_raw("ori.instances", b"not an instance");
    assert_eq!(asker.app.sockets().count_connections().await, Ok(0));
}

#[tokio::test]
async fn a_stopped_instance_says_bye_and_is_not_waited_for() {
    let Some(nats) = NatsServer::start() else { return };
    let builder = || NatsBackend::builder(nats.url()).control_timeout(Duration::from_millis(200));
    let (stays, _) = instance(builder().build()).await;
    let (stops, _) = instance(builder().build()).await;
    let mut client = stops.connect().await;
    client.request(json!({"type": "ping"})).await;
    assert_eq!(stays.app.sockets().count_connections().await, Ok(1));
    stops.shutdown().await.unwrap();
    // Its `bye` reaches the other a moment later; then nobody is waited for,
    // long before the stopped instance would expire (3.5 s).
    let started = Instant::now();
    while stays.app.sockets().count_connections().await != Ok(0) {
        assert!(started.elapsed() < Duration::from_secs(2), "it waited for the stopped instance");
    }
}

#[test]
fn the_start_up_line_names_nats_without_credentials() {
    let backend = NatsBackend::new("nats://user:hunter2@127.0.0.1:4222");
    let name = ori::pubsub::PubSubBackend::name(&backend);
    assert_eq!(name, "NATS at nats://***@127.0.0.1:4222 (across instances)");
}

/// A NATS server that requires TLS: `tls://` with the CA given to
/// `tls_root_pem`; without it, the certificate is not trusted and start-up
/// says so.
#[tokio::test]
async fn instances_talk_through_a_nats_server_that_requires_tls() {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let dir = std::env::temp_dir().join(format!("ori-nats-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let Some(nats) = NatsServer::start_tls(cert_path.clone(), key_path) else { return };
    let url = format!("tls://127.0.0.1:{}", nats.port());

    let untrusted =
        cross_instance::app(NatsBackend::builder(&url).connect_timeout(Duration::from_secs(2)).build());
    let error = untrusted.bind("127.0.0.1:0").await.map(|_| ()).unwrap_err().to_string();
    assert!(error.contains("cannot connect to NATS"), "{error}");

    let backend = || NatsBackend::builder(&url).tls_root_pem(&cert_path).build();
    let servers = [instance(backend()).await.0, instance(backend()).await.0];
    cross_instance::server_level_sends_cross_instances(&servers[0], &servers[1]).await;
    let _ = std::fs::remove_dir_all(&dir);
}
