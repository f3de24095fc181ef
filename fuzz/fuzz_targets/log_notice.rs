//! Leafnode violation and reload-removal lines (`violations::log_notice`)
//! and the Go `%q` strings and `getAuthUser` forms inside them
//! (`violations::go_text`): no panic, and a Go-quoted string reads back
//! as what was quoted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::violations::{go_text, log_notice};

/// `strconv.Quote` (Go `strconv/quote.go`) in the forms the server's `%q`
/// writes: `\"`, `\\`, the short escapes, `\xHH` for other ASCII controls,
/// `\u`/`\U` for non-printable code points (here every non-ASCII one when
/// `escape_unicode`, which Go does for unprintable ones).
fn quote_go(s: &str, escape_unicode: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if escape_unicode && (c as u32) > 0xffff => out.push_str(&format!("\\U{:08x}", c as u32)),
            c if escape_unicode && (c as u32) >= 0x80 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = log_notice::parse_leaf(&s);
    if let Some(r) = log_notice::parse_removed(&s) {
        let _ = r.user.name();
    }
    if let Some((user, rest)) = go_text::parse_auth_user(&s) {
        let _ = user.name();
        assert!(s.ends_with(rest));
    }
    if let Some((_, rest)) = go_text::unquote_go(&s) {
        assert!(s.ends_with(rest));
    }
    // Round trip: whatever the server quotes reads back unchanged, and
    // what follows the closing quote is left as it was.
    let (value, tail) = s.split_at(s.char_indices().nth(s.chars().count() / 2).map_or(s.len(), |(i, _)| i));
    for escape_unicode in [false, true] {
        let quoted = format!("{}{tail}", quote_go(value, escape_unicode));
        let (back, rest) = go_text::unquote_go(&quoted).expect("a Go-quoted string reads back");
        assert_eq!((back.as_str(), rest), (value, tail));
        let line = format!(
            "Removed sub {} (sid \"7\") for User {} - not authorized",
            quote_go(value, escape_unicode),
            quote_go(tail, false)
        );
        let r = log_notice::parse_removed(&line).expect("a removal line the server writes parses");
        assert_eq!(r.subject, value);
        let leaf = format!("Publish Violation on {} - Check other side configuration", quote_go(value, escape_unicode));
        assert_eq!(log_notice::parse_leaf(&leaf), Some((true, value.to_string())));
    }
});
