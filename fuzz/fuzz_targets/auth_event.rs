//! System events from the wire: `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`,
//! `$SYS.ACCOUNT.CLIENT.AUTH.ERR` and `$SYS.ACCOUNT.<acc>.DISCONNECT`
//! (nats-server `server/events.go`), parsed into violations and diagnosed.
//! Input: the subject on the first line, the payload after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::violations::auth_diagnosis::AuthFacts;
use warden_core::violations::{auth_events, events};

fuzz_target!(|data: &[u8]| {
    let (subject, payload) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => ("$SYS.SERVER.N.CLIENT.AUTH.ERR".to_string(), data),
    };
    let _ = events::parse_event(&subject, payload);
    let _ = events::parse_event("$SYS.ACCOUNT.APP.DISCONNECT", payload);
    for subj in [subject.as_str(), auth_events::ACCOUNT_AUTH_ERR] {
        if let Some(p) = auth_events::parse(subj, payload) {
            let _ = p.account_needed();
            let _ = p.diagnose(&AuthFacts::default(), 1_700_000_000);
        }
    }
});
