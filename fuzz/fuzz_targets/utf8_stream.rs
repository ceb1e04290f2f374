//! `ori::fuzzing::utf8_stream`: see its doc, and FUZZING.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ori::fuzzing::utf8_stream(data));
