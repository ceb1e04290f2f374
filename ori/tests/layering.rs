//! The dependency order of `ori/src` that the README's "Layout" section
//! describes: a module may name (`crate::<module>`) only modules below it,
//! apart from the two documented exceptions. Doc comments may link anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top. `error` is shared by every layer; `private` and `lib.rs`
/// sit above everything (they re-export).
const ORDER: [&str; 18] = [
    "util",
    "wire",
    "protocol",
    "connection",
    "error",
    "pubsub",
    "handles",
    "di",
    "hooks",
    "routing",
    "describe",
    "endpoint",
    "ws",
    "app",
    "server",
    "builder",
    "client",
    "testing",
];

/// Upward imports the README explains (none today).
const EXCEPTIONS: [(&str, &str); 0] = [];

fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<name>` in the file's code (comments skipped).
fn named_modules(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // `use crate::{a, b::C}` names several modules.
            if name.is_empty() && rest.starts_with('{') {
                let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
                for item in group.split(',') {
                    let item = item.trim();
                    let head: String =
                        item.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if item[head.len()..].starts_with("::") {
                        named.insert(head);
                    }
                }
            } else {
                named.insert(name);
            }
        }
    }
    named
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 40, "found {} files under {}", files.len(), src.display());
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let owner = relative.components().next().expect("a component").as_os_str().to_string_lossy();
        let owner = owner.trim_end_matches(".rs");
        let Some(owner_rank) = rank(owner) else { continue };
        checked += 1;
        let source = std::fs::read_to_string(file).expect("readable source");
        for named in named_modules(&source) {
            let Some(named_rank) = rank(&named) else { continue };
            if named_rank > owner_rank && !EXCEPTIONS.contains(&(owner, named.as_str())) {
                violations.push(format!("{} names crate::{named}", relative.display()));
            }
        }
    }
    assert!(checked > 40, "checked {checked} files");
    assert!(
        violations.is_empty(),
        "upward imports (move the item down, or document a new exception in the README's Layout \
         and in EXCEPTIONS):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_reads_grouped_and_plain_paths() {
    let named = named_modules(
        "use crate::{AppContext, pubsub::Outbound, util::scratch};\n\
         let x = crate::server::default_workers(); // crate::client::Client in a comment\n",
    );
    assert_eq!(named, BTreeSet::from(["pubsub".to_owned(), "server".to_owned(), "util".to_owned()]));
}
