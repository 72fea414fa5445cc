#![no_main]
//! The whole pipeline a request runs on arbitrary bytes: sniff, header, decode, thumbnail.

libfuzzer_sys::fuzz_target!(|data: &[u8]| darkroom_fuzz::pipeline(data));
