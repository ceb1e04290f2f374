//! The presence example (`cargo run -p ori-examples --example presence`),
//! served as it ships: discovery mounts its router, guard and providers.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/presence/app.rs"]
mod presence;

use ori_tests::presence::{diff, watch};
use ori_tests::{LiveServer, WsClient};
use presence::{AuthState, Role, UserDirectory};
use serde_json::json;

async fn connect(server: &LiveServer, token: &str) -> WsClient {
    WsClient::connect(&format!("{}?token={token}", server.url())).await
}

#[tokio::test]
async fn connections_are_members_with_a_status_that_watchers_see_change() {
    let server = LiveServer::start(presence::app()).await;
    let mut bob = connect(&server, "bob-token").await;
    let state = watch(&mut bob, presence::TOPIC).await;
    assert_eq!(state["members"], json!({"bob": [{"status": "online"}]}), "tracked on connect");
    let mut alice = connect(&server, "alice-token").await;
    assert_eq!(diff(&mut bob, presence::TOPIC).await, (json!({"alice": [{"status": "online"}]}), json!({})));

    let ack = alice
        .request(json!({"type": "presence.heartbeat", "data": {"status": "busy"}, "correlationId": "1"}))
        .await;
    assert_eq!(ack, json!({"type": "presence.heartbeat", "data": {"online": 2}, "correlationId": "1"}));
    assert_eq!(
        diff(&mut bob, presence::TOPIC).await,
        (json!({"alice": [{"status": "busy"}]}), json!({"alice": [{"status": "online"}]})),
        "a status change is a leave and a join in one diff"
    );
    let online = bob.request(json!({"type": "presence.getOnline"})).await;
    assert_eq!(
        online["data"],
        json!([{"userId": "alice", "statuses": ["busy"]}, {"userId": "bob", "statuses": ["online"]}])
    );
    // A second connection of alice: a second status under one member.
    let alice_phone = connect(&server, "alice-token").await;
    assert_eq!(diff(&mut bob, presence::TOPIC).await, (json!({"alice": [{"status": "online"}]}), json!({})));

    let ack = alice
        .request(json!({"type": "presence.setStatus", "data": {"status": "away"}, "correlationId": "2"}))
        .await;
    assert_eq!(ack, json!({"type": "presence.setStatus", "data": null, "correlationId": "2"}));
    assert_eq!(diff(&mut bob, presence::TOPIC).await.0, json!({"alice": [{"status": "away"}]}));
    assert_eq!(
        bob.recv().await,
        json!({"type": "presence.changed", "data": {"userId": "alice", "status": "away"}})
    );

    let bad = alice.request(json!({"type": "presence.heartbeat", "data": {"status": 5}})).await;
    assert_eq!(bad["error"]["code"], "bad_request");
    assert!(bad["error"]["message"].as_str().unwrap().contains("`status`"));

    // Closing untracks: alice stays a member while her phone is connected.
    alice.close().await;
    assert_eq!(diff(&mut bob, presence::TOPIC).await, (json!({}), json!({"alice": [{"status": "away"}]})));
    alice_phone.close().await;
    assert_eq!(diff(&mut bob, presence::TOPIC).await, (json!({}), json!({"alice": [{"status": "online"}]})));
    let online = bob.request(json!({"type": "presence.getOnline"})).await;
    assert_eq!(online["data"], json!([{"userId": "bob", "statuses": ["online"]}]));
}

#[tokio::test]
async fn the_token_guard_and_the_admin_guard_hold() {
    let server = LiveServer::start(presence::app()).await;
    let mut stranger = connect(&server, "forged").await;
    assert_eq!(stranger.expect_close().await, (1008, "invalid or missing token".to_owned()));

    let mut bob = connect(&server, "bob-token").await;
    let mut alice = connect(&server, "alice-token").await;
    let refused = alice
        .request(json!({"type": "presence.kick", "data": {"userId": "bob"}, "correlationId": "k"}))
        .await;
    assert_eq!(refused["error"], json!({"code": "forbidden", "message": "admin role required"}));

    let mut admin = WsClient::connect(&server.url()).await; // no query token...
    assert_eq!(admin.expect_close().await.0, 1008);
    let mut admin =
        ori_tests::WsClient::try_connect_request(&server.url(), &[("authorization", "Bearer admin-token")])
            .await
            .expect("a bearer token works too");
    let kicked = admin.request(json!({"type": "presence.kick", "data": {"userId": "bob"}})).await;
    assert_eq!(kicked["data"], json!({"connections": 1}));
    assert_eq!(bob.expect_close().await, (4001, "kicked by an admin".to_owned()));
    let missing = admin.request(json!({"type": "presence.kick", "data": {"userId": "nobody"}})).await;
    assert_eq!(missing["error"]["code"], "not_found");
}

#[tokio::test]
async fn tests_can_swap_the_user_directory() {
    let users =
        UserDirectory::with_users([("t0ken", AuthState { user_id: "carol".into(), role: Role::Admin })]);
    let server = LiveServer::start(presence::app().override_value(users)).await;
    assert_eq!(connect(&server, "alice-token").await.expect_close().await.0, 1008);
    let mut carol = connect(&server, "t0ken").await;
    carol.request(json!({"type": "presence.heartbeat", "data": {"status": "online"}})).await;
    let online = carol.request(json!({"type": "presence.getOnline"})).await;
    assert_eq!(online["data"][0]["userId"], "carol");
}

#[test]
fn the_description_lists_routes_guards_pushes_and_schemas() {
    let description = presence::app().describe();
    assert_eq!(description.path.as_deref(), Some("/ws"));
    let types: Vec<&str> = description.routes.iter().map(|r| r.message_type.as_str()).collect();
    assert_eq!(types, ["presence.heartbeat", "presence.getOnline", "presence.setStatus", "presence.kick"]);
    let kick = &description.routes[3];
    assert_eq!((kick.router.as_str(), kick.handler.as_str()), ("PresenceRouter", "kick"));
    assert_eq!(kick.doc, "Disconnects a user's connections on every instance (admins only).");
    assert_eq!(kick.message_guards, ["AdminGuard"]);
    assert!(kick.connection_guards.iter().any(|g| g.ends_with("TokenGuard")), "{:?}", kick.connection_guards);
    assert_eq!(kick.errors, ["bad_request", "forbidden", "internal", "not_found"]);
    assert_eq!(kick.data.schema, Some(json!({ "$ref": "#/definitions/Kick" })));
    assert_eq!(
        description.definitions["Kick"]["properties"]["userId"],
        json!({ "type": "string", "description": "Who to disconnect." })
    );
    let get_online = &description.routes[1];
    assert!(get_online.data.is_unit());
    assert_eq!(
        get_online.reply.schema.as_ref().unwrap()["items"],
        json!({ "$ref": "#/definitions/OnlineUser" })
    );
    // Only the pushes of the routers' crate: not those of the test support library.
    let pushes: Vec<&str> = description.pushes.iter().map(|p| p.message_type.as_str()).collect();
    assert_eq!(pushes, ["presence.changed"]);
}

/// The committed TypeScript client and AsyncAPI document are what the app
/// generates now (CI fails when a change to the app leaves them stale).
#[test]
fn the_committed_generated_files_are_current() {
    let generated = ori_examples::generated(&presence::app(), "presence", "PresenceApi");
    assert_eq!(generated.stale("presence"), Vec::<String>::new());
}

/// The page, the generated client it loads, the runtime, and the AsyncAPI
/// document the app serves (the same as the committed one).
#[tokio::test]
async fn the_page_its_client_and_the_asyncapi_document_are_served() {
    let server = LiveServer::start(presence::app()).await;
    let page = ori_tests::http(server.addr, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("PresenceApi.connect"), "the page uses the generated client");
    let generated = ori_examples::generated(&presence::app(), "presence", "PresenceApi");
    let client = ori_tests::http(server.addr, "GET", "/examples/presence/presence_api.js", &[], "").await;
    assert_eq!((client.status, client.body), (200, generated.javascript));
    let runtime = ori_tests::http(server.addr, "GET", "/clients/typescript/src/client.js", &[], "").await;
    assert_eq!(runtime.status, 200);
    assert!(runtime.body.contains("export class OriClient"));
    let served = ori_tests::http(server.addr, "GET", "/asyncapi.json", &[], "").await;
    assert_eq!(served.status, 200);
    let served: serde_json::Value = serde_json::from_str(&served.body).expect("JSON");
    let committed: serde_json::Value = serde_json::from_str(&generated.asyncapi).expect("JSON");
    assert_eq!(served, committed);
}

/// With Redis, an admin on one instance kicks a user from every instance
/// (presence knows the user's connections; ori disconnects each where it is).
#[tokio::test]
async fn an_admin_kicks_a_user_from_every_instance() {
    kicks_from_every_instance::<ori_tests::redis_server::RedisServer>().await;
}

/// The same on NATS, unchanged.
#[tokio::test]
async fn an_admin_kicks_a_user_from_every_instance_on_nats() {
    kicks_from_every_instance::<ori_tests::nats_server::NatsServer>().await;
}

async fn kicks_from_every_instance<B: ori_tests::broker_suite::Broker>() {
    let Some(broker) = B::start() else { return };
    let app = || presence::app().pubsub(broker.backend(Default::default()));
    let servers =
        [LiveServer::start(app()).await, LiveServer::start(app()).await, LiveServer::start(app()).await];
    let mut bob_here = connect(&servers[1], "bob-token").await;
    let mut bob_there = connect(&servers[2], "bob-token").await;
    let mut alice = connect(&servers[2], "alice-token").await;
    for client in [&mut bob_here, &mut bob_there, &mut alice] {
        client.request(json!({"type": "presence.heartbeat", "data": {"status": "online"}})).await;
    }
    let mut admin = connect(&servers[0], "admin-token").await;
    let kicked = admin.request(json!({"type": "presence.kick", "data": {"userId": "bob"}})).await;
    assert_eq!(kicked["data"], json!({"connections": 2}), "{kicked}");
    for bob in [&mut bob_here, &mut bob_there] {
        assert_eq!(bob.expect_close().await, (4001, "kicked by an admin".to_owned()));
    }
    // Alice stays; bob's leaves reach the broker as his connections close.
    let deadline = std::time::Instant::now() + ori_tests::WAIT;
    loop {
        let online = alice.request(json!({"type": "presence.getOnline", "correlationId": "o"})).await;
        let users: Vec<String> = online["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userId"].as_str().unwrap().to_owned())
            .collect();
        assert!(users.contains(&"alice".to_owned()), "{online}");
        if !users.contains(&"bob".to_owned()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "bob is still online: {online}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
