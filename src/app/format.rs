//! Compact human formats for table cells (k9s/natscli style).

/// `3d4h`, `2h13m`, `5m2s`, `45s`; negative values get a leading `-`.
/// A key shortened for a column: a public key as `ABCD…WXYZ`, anything
/// else to 11 characters and `…` (by characters, never bytes: a tenant's
/// text may be anything).
pub fn short_key(k: &str) -> String {
    if is_public_key(k) {
        return short_nkey(k);
    }
    if k.chars().count() > 12 { format!("{}…", k.chars().take(11).collect::<String>()) } else { k.to_string() }
}

pub fn duration(secs: i64) -> String {
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let body = if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    };
    if neg { format!("-{body}") } else { body }
}

/// `512B`, `1.5KiB`, `20.0MiB`.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n.max(0) as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n}B") } else { format!("{v:.1}{}", UNITS[u]) }
}

/// `999`, `1.2K`, `3.4M`, `5.6G`.
pub fn count(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    if a < 1000.0 {
        n.to_string()
    } else if a < 1e6 {
        format!("{sign}{:.1}K", a / 1e3)
    } else if a < 1e9 {
        format!("{sign}{:.1}M", a / 1e6)
    } else {
        format!("{sign}{:.1}G", a / 1e9)
    }
}

/// Seconds since the Unix epoch of an RFC 3339 time (as nats-server writes).
pub fn unix_of_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

/// "in 3h2m" / "expired 5m ago" relative to `now`.
pub fn expiry(exp: i64, now: i64) -> String {
    if exp > now { format!("in {}", duration(exp - now)) } else { format!("expired {} ago", duration(now - exp)) }
}

/// A moment for a detail pane: RFC 3339 and relative to `now`
/// (`2026-11-23T09:00:00Z (in 1h0m)`), never an epoch number.
pub fn moment(unix: i64, now: i64) -> String {
    let date = chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string());
    let rel = if unix > now { format!("in {}", duration(unix - now)) } else { format!("{} ago", duration(now - unix)) };
    format!("{date} ({rel})")
}

/// JWT claims JSON for reading: every `exp`, `iat` and `nbf` number (at
/// any depth) becomes `"<n> = <RFC 3339> (<relative>)"`. Not JSON that
/// parses: returned as it is.
pub fn claims_with_times(json: &str, now: i64) -> String {
    fn walk(v: &mut serde_json::Value, now: i64) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match x.as_i64() {
                        Some(n) if matches!(k.as_str(), "exp" | "iat" | "nbf") && n > 0 => {
                            *x = serde_json::Value::String(format!("{n} = {}", moment(n, now)));
                        }
                        _ => walk(x, now),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, now)),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(mut v) => {
            walk(&mut v, now);
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| json.to_string())
        }
        Err(_) => json.to_string(),
    }
}

/// Text from the wire (a client's name, a subject, a user) made safe for a
/// terminal that is not ratatui's (which drops control characters itself):
/// every control character, the start of any escape sequence, is shown as
/// its Unicode control picture (`␛` for ESC, `␡` for DEL) or `�` (C1), one
/// cell wide, never emitted.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match c as u32 {
            n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('\u{fffd}'),
            0x7f => '\u{2421}',
            _ if c.is_control() => '\u{fffd}',
            _ => c,
        })
        .collect::<String>()
        .into()
}

/// Cells a string takes in a terminal (wide characters count two).
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// `s` shortened to at most `w` cells: unchanged when it fits, else cut
/// where `cut` says with `…` in place of what was taken out, so a cut
/// value never reads as another valid one.
pub fn fit(s: &str, w: usize, cut: crate::app::table::Cut) -> std::borrow::Cow<'_, str> {
    use crate::app::table::Cut;
    if display_width(s) <= w {
        return std::borrow::Cow::Borrowed(s);
    }
    if w == 0 {
        return std::borrow::Cow::Borrowed("");
    }
    let avail = w - 1;
    let take_head = |budget: usize| {
        let mut used = 0;
        let mut out = String::new();
        for c in s.chars() {
            let cw = char_width(c);
            if used + cw > budget {
                break;
            }
            used += cw;
            out.push(c);
        }
        (out, used)
    };
    match cut {
        Cut::End => {
            let (head, _) = take_head(avail);
            format!("{head}…").into()
        }
        Cut::Middle => {
            // The end tells such values apart: it gets the larger part; a
            // URI keeps just its scheme (`spiffe://…/node-a`).
            let head_budget = match s.find("://") {
                Some(p) if p + 3 <= avail / 2 => p + 3,
                _ => avail * 2 / 5,
            };
            let (head, used) = take_head(head_budget);
            let mut tail: Vec<char> = Vec::new();
            let mut left = avail - used;
            for c in s.chars().rev() {
                let cw = char_width(c);
                if cw > left {
                    break;
                }
                left -= cw;
                tail.push(c);
            }
            tail.reverse();
            format!("{head}…{}", tail.into_iter().collect::<String>()).into()
        }
    }
}

/// An account's or user's label everywhere in the console: its name when
/// known, else its public key shortened to `ABCD…WXYZ` (the full key is in
/// the detail). Values that are not NATS public keys (a SPIFFE ID, `$G`, a
/// plain user) are shown as they are.
pub fn principal(name: Option<&str>, key: &str) -> String {
    match name.filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None if is_public_key(key) => short_nkey(key),
        None => key.to_string(),
    }
}

/// `ABCD…WXYZ`: the first and last four characters of a public key.
pub fn short_nkey(k: &str) -> String {
    if is_public_key(k) { format!("{}…{}", &k[..4], &k[k.len() - 4..]) } else { k.to_string() }
}

/// A NATS public nkey: 56 upper-case base32 characters starting with the
/// role prefix (A account, U user, O operator, N server, C cluster).
pub fn is_public_key(k: &str) -> bool {
    k.len() == 56
        && matches!(k.as_bytes()[0], b'A' | b'U' | b'O' | b'N' | b'C')
        && k.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// Times in JSON as RFC 3339 (the reports' convention).
pub use warden_core::json_time as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(302), "5m2s");
        assert_eq!(duration(7980), "2h13m");
        assert_eq!(duration(360_000), "4d4h");
        assert_eq!(duration(-60), "-1m0s");
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5KiB");
        assert_eq!(count(999), "999");
        assert_eq!(count(1234), "1.2K");
        assert_eq!(count(3_400_000), "3.4M");
        assert_eq!(unix_of_rfc3339("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(unix_of_rfc3339("2026-11-23T09:00:00.123456+01:00"), unix_of_rfc3339("2026-11-23T08:00:00Z"));
        assert_eq!(unix_of_rfc3339("garbage"), None);
        assert_eq!(expiry(100, 40), "in 1m0s");
        assert_eq!(expiry(40, 100), "expired 1m0s ago");
        assert_eq!(moment(1_795_424_400, 1_795_420_800), "2026-11-23T09:00:00Z (in 1h0m)");
        assert_eq!(moment(1_795_417_200, 1_795_420_800), "2026-11-23T07:00:00Z (1h0m ago)");
        let c = claims_with_times(r#"{"exp":1795424400,"nats":{"iat":60,"pub":{"allow":["a"]}}}"#, 1_795_420_800);
        assert!(c.contains(r#""exp": "1795424400 = 2026-11-23T09:00:00Z (in 1h0m)""#), "{c}");
        assert!(c.contains("1970-01-01T00:01:00Z") && c.contains(r#""allow""#), "{c}");
        assert_eq!(claims_with_times("not json", 0), "not json");
    }

    #[test]
    fn cuts_are_marked_and_fit() {
        use crate::app::table::Cut;
        let id = "spiffe://tentacular.local/spire/agent/k8s_psat/sandbox/node-a";
        assert_eq!(fit(id, 80, Cut::Middle), id);
        let m = fit(id, 24, Cut::Middle);
        assert_eq!(display_width(&m), 24);
        assert_eq!(m, "spiffe://…sandbox/node-a");
        let e = fit("tentacular.payments.ledger.commands", 34, Cut::End);
        assert_eq!(e, "tentacular.payments.ledger.comman…");
        assert_eq!(fit("日本語テキスト", 5, Cut::End), "日本…");
        assert!(display_width(&fit("日本語テキスト", 6, Cut::Middle)) <= 6);
        assert_eq!(fit("abc", 1, Cut::End), "…");
        assert_eq!(fit("abc", 0, Cut::Middle), "");
    }

    #[test]
    fn principals_are_names_or_short_keys() {
        let k = format!("AB2LLJFJ{}", "Q".repeat(44) + "WXYZ");
        assert!(is_public_key(&k));
        assert_eq!(principal(None, &k), "AB2L…WXYZ");
        assert_eq!(principal(Some("APP"), &k), "APP");
        assert_eq!(principal(Some(""), "$G"), "$G");
        assert_eq!(principal(None, "spiffe://x/ns/a"), "spiffe://x/ns/a");
    }

    #[test]
    fn wire_text_never_reaches_a_terminal_as_a_sequence() {
        let evil = "evil\x1b]0;PWNED\x07\x1b[2J\u{9b}31m\x7f";
        let p = printable(evil);
        assert!(!p.chars().any(char::is_control), "{p:?}");
        assert_eq!(p, "evil␛]0;PWNED␇␛[2J�31m␡");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed("plain")));
        assert_eq!((display_width("日本"), display_width("ab")), (4, 2));
    }
}
