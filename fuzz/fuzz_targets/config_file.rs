//! The config file (`config.toml`, `config::ConfigFile`) and what is built
//! from it (`[naming]` templates, `[identity]` TTLs): no panic, and an error
//! never quotes a value of the file (a misspelt `pasword = "..."` must not
//! reach the terminal), nor does `Debug` print a password or token.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use warden_core::config::ConfigFile;
use warden_core::identity::naming::Naming;
use warden_core::identity::ttl::TtlPolicy;

/// Every value of the document replaced by a marker no error text can
/// contain by chance; keys are kept (an error may name a key).
fn mark(v: &mut toml::Value, n: &mut u32) {
    *n += 1;
    match v {
        toml::Value::String(s) => *s = format!("S3cr3t{n}Z"),
        toml::Value::Integer(i) => *i = 975_310_000 + i64::from(*n),
        toml::Value::Float(f) => *f = 97531.25 + f64::from(*n),
        toml::Value::Array(a) => a.iter_mut().for_each(|v| mark(v, n)),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| mark(v, n)),
        toml::Value::Boolean(_) | toml::Value::Datetime(_) => {}
    }
}

/// `marked`: every value is a distinct marker (and the keys hold none), so
/// a marker in an error or a secret in `Debug` was printed from a value.
fn check(text: &str, marked: bool) {
    let path = Path::new("/etc/warden/config.toml");
    match ConfigFile::from_text(path, text) {
        Ok(f) => {
            let shown = format!("{f:?}");
            for s in [&f.nats.password, &f.nats.token].into_iter().flatten() {
                assert!(!marked || s.is_empty() || !shown.contains(s.expose()), "Debug shows a secret: {shown}");
            }
            let _ = Naming::from_section(&f.naming);
            let _ = TtlPolicy::from_section(&f.identity);
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
    if let Ok(mut doc) = text.parse::<toml::Table>() {
        let mut n = 0;
        doc.iter_mut().for_each(|(_, v)| mark(v, &mut n));
        if let Ok(marked) = toml::to_string(&doc) {
            check(&marked, true);
        }
    }
});
