//! libFuzzer entry point for `thidua_fuzz::sync_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| thidua_fuzz::sync_request(data));
