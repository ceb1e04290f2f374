//! The README's conversations ("Getting started", "A tour"), read by the
//! tests that hold them to the hello example and by `readme_conversation`,
//! which CI runs against the apps a fresh crate builds from README.

use crate::WsClient;

/// The README, as committed.
pub const README: &str = include_str!("../../README.md");

/// The text of the README's getting-started section.
pub fn getting_started() -> &'static str {
    section("Getting started")
}

/// The text of the README's section `## {name}`, up to the next `## `.
pub fn section(name: &str) -> &'static str {
    let heading = format!("\n## {name}\n");
    let start = README.find(&heading).unwrap_or_else(|| panic!("README has no section {name}")) + 1;
    let end = README[start + 3..].find("\n## ").map_or(README.len(), |end| start + 3 + end);
    &README[start..end]
}

/// The body of the first fenced block of `section` opening with `fence`.
pub fn block(section: &str, fence: &str) -> String {
    let start = section.find(fence).unwrap_or_else(|| panic!("a {fence} block")) + fence.len() + 1;
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_owned()
}

/// A section's conversation: each `-> ` request with its `<- ` reply.
pub fn conversation(section: &str) -> Vec<(&str, &str)> {
    let requests = section.lines().filter_map(|line| line.strip_prefix("-> "));
    let replies = section.lines().filter_map(|line| line.strip_prefix("<- "));
    let conversation: Vec<_> = requests.zip(replies).collect();
    assert!(!conversation.is_empty(), "no `-> ` and `<- ` lines in:\n{section}");
    conversation
}

/// Sends the requests of `section`'s conversation on `client` and checks
/// each reply (as JSON: key order aside, byte for byte); panics on the
/// first that differs.
pub async fn hold_conversation(client: &mut WsClient, section: &str) {
    for (request, reply) in conversation(section) {
        client.send_text(request).await;
        let got = client.recv().await;
        let expected: serde_json::Value = serde_json::from_str(reply).expect("the README's reply is JSON");
        assert_eq!(got, expected, "for {request}");
    }
}
