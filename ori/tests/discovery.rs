//! Discovery in a binary that holds no `#[socket_router]` (this test crate
//! links none): the case of a server whose routers' crate was not linked.
//! Starting is then an error that says why and what to do, unless the app
//! adds routes itself or turns discovery off.

use ori::{Error, Ori, SocketContext, SocketRoutes, WebSocketConfig};

#[tokio::test]
async fn no_router_found_is_a_start_up_error_that_says_how_to_fix_it() {
    let error = Ori::create().websocket(WebSocketConfig::default()).bind("127.0.0.1:0").await.unwrap_err();
    assert!(matches!(error, Error::NoRoutersFound), "{error:?}");
    let message = error.to_string();
    for hint in [
        "no `#[socket_router]` is linked",
        "use your_crate as _;",
        ".only_socket_router::<",
        ".allow_no_routers()",
    ] {
        assert!(message.contains(hint), "{hint:?} missing from: {message}");
    }
    assert!(format!("{error:?}").starts_with("NoRoutersFound: "), "{error:?}");
}

#[tokio::test]
async fn a_pubsub_only_endpoint_says_so() {
    let app = Ori::create().websocket(WebSocketConfig::default()).allow_no_routers();
    let server = app.bind("127.0.0.1:0").await;
    assert!(server.is_ok(), "{:?}", server.err());
}

#[tokio::test]
async fn an_on_message_handler_routes_everything() {
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .on_message(|_: SocketContext, _: ori::UnroutedMessage| async {});
    let server = app.bind("127.0.0.1:0").await;
    assert!(server.is_ok(), "{:?}", server.err());
}

#[tokio::test]
async fn an_endpoint_without_routes_is_allowed_with_discovery_off() {
    let server =
        Ori::create().discover(false).websocket(WebSocketConfig::default()).bind("127.0.0.1:0").await;
    assert!(server.is_ok(), "{:?}", server.err());
}

#[tokio::test]
async fn routes_added_by_hand_need_no_router() {
    async fn echo(_: SocketContext, data: String) -> Result<String, ori::SocketError> {
        Ok(data)
    }
    let app = Ori::create()
        .websocket(WebSocketConfig::default())
        .socket_routes(SocketRoutes::named("EchoRoutes").route("demo.echo", echo));
    let server = app.bind("127.0.0.1:0").await;
    assert!(server.is_ok(), "{:?}", server.err());
}

#[tokio::test]
async fn an_app_without_a_websocket_endpoint_needs_no_router() {
    let app =
        Ori::create().routes(axum::Router::new().route("/health", axum::routing::get(|| async { "ok" })));
    let server = app.bind("127.0.0.1:0").await;
    assert!(server.is_ok(), "{:?}", server.err());
}
