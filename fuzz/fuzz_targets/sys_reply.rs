#![no_main]
//! Replies to system-account requests (VARZ, CONNZ, STATSZ) from the wire.
use libfuzzer_sys::fuzz_target;
use warden_core::nats::sys::decode_api;
use warden_core::nats::types::{Connz, StatszMsg, Varz};

fuzz_target!(|data: &[u8]| {
    let _ = decode_api::<Varz>(data);
    let _ = decode_api::<Connz>(data);
    let _ = serde_json::from_slice::<StatszMsg>(data);
});
