//! `ori::fuzzing::msgpack`: see its doc, and FUZZING.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ori::fuzzing::msgpack(data));
