//! `ori::fuzzing::frame_stream`: see its doc, and FUZZING.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ori::fuzzing::frame_stream(data));
