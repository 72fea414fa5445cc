#![no_main]
//! Sniffing and header reads on arbitrary bytes (fast: no pixel is decoded).

libfuzzer_sys::fuzz_target!(|data: &[u8]| darkroom_fuzz::sniff_and_header(data));
