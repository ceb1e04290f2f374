//! The dependency order of `ori/src` that the README's "Layout" section
//! describes: a module may name (`crate::<module>`) only modules below it,
//! and names internal items by their home path (`crate::<module>::...`),
//! never through the crate root's re-exports (`crate::Socket`), which would
//! hide the edge. Doc comments may link anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top. `private.rs` (`ori::__private`) and `lib.rs` sit above
/// everything: they re-export; so does `fuzzing.rs` (the fuzz targets'
/// entry points, only under `cfg(fuzzing)`), which reaches every decoder.
const ORDER: [&str; 19] = [
    "util",
    "telemetry",
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

/// Files above every module.
const TOP: [&str; 3] = ["lib", "private", "fuzzing"];

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

fn ident(text: &str) -> String {
    text.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

/// The first segment of every `crate::` path in the file's code (comments
/// skipped; `$crate::` in macros counts). In a group (`use crate::{a::B, C}`)
/// each item counts: `a`, `C`.
fn named_roots(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            // `your_crate::X` is no path of this crate.
            let inside_a_name =
                rest[..at].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            rest = &rest[at + "crate::".len()..];
            if inside_a_name {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                named.extend(group.split(',').map(|item| ident(item.trim())).filter(|i| !i.is_empty()));
            } else {
                named.insert(ident(rest));
            }
        }
    }
    named
}

/// Macros exported at the crate root (`#[macro_export]`) can be named only there.
fn is_root_macro(name: &str) -> bool {
    name.starts_with("__")
}

#[test]
fn modules_import_only_the_layers_below_them_by_home_path() {
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
        let owner_rank = rank(owner);
        if owner_rank.is_none() && !TOP.contains(&owner) {
            violations.push(format!("{} is in no layer: add it to ORDER and the README", relative.display()));
            continue;
        }
        if owner == "lib" {
            continue; // the façade: it re-exports from every layer
        }
        checked += 1;
        let source = std::fs::read_to_string(file).expect("readable source");
        for named in named_roots(&source) {
            match (owner_rank, rank(&named)) {
                (Some(owner_rank), Some(named_rank)) if named_rank > owner_rank => {
                    violations.push(format!("{} names crate::{named}, a layer above it", relative.display()));
                }
                (_, Some(_)) => {}
                (_, None) if is_root_macro(&named) => {}
                (_, None) => violations.push(format!(
                    "{} names crate::{named}: name it by its home path (crate::<module>::...)",
                    relative.display()
                )),
            }
        }
    }
    assert!(checked > 40, "checked {checked} files");
    assert!(
        violations.is_empty(),
        "imports the README's Layout does not allow (move the item down, or import it from its \
         module):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_reads_grouped_plain_and_macro_paths() {
    let named = named_roots(
        "use crate::{AppContext, protocol::Outbound, util::scratch};\n\
         let x = crate::server::default_workers(); // crate::client::Client in a comment\n\
         $crate::hooks::guard::ErasedConnectionGuard::new(guard)\n\
         \"use `your_crate::YourRouter`\"\n",
    );
    let expected = ["AppContext", "hooks", "protocol", "server", "util"];
    assert_eq!(named, expected.into_iter().map(str::to_owned).collect());
}
