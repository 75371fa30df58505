//! libFuzzer entry point for `thidua_fuzz::covenant_csv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| thidua_fuzz::covenant_csv(data));
