#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kopiaplan_fuzz::checks::schedule(data));
