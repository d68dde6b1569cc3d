#![no_main]
//! The uploaded ID-list parser, in any chunking (segment_core::fuzzing::id_list).

libfuzzer_sys::fuzz_target!(|data: &[u8]| segment_core::fuzzing::id_list(data));
