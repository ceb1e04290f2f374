//! The public API, listed in `ori/public-api.txt`, so that a change to it
//! shows up as a diff in review. `cargo public-api` needs a nightly
//! toolchain; this list is read from the source with `syn` instead.
//!
//! Every `pub` item of `ori/src` is public API: the workspace denies
//! `unreachable_pub`, so an item that is `pub` is reachable from the crate
//! root. Listed: each `pub` item (functions and methods with their
//! signatures, structs with their `pub` fields, enums with their variants,
//! traits with their items, re-exports), under its file's module path, with
//! the feature it needs. Not listed: `#[doc(hidden)]` items (`__private`,
//! what generated code names), trait impls.
//!
//! After a deliberate change: `ORI_BLESS=1 cargo test -p ori-ws --test public_api`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quote::ToTokens;

const LIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/public-api.txt");

#[test]
fn the_public_api_is_the_committed_list() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut list = String::from(
        "# ori's public API, read from ori/src by ori/tests/public_api.rs.\n\
         # Regenerate after a deliberate change: ORI_BLESS=1 cargo test -p ori-ws --test public_api\n",
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let module = module_path(&src, &file);
        // `ori::__private` (private.rs) is declared `#[doc(hidden)]` in lib.rs.
        if is_hidden(&parsed.attrs) || module == "ori::private" {
            continue;
        }
        let mut lines = Vec::new();
        items(&module, "", &parsed.items, &mut lines);
        if !lines.is_empty() {
            let _ = writeln!(list, "\n[{module}]");
            for line in lines {
                let _ = writeln!(list, "{line}");
            }
        }
    }
    if std::env::var_os("ORI_BLESS").is_some() {
        std::fs::write(LIST, &list).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(LIST).unwrap_or_default();
    if committed != list {
        let first = committed.lines().zip(list.lines()).position(|(a, b)| a != b).unwrap_or(0);
        let context = |text: &str| text.lines().skip(first).take(3).collect::<Vec<_>>().join("\n");
        panic!(
            "the public API changed (first difference at line {}):\n  committed: {}\n  now:       {}\n\
             If the change is deliberate, regenerate the list and review its diff:\n  \
             ORI_BLESS=1 cargo test -p ori-ws --test public_api",
            first + 1,
            context(&committed),
            context(&list),
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `ori::a::b` for `src/a/b.rs` or `src/a/b/mod.rs`; `ori` for `src/lib.rs`.
fn module_path(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    std::iter::once("ori".to_owned()).chain(parts).collect::<Vec<_>>().join("::")
}

fn is_hidden(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("doc") && a.to_token_stream().to_string().contains("hidden"))
}

/// ` [cfg(feature = "tls")]` when an item needs a feature.
fn cfg(attrs: &[syn::Attribute]) -> String {
    attrs.iter().filter(|a| a.path().is_ident("cfg")).map(|a| format!(" [{}]", tidy(&a.meta))).collect()
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// Tokens as one line, without the spaces `to_string` puts around punctuation.
fn tidy(tokens: &impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" ;", ";"),
        ("& '", "&'"),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" :", ":"),
        ("! (", "!("),
        (" ?", "?"),
        ("# [", "#["),
    ] {
        while text.contains(from) {
            text = text.replace(from, to);
        }
    }
    for (from, to) in [(" (", "("), (",)", ")"), ("(mut self", "(self")] {
        text = text.replace(from, to);
    }
    text.replace("->", " -> ").replace("  ", " ")
}

fn signature(sig: &syn::Signature) -> String {
    tidy(&sig)
}

fn items(module: &str, prefix: &str, list: &[syn::Item], out: &mut Vec<String>) {
    for item in list {
        match item {
            syn::Item::Fn(f) if is_pub(&f.vis) && !is_hidden(&f.attrs) => {
                out.push(format!("{prefix}{}{}", signature(&f.sig), cfg(&f.attrs)));
            }
            syn::Item::Struct(s) if is_pub(&s.vis) && !is_hidden(&s.attrs) => {
                let generics = tidy(&s.generics);
                out.push(format!("{prefix}struct {}{generics}{}", s.ident, cfg(&s.attrs)));
                for field in s.fields.iter().filter(|f| is_pub(&f.vis) && !is_hidden(&f.attrs)) {
                    let name = field.ident.as_ref().map_or("0".to_owned(), ToString::to_string);
                    out.push(format!("{prefix}    {name}: {}", tidy(&field.ty)));
                }
            }
            syn::Item::Enum(e) if is_pub(&e.vis) && !is_hidden(&e.attrs) => {
                let generics = tidy(&e.generics);
                out.push(format!("{prefix}enum {}{generics}{}", e.ident, cfg(&e.attrs)));
                for variant in e.variants.iter().filter(|v| !is_hidden(&v.attrs)) {
                    let field = |f: &syn::Field| {
                        let ty = tidy(&f.ty);
                        f.ident.as_ref().map_or(ty.clone(), |name| format!("{name}: {ty}"))
                    };
                    let listed: Vec<String> = variant.fields.iter().map(field).collect();
                    let fields = match &variant.fields {
                        syn::Fields::Named(_) => format!(" {{ {} }}", listed.join(", ")),
                        syn::Fields::Unnamed(_) => format!("({})", listed.join(", ")),
                        syn::Fields::Unit => String::new(),
                    };
                    out.push(format!("{prefix}    {}{fields}", variant.ident));
                }
            }
            syn::Item::Trait(t) if is_pub(&t.vis) && !is_hidden(&t.attrs) => {
                let generics = tidy(&t.generics);
                let bounds = if t.supertraits.is_empty() {
                    String::new()
                } else {
                    format!(": {}", tidy(&t.supertraits))
                };
                out.push(format!("{prefix}trait {}{generics}{bounds}{}", t.ident, cfg(&t.attrs)));
                for inner in &t.items {
                    match inner {
                        syn::TraitItem::Fn(f) if !is_hidden(&f.attrs) => {
                            out.push(format!("{prefix}    {}", signature(&f.sig)));
                        }
                        syn::TraitItem::Type(ty) if !is_hidden(&ty.attrs) => {
                            let bounds = if ty.bounds.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", tidy(&ty.bounds))
                            };
                            out.push(format!("{prefix}    type {}{bounds}", ty.ident));
                        }
                        syn::TraitItem::Const(c) if !is_hidden(&c.attrs) => {
                            out.push(format!("{prefix}    const {}: {}", c.ident, tidy(&c.ty)));
                        }
                        _ => {}
                    }
                }
            }
            syn::Item::Type(t) if is_pub(&t.vis) && !is_hidden(&t.attrs) => {
                out.push(format!("{prefix}type {} = {}{}", t.ident, tidy(&t.ty), cfg(&t.attrs)));
            }
            syn::Item::Const(c) if is_pub(&c.vis) && !is_hidden(&c.attrs) => {
                out.push(format!("{prefix}const {}: {}{}", c.ident, tidy(&c.ty), cfg(&c.attrs)));
            }
            syn::Item::Static(s) if is_pub(&s.vis) && !is_hidden(&s.attrs) => {
                out.push(format!("{prefix}static {}: {}{}", s.ident, tidy(&s.ty), cfg(&s.attrs)));
            }
            syn::Item::Use(u) if is_pub(&u.vis) && !is_hidden(&u.attrs) => {
                out.push(format!("{prefix}use {}{}", tidy(&u.tree), cfg(&u.attrs)));
            }
            syn::Item::Mod(m) if is_pub(&m.vis) && !is_hidden(&m.attrs) => {
                out.push(format!("{prefix}mod {}{}", m.ident, cfg(&m.attrs)));
                if let Some((_, inner)) = &m.content {
                    items(&format!("{module}::{}", m.ident), &format!("{prefix}    "), inner, out);
                }
            }
            syn::Item::Macro(m)
                if m.ident.is_some() && m.attrs.iter().any(|a| a.path().is_ident("macro_export")) =>
            {
                out.push(format!("{prefix}macro_rules! {}", m.ident.as_ref().unwrap()));
            }
            syn::Item::Impl(imp) if imp.trait_.is_none() && !is_hidden(&imp.attrs) => {
                let methods: Vec<&syn::ImplItemFn> = imp
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        syn::ImplItem::Fn(f) if is_pub(&f.vis) && !is_hidden(&f.attrs) => Some(f),
                        _ => None,
                    })
                    .collect();
                let consts: Vec<&syn::ImplItemConst> = imp
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        syn::ImplItem::Const(c) if is_pub(&c.vis) && !is_hidden(&c.attrs) => Some(c),
                        _ => None,
                    })
                    .collect();
                if methods.is_empty() && consts.is_empty() {
                    continue;
                }
                let generics = tidy(&imp.generics);
                out.push(format!("{prefix}impl{generics} {}{}", tidy(&imp.self_ty), cfg(&imp.attrs)));
                for c in consts {
                    out.push(format!("{prefix}    const {}: {}", c.ident, tidy(&c.ty)));
                }
                for f in methods {
                    out.push(format!("{prefix}    {}{}", signature(&f.sig), cfg(&f.attrs)));
                }
            }
            _ => {}
        }
    }
}
