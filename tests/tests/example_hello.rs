//! The README's "Getting started": its `src/main.rs` is `examples/hello/main.rs`
//! byte for byte, its `Cargo.toml` lists what that file uses, and the
//! conversation it shows is what the app answers, line for line.

use ori::{Ori, WebSocketConfig};
use ori_tests::LiveServer;

// The binary's `main` is not called: the test serves its router.
#[allow(dead_code)]
#[path = "../../examples/hello/main.rs"]
mod hello;

const README: &str = include_str!("../../README.md");
const MAIN: &str = include_str!("../../examples/hello/main.rs");

/// The text of the README's getting-started section.
fn section() -> &'static str {
    let start = README.find("## Getting started").expect("the section");
    let end = start + README[start..].find("\n## Two commands").expect("the next section");
    &README[start..end]
}

/// The body of the first fenced block of `section` opening with `fence`.
fn block(section: &str, fence: &str) -> String {
    let start = section.find(fence).unwrap_or_else(|| panic!("a {fence} block")) + fence.len() + 1;
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_owned()
}

#[test]
fn the_readme_main_is_the_example() {
    assert_eq!(block(section(), "```rust,no_run"), MAIN, "update the README from examples/hello/main.rs");
}

#[test]
fn the_readme_dependencies_are_what_the_example_uses() {
    let toml = block(section(), "```toml");
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
    let requests = section().lines().filter_map(|line| line.strip_prefix("-> "));
    let replies = section().lines().filter_map(|line| line.strip_prefix("<- "));
    let conversation: Vec<(&str, &str)> = requests.zip(replies).collect();
    assert_eq!(conversation.len(), 2);
    for (request, reply) in conversation {
        client.send_text(request).await;
        let got = client.recv().await;
        let expected: serde_json::Value = serde_json::from_str(reply).expect("the README's reply is JSON");
        assert_eq!(got, expected, "for {request}");
    }
}
