#![no_main]
//! `spire-server entry show` / `agent list` output (from a pod's exec stream).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = warden_core::spire::model::parse_entries(data);
    let _ = warden_core::spire::model::parse_agents(data);
});
