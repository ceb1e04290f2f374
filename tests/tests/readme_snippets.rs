//! Every Rust fragment of the README (its `rust,ignore` blocks) compiles: each
//! appears line for line in `tests/readme/snippets.rs`, which this test
//! compiles. (Whole programs, `rust,no_run`, are doctests of the `ori` crate.)

// The fragments keep the README's layout, aligned comments included.
#[rustfmt::skip]
#[path = "../readme/snippets.rs"]
mod snippets;

use ori_tests::readme::README;

const SNIPPETS: &str = include_str!("../readme/snippets.rs");

/// The paragraphs of the README's ```` ```rust,ignore ```` blocks (a block
/// shows a server part and a client part, for example), each as its lines
/// without leading whitespace. A block under a file's name (`` `tests/greet.rs`: ``)
/// is a whole file of a crate: CI's fresh-crate stage builds those.
fn fragments() -> Vec<Vec<&'static str>> {
    let mut fragments = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    let mut last_text = "";
    for line in README.lines() {
        match (&mut current, line.trim()) {
            (None, "```rust,ignore") if !is_file_name(last_text) => current = Some(Vec::new()),
            (Some(_), "```") => fragments.extend(current.take()),
            (Some(lines), "") => fragments.push(std::mem::take(lines)),
            (Some(lines), _) => lines.push(line.trim_start()),
            (None, "") => {}
            (None, text) => last_text = text,
        }
    }
    fragments.retain(|lines| !lines.is_empty());
    fragments
}

/// `` `src/main.rs`: ``, the line that names the file a block is.
fn is_file_name(line: &str) -> bool {
    line.strip_prefix('`').and_then(|rest| rest.strip_suffix("`:")).is_some_and(|name| !name.contains(' '))
}

#[test]
fn every_rust_fragment_of_the_readme_is_in_the_compiled_snippets() {
    let fragments = fragments();
    assert!(fragments.len() >= 9, "found {} rust,ignore blocks: did the fence change?", fragments.len());
    let compiled: Vec<&str> = SNIPPETS.lines().map(str::trim_start).collect();
    for fragment in fragments {
        let found = compiled.windows(fragment.len()).any(|window| window == fragment.as_slice());
        assert!(
            found,
            "this README fragment is not in tests/readme/snippets.rs (copy it there, with what it needs around it):\n{}",
            fragment.join("\n")
        );
    }
}
