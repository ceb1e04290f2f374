//! Compile-fail and compile-pass cases of ori's macros live in `tests/ui/`.
