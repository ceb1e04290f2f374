//! The README's "Getting started": its `src/main.rs` is `examples/hello/main.rs`
//! byte for byte, its `Cargo.toml` lists what that file uses, and the
//! conversation it shows is what the app answers, line for line.

use ori::{Ori, WebSocketConfig};
use ori_tests::LiveServer;
use ori_tests::readme::{block, getting_started, hold_conversation};

// The binary's `main` is not called: the test serves its router.
#[allow(dead_code)]
#[path = "../../examples/hello/main.rs"]
mod hello;

const MAIN: &str = include_str!("../../examples/hello/main.rs");

#[test]
fn the_readme_main_is_the_example() {
    assert_eq!(
        block(getting_started(), "```rust,no_run"),
        MAIN,
        "update the README from examples/hello/main.rs"
    );
}

#[test]
fn the_readme_dependencies_are_what_the_example_uses() {
    let toml = block(getting_started(), "```toml");
    for needed in [
        "ori-ws = \"0.1\"",
        "serde = { version = \"1\", features = [\"derive\"] }",
        "\"macros\"",
        "\"rt-multi-thread\"",
    ] {
        assert!(toml.contains(needed), "{needed} missing from:\n{toml}");
    }
    for used in ["use ori::prelude::*;", "use serde::{Deserialize, Serialize};", "#[tokio::main]"] {
        assert!(MAIN.contains(used), "{used}");
    }
}

#[tokio::test]
async fn the_readme_conversation_is_what_the_app_answers() {
    // Discovery, as in the example: the only router of this binary is the example's.
    let server = LiveServer::start(Ori::create().websocket(WebSocketConfig::default())).await;
    let mut client = server.connect().await;
    hold_conversation(&mut client, getting_started()).await;
}
