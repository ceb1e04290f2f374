//! Compile-time behaviour of ori's macros (trybuild).
//!
//! `ui/pass/*.rs` must compile (and run); `ui/fail/<macro>/*.rs` must fail
//! with exactly the error in the sibling `.stderr`. Each failing case holds one
//! mistake. The `.stderr` files are part of the API: after a deliberate change,
//! regenerate them with `TRYBUILD=overwrite cargo test -p ori-ui-tests` and
//! review the diff. They match the pinned toolchain (Rust 1.95).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/**/*.rs");
}
