//! String formats of CRD schemas. Which formats count at all is
//! apiextensions-apiserver pkg/apiserver/validation/formats.go (others,
//! e.g. int32/int64/float/double, are stripped from the schema and never
//! checked); each check follows kube-openapi pkg/validation/strfmt.

/// Some(valid) for a format the apiserver checks, None for one it strips
/// (or that this double accepts unchecked: uri, email, hostname, ipv6,
/// cidr, mac, isbn*, creditcard, ssn, rgbcolor, duration, bsonobjectid).
pub fn check(format: &str, s: &str) -> Option<bool> {
    // strfmt's DefaultNameNormalizer removes dashes: date-time == datetime.
    match format.replace('-', "").as_str() {
        "datetime" => Some(is_date_time(s)),
        "date" => Some(is_date(s)),
        "byte" => Some(is_base64(s)),
        "uuid" => Some(is_uuid(s, None)),
        "uuid3" => Some(is_uuid(s, Some('3'))),
        "uuid4" => Some(is_uuid(s, Some('4'))),
        "uuid5" => Some(is_uuid(s, Some('5'))),
        "ipv4" => Some(is_ipv4(s)),
        "hexcolor" => Some(is_hexcolor(s)),
        "password" => Some(true),
        _ => None,
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// strfmt `IsDate`: Go `time.Parse("2006-01-02", s)`: fixed-width fields,
/// real month and day-of-month, nothing after.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (y, m, d) = (&s[0..4], &s[5..7], &s[8..10]);
    if !(digits(y) && digits(m) && digits(d)) {
        return false;
    }
    let (y, m, d): (u32, u32, u32) = (y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// strfmt `IsDateTime` (time.go), including its quirks: shorter than 4
/// bytes is invalid (so "" is), the lower-cased string is split on every
/// 't' and only the first two pieces are looked at; the time part must
/// match `^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$`
/// with hour <= 23, minute and second <= 59.
pub fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let t = parts[1];
    let b = t.as_bytes();
    let two = |i: usize| b.len() >= i + 2 && b[i].is_ascii_digit() && b[i + 1].is_ascii_digit();
    if !(two(0) && b.get(2) == Some(&b':') && two(3) && b.get(5) == Some(&b':') && two(6)) {
        return false;
    }
    // (.[0-9]+)? : any one char (not newline) then digits, then the zone.
    let rest = &t[8..];
    let zone_ok = |z: &str| {
        let zb = z.as_bytes();
        z == "z"
            || (zb.len() == 6
                && (zb[0] == b'+' || zb[0] == b'-')
                && zb[1].is_ascii_digit()
                && zb[2].is_ascii_digit()
                && zb[3] == b':'
                && zb[4].is_ascii_digit()
                && zb[5].is_ascii_digit())
    };
    let ok = zone_ok(rest) || {
        let mut chars = rest.chars();
        match chars.next() {
            Some(c) if c != '\n' => {
                let after = chars.as_str();
                let n = after.bytes().take_while(u8::is_ascii_digit).count();
                // The regex may backtrack over digits; the zone never starts
                // with one, so taking all digits is the only split.
                n > 0 && zone_ok(&after[n..])
            }
            _ => false,
        }
    };
    ok && &t[0..2] <= "23" && &t[3..5] <= "59" && &t[6..8] <= "59"
}

/// govalidator `IsBase64`:
/// `^(?:[A-Za-z0-9+\/]{4})*(?:[A-Za-z0-9+\/]{2}==|[A-Za-z0-9+\/]{3}=|[A-Za-z0-9+\/]{4})$`
pub fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let alpha = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let (body, last) = b.split_at(b.len() - 4);
    body.iter().all(|&c| alpha(c))
        && match last {
            [a, b2, b'=', b'='] => alpha(*a) && alpha(*b2),
            [a, b2, c, b'='] => alpha(*a) && alpha(*b2) && alpha(*c),
            l => l.iter().all(|&c| alpha(c)),
        }
}

/// strfmt `UUIDPattern` (and UUID3/4/5): hex groups 8-4-4-4-12, dashes
/// optional, any case; versions pin the third group's first digit (and,
/// for 4 and 5, the fourth group's to [89ab]).
pub fn is_uuid(s: &str, version: Option<char>) -> bool {
    let l = s.to_ascii_lowercase();
    let mut rest = l.as_str();
    let mut groups = Vec::new();
    for (i, n) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        if rest.len() < n || !rest.is_char_boundary(n) {
            return false;
        }
        let (g, r) = rest.split_at(n);
        if !g.bytes().all(|c| c.is_ascii_hexdigit()) {
            return false;
        }
        groups.push(g);
        rest = r;
        if i < 4 {
            rest = rest.strip_prefix('-').unwrap_or(rest);
        }
    }
    if !rest.is_empty() {
        return false;
    }
    match version {
        None => true,
        Some(v) => {
            groups[2].starts_with(v) && (v == '3' || matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'))
        }
    }
}

/// Go `net.ParseIP` of a dotted quad (no leading zeros since Go 1.17).
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            digits(p) && p.len() <= 3 && !(p.len() > 1 && p.starts_with('0')) && p.parse::<u16>().is_ok_and(|n| n < 256)
        })
}

/// govalidator `IsHexcolor`: `^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`
pub fn is_hexcolor(s: &str) -> bool {
    let h = s.strip_prefix('#').unwrap_or(s);
    (h.len() == 3 || h.len() == 6) && h.bytes().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_like_strfmt() {
        for ok in [
            "2024-01-02T03:04:05Z",
            "2024-01-02t03:04:05z",
            "2024-01-02T03:04:05.123456789Z",
            "2024-01-02T03:04:05+02:00",
            "2024-02-29T23:59:59-07:30",
            // quirks of IsDateTime: any char before the fraction digits,
            // and only the first two 't'-separated pieces are looked at
            "2024-01-02T03:04:05,5Z",
            "2024-01-02T03:04:05Zt",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "",
            "abc",
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-01-02 03:04:05Z",
            "2024-13-02T03:04:05Z",
            "2023-02-29T03:04:05Z",
            "2024-01-02T24:00:00Z",
            "2024-01-02T03:60:00Z",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05+0200",
            "24-01-02T03:04:05Z",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert_eq!(check("date-time", ""), Some(false));
        assert_eq!(check("int32", "x"), None);
    }

    #[test]
    fn other_formats() {
        assert!(is_date("2000-02-29") && !is_date("1900-02-29") && !is_date("2000-1-01"));
        assert!(is_base64("aGk=") && is_base64("aGVsbG8h") && is_base64("YQ=="));
        assert!(!is_base64("") && !is_base64("a") && !is_base64("a===") && !is_base64("aGk"));
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000", None));
        assert!(is_uuid("123E4567E89B12D3A456426614174000", None));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-42661417400", None));
        assert!(is_uuid("123e4567-e89b-42d3-a456-426614174000", Some('4')));
        assert!(!is_uuid("123e4567-e89b-42d3-c456-426614174000", Some('4')));
        assert!(is_ipv4("10.0.0.1") && !is_ipv4("10.0.0.01") && !is_ipv4("256.0.0.1"));
        assert!(is_hexcolor("#fff") && !is_hexcolor("#ffff"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".*", f in "(date-time|date|byte|uuid|uuid4|ipv4|hexcolor|x)") {
            let _ = check(&f, &s);
        }
    }
}
