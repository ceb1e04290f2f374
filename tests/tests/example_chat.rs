//! The chat example (`cargo run -p ori-examples --example chat`), served and
//! driven the way its README section describes.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/chat/app.rs"]
mod chat;

use ori_tests::nats_server::NatsServer;
use ori_tests::redis_cluster::RedisCluster;
use ori_tests::redis_server::RedisServer;
use ori_tests::{LiveServer, WsClient, http};
use serde_json::json;

#[tokio::test]
async fn the_chat_example_works_end_to_end() {
    let server = LiveServer::start(chat::app()).await;
    let mut nameless = WsClient::connect(&server.url()).await;
    assert_eq!(
        nameless.expect_close().await,
        (1008, "a name of 1 to 32 characters is required (?name=...)".to_owned()),
        "a name is required"
    );

    let mut ann = WsClient::connect(&format!("{}?name=ann", server.url())).await;
    let welcome = ann.recv().await;
    assert_eq!(welcome["type"], "chat.welcome");
    assert_eq!(welcome["data"]["room"], chat::ROOM);
    let joined = join(&mut ann).await;
    assert_eq!(joined["offset"], 1, "ann's own arrival is the room's first message: {joined}");

    let mut bob = WsClient::connect(&format!("{}?name=bob", server.url())).await;
    assert_eq!(bob.recv().await["type"], "chat.welcome");
    assert_eq!(ann.recv().await, positioned(json!({"type": "chat.joined", "data": {"name": "bob"}}), 2));
    join(&mut bob).await;

    let said = positioned(json!({"type": "chat.message", "data": {"from": "bob", "text": "hi ann"}}), 3);
    let (ack, own) = say(&mut bob, "hi ann").await;
    assert_eq!(ack, json!({"type": "chat.say", "data": {"delivered": true}, "correlationId": "1"}));
    assert_eq!(own, said, "the sender sees its message in the room's order");
    assert_eq!(ann.recv().await, said);

    // A member that comes back from its last position gets what it missed.
    let mut carl = WsClient::connect(&format!("{}?name=carl", server.url())).await;
    assert_eq!(carl.recv().await["type"], "chat.welcome");
    let since = json!({"epoch": joined["epoch"], "offset": 2});
    let ack = carl.request(json!({"type": "subscribe", "data": {"topic": chat::ROOM, "since": since}})).await;
    assert_eq!(ack["data"]["recovered"], true, "{ack}");
    assert_eq!(carl.recv().await, said, "missed, then replayed");
    let carl_joined = positioned(json!({"type": "chat.joined", "data": {"name": "carl"}}), 4);
    assert_eq!(carl.recv().await, carl_joined, "the history holds its own arrival too");
    assert_eq!(ann.recv().await, carl_joined);
    assert_eq!(bob.recv().await, carl_joined);
    carl.close().await;
    for client in [&mut ann, &mut bob] {
        assert_eq!(client.recv().await["type"], "chat.left");
    }

    let empty = bob.request(json!({"type": "chat.say", "data": {"text": "  "}})).await;
    assert_eq!(empty["error"]["code"], "bad_request");

    let announced = http(server.addr, "POST", "/announce", &[], "maintenance at 22:00").await;
    assert_eq!((announced.status, announced.body.as_str()), (202, r#"{"membersHere":2}"#));
    for client in [&mut ann, &mut bob] {
        let announcement = client.recv().await;
        assert_eq!(announcement["data"], json!({"text": "maintenance at 22:00"}));
    }

    bob.close().await;
    let left = ann.recv().await;
    assert_eq!((left["type"].clone(), left["data"].clone()), (json!("chat.left"), json!({"name": "bob"})));

    let page = http(server.addr, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ChatApi.connect"), "the page uses the generated client");
    // The generated client and the runtime it imports are served as they are.
    let api = http(server.addr, "GET", "/examples/chat/chat_api.js", &[], "").await;
    assert_eq!(api.status, 200);
    assert!(api.body.contains("export class ChatApi"));
    assert!(api.body.contains("from \"../../clients/typescript/src/index.js\""));
    // Every module of the runtime: a page that imports one not served loads nothing.
    let runtime = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/typescript/src");
    for entry in std::fs::read_dir(&runtime).expect("the runtime") {
        let path = entry.expect("a file").path();
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let served = http(server.addr, "GET", &format!("/clients/typescript/src/{file}"), &[], "").await;
        let on_disk = std::fs::read_to_string(&path).expect("the runtime");
        assert_eq!((served.status, served.body), (200, on_disk), "{file}");
    }
    let missing = http(server.addr, "GET", "/clients/typescript/src/nope.js", &[], "").await;
    assert_eq!(missing.status, 404);
}

/// The README's "Scaling out" commands: two instances on one Redis are one room.
#[tokio::test]
async fn two_chat_instances_sharing_a_redis_are_one_room() {
    let Some(redis) = RedisServer::start() else { return };
    one_room(&redis.url()).await;
}

/// The same on a Redis Cluster (`ORI_PUBSUB_URL=redis+cluster://...`): the
/// room's history and channel share a slot.
#[tokio::test]
async fn two_chat_instances_on_a_redis_cluster_are_one_room() {
    let Some(cluster) = RedisCluster::start() else { return };
    one_room(&cluster.url()).await;
}

/// The same on NATS (`ORI_PUBSUB_URL=nats://...`): the room's history on JetStream.
#[tokio::test]
async fn two_chat_instances_on_nats_are_one_room() {
    let Some(nats) = NatsServer::start() else { return };
    one_room(&nats.url()).await;
}

async fn one_room(url: &str) {
    let app = || chat::app().pubsub(ori::pubsub::from_url(url).expect("a broker URL"));
    let (one, two) = (LiveServer::start(app()).await, LiveServer::start(app()).await);

    let mut ann = WsClient::connect(&format!("{}?name=ann", one.url())).await;
    assert_eq!(ann.recv().await["type"], "chat.welcome");
    join(&mut ann).await;
    let mut bob = WsClient::connect(&format!("{}?name=bob", two.url())).await;
    assert_eq!(bob.recv().await["type"], "chat.welcome");
    assert_eq!(ann.recv().await, positioned(json!({"type": "chat.joined", "data": {"name": "bob"}}), 2));
    join(&mut bob).await;

    let said = positioned(json!({"type": "chat.message", "data": {"from": "bob", "text": "hi from two"}}), 3);
    let (ack, own) = say(&mut bob, "hi from two").await;
    assert_eq!(ack["data"], json!({"delivered": true}));
    assert_eq!(own, said);
    assert_eq!(ann.recv().await, said);

    let announced = http(one.addr, "POST", "/announce", &[], "both instances").await;
    assert_eq!((announced.status, announced.body.as_str()), (202, r#"{"membersHere":1}"#));
    for client in [&mut ann, &mut bob] {
        assert_eq!(
            client.recv().await,
            positioned(json!({"type": "chat.announcement", "data": {"text": "both instances"}}), 4)
        );
    }
    bob.close().await;
    assert_eq!(ann.recv().await, positioned(json!({"type": "chat.left", "data": {"name": "bob"}}), 5));
}

/// Joins the room as a client does (the server names it in `chat.welcome`);
/// returns the acknowledgement's data.
async fn join(client: &mut WsClient) -> serde_json::Value {
    let ack = client.request(json!({"type": "subscribe", "data": {"topic": chat::ROOM}})).await;
    assert_eq!(ack["type"], "subscribe", "{ack}");
    ack["data"].clone()
}

/// `client` says `text`: the reply and its own message, which come in
/// either order (the reply and a push are not ordered).
async fn say(client: &mut WsClient, text: &str) -> (serde_json::Value, serde_json::Value) {
    client.send(json!({"type": "chat.say", "data": {"text": text}, "correlationId": "1"})).await;
    let (first, second) = (client.recv().await, client.recv().await);
    if first["type"] == "chat.say" { (first, second) } else { (second, first) }
}

/// `message` as a member receives it from the room: at its position.
fn positioned(mut message: serde_json::Value, offset: u64) -> serde_json::Value {
    message["topic"] = json!(chat::ROOM);
    message["offset"] = json!(offset);
    message
}

/// The committed generated client (TypeScript and JavaScript) and AsyncAPI
/// document are what the app generates now.
#[test]
fn the_committed_generated_files_are_current() {
    let generated = ori_examples::generated(&chat::app(), "chat", "ChatApi");
    assert_eq!(generated.stale("chat"), Vec::<String>::new());
}

/// Started with nothing set up (no `tracing` subscriber), the server says on
/// stderr which routers it mounted, with their message types and guards, and
/// where it listens: a router whose crate did not link shows by its absence.
#[test]
fn the_server_says_what_it_mounted_and_where_it_listens() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut peer = Command::new(env!("CARGO_BIN_EXE_chat_peer"))
        .env("ORI_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chat_peer starts");
    let stderr = peer.stderr.take().expect("piped");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut said = Vec::new();
    while let Ok(line) = lines_rx.recv_timeout(std::time::Duration::from_secs(30)) {
        let done = line.contains("listening on");
        said.push(line);
        if done {
            break;
        }
    }
    let _ = peer.kill();
    let _ = peer.wait();
    assert!(
        said.iter()
            .any(|l| l
                == "ori: connection guards (every connection; a refusal closes it with 1008): NameGuard"),
        "{said:#?}"
    );
    assert!(said.iter().any(|l| l == "ori: router ChatRouter: chat.say"), "{said:#?}");
    let listening = said.last().expect("something said");
    assert!(listening.starts_with("ori: listening on http://127.0.0.1:"), "{said:#?}");
    assert!(listening.contains("WebSocket at ws://127.0.0.1:"), "{said:#?}");
}
