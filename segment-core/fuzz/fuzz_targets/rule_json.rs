#![no_main]
//! Rule JSON: validate → compile → evaluate (segment_core::fuzzing::rule_json).

libfuzzer_sys::fuzz_target!(|data: &[u8]| segment_core::fuzzing::rule_json(data));
