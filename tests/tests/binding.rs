//! Listening: a second server on an address another process (or another
//! server) listens on is a start-up error that names the address, once,
//! whatever listens there; `SO_REUSEPORT` shares the port only among one
//! server's own workers. (In one test process: the kernel applies the same
//! rules to two processes of one user.)

use std::net::{SocketAddr, TcpListener};

use ori::{Ori, WebSocketConfig};

fn app() -> Ori {
    Ori::create().allow_no_routers().websocket(WebSocketConfig::default()).workers(2)
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn assert_in_use(error: &ori::Error, addr: SocketAddr) {
    let text = format!("{error:?}");
    let said = format!("address {addr} is in use");
    assert!(text.contains(&said), "{text}");
    assert_eq!(text.matches("in use").count(), 1, "said once: {text}");
    assert!(!text.contains("I/O error"), "{text}");
}

#[tokio::test]
async fn a_second_server_on_the_same_address_does_not_start() {
    let addr = free_addr();
    let first = app().bind(addr).await.expect("the first server listens");
    let error = app().bind(addr).await.expect_err("the port is taken by the first server");
    assert_in_use(&error, addr);
    // One worker (no SO_REUSEPORT at all) is refused the same way.
    let error = app().workers(1).bind(addr).await.expect_err("taken");
    assert_in_use(&error, addr);
    drop(first);
}

#[tokio::test]
async fn any_other_listener_on_the_address_is_named_too() {
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = other.local_addr().unwrap();
    let error = app().bind(addr).await.expect_err("the port is taken");
    assert_in_use(&error, addr);
    drop(other);
    let server = app().bind(addr).await.expect("free again");
    assert_eq!(server.local_addr(), addr);
}

#[tokio::test]
async fn the_workers_of_one_server_share_their_port() {
    let server = app().workers(4).bind("127.0.0.1:0").await.expect("listens");
    let addr = server.local_addr();
    let error = app().bind(addr).await.expect_err("a second server is refused");
    assert_in_use(&error, addr);
}
