//! natscli context files (`~/.config/nats/context/<name>.json`,
//! `config::NatsContext`; natscli's `natscontext/context.go` writes them):
//! no panic, an error never quotes a value (a password or token), `Debug`
//! never shows the password or token.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden_core::config::NatsContext;

/// Every value replaced by a marker no error text contains by chance.
fn mark(v: &mut Value, n: &mut u32) {
    *n += 1;
    match v {
        Value::String(s) => *s = format!("S3cr3t{n}Z"),
        Value::Number(_) => *v = Value::from(975_310_000 + u64::from(*n)),
        Value::Array(a) => a.iter_mut().for_each(|v| mark(v, n)),
        Value::Object(o) => o.iter_mut().for_each(|(_, v)| mark(v, n)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// `marked`: every value is a distinct marker (and the keys hold none), so
/// a marker in an error or a secret in `Debug` was printed from a value.
fn check(text: &str, marked: bool) {
    match NatsContext::from_json("fuzz", Path::new("/home/u/.config/nats/context/fuzz.json"), text) {
        Ok(c) => {
            let shown = format!("{c:?}");
            for s in [&c.password, &c.token] {
                assert!(!marked || s.is_empty() || !shown.contains(s.expose()), "Debug shows a secret: {shown}");
            }
        }
        Err(e) => {
            let msg = format!("{e:#}");
            assert!(!marked || !(msg.contains("S3cr3t") || msg.contains("97531")), "a value is echoed: {msg}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    check(text, false);
    if text.contains("S3cr3t") || text.contains("97531") {
        return;
    }
    if let Ok(mut v) = serde_json::from_str::<Value>(text) {
        let mut n = 0;
        mark(&mut v, &mut n);
        check(&v.to_string(), true);
    }
});
