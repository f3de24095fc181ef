//! `spire-server entry show -output json` / `agent list -output json`
//! (protojson of spire-api-sdk `types.Entry` / `types.Agent`, read from a
//! pod's exec stream) and the console rows built from them.
#![no_main]

#[path = "common/rows.rs"]
mod rows;

use libfuzzer_sys::fuzz_target;
use warden::app::spire_views::{AgentRow, EntryRow};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = warden_core::spire::model::parse_entries(data) {
        for e in entries {
            let _ = e.spiffe_id.uri();
            rows::show(&EntryRow::new(e));
        }
    }
    if let Ok(agents) = warden_core::spire::model::parse_agents(data) {
        for a in agents {
            rows::show(&AgentRow::new(a));
        }
    }
});
