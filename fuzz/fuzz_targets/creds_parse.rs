#![no_main]
//! Creds / seed file parsing: any input, no panic (`cargo +nightly fuzz run creds_parse`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    warden_core::nats::jwt::fuzz_creds_parse(data);
});
