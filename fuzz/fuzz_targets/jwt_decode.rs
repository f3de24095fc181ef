#![no_main]
//! NATS JWT decoding: any input, no panic (`cargo +nightly fuzz run jwt_decode`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    warden_core::nats::jwt::fuzz_decode(data);
});
