#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::violations::events::parse_event;

fuzz_target!(|data: &[u8]| {
    // First line (if any) is used as the subject, the rest as the payload.
    let (subject, payload) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => ("$SYS.SERVER.N.CLIENT.AUTH.ERR".to_string(), data),
    };
    let _ = parse_event(&subject, payload);
    let _ = parse_event("$SYS.ACCOUNT.APP.DISCONNECT", payload);
});
