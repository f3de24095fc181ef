//! Replies to system-account requests and system events from the wire
//! (nats-server `server/events.go`, `server/monitor.go`): VARZ, CONNZ,
//! STATSZ, JSZ, USER.INFO, claim updates, CONNECT/DISCONNECT advisories,
//! the INFO line (`server/server.go`); then
//! the console rows built from them (`app::servers`, `app::conns`).
#![no_main]

#[path = "common/rows.rs"]
mod rows;

use libfuzzer_sys::fuzz_target;
use warden::app::conns::{self, ConnRow, RowNames};
use warden::app::servers::ServerRow;
use warden_core::nats::claims_update::ClaimUpdateReply;
use warden_core::nats::sys::decode_api;
use warden_core::nats::types::{ClientEventMsg, Connz, Jsz, StatszMsg, UserInfoResponse, Varz};

fuzz_target!(|data: &[u8]| {
    let varz = decode_api::<Varz>(data);
    if let Some(v) = varz.ok() {
        let mut row = ServerRow::from_varz(&varz.server, v);
        rows::show(&row);
        if let Ok(m) = serde_json::from_slice::<StatszMsg>(data) {
            row.apply_statsz(&m);
            rows::show(&row);
        }
    }
    let mut cache = RowNames::default();
    if let Ok(list) = conns::rows_of(decode_api::<Connz>(data), &mut cache) {
        for r in &list {
            rows::show(r);
        }
    }
    if let Ok(m) = serde_json::from_slice::<StatszMsg>(data) {
        let mut row = ServerRow::default();
        row.apply_statsz(&m);
        rows::show(&row);
    }
    // JSZ (the doctor's streams) and the INFO line an unauthenticated client gets.
    let jsz = decode_api::<Jsz>(data);
    let _ = warden_core::doctor::facts::jetstream_of(jsz.ok().into_iter());
    let _ = warden_core::nats::info_probe::parse_info(data);
    let _ = serde_json::from_slice::<UserInfoResponse>(data);
    let _ = serde_json::from_slice::<ClaimUpdateReply>(data);
    if let Ok(e) = serde_json::from_slice::<ClientEventMsg>(data) {
        let row =
            ConnRow::from_event(&e.server.name, &e.server.id, &e.server.ver, e.client.into_conn_info(), &mut cache);
        rows::show(&row);
    }
});
