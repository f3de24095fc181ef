//! Subjects and patterns from users and the wire (`nats::subject`, the
//! `[naming]` user and SPIFFE ID forms of `identity::naming`): matching as
//! nats-server matches, coverage consistent with matching, the grant
//! validator, over-broad reasons, names read back as they are written.
//! Input: lines `a`, `b`, `s` (two patterns and a subject).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::config::file::DEFAULT_TRUST_DOMAIN;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::nats::subject::{self, Direction, Reach};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let (a, b, s) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let _ =
        (subject::validate_pattern(a), subject::validate_grant(a), subject::token_count(a), subject::has_wildcard(a));
    if subject::is_valid_subject(s) {
        assert!(subject::matches(s, s), "{s:?}");
        // Coverage is consistent with matching: whatever `b` matches, a pattern covering it matches.
        if subject::pattern_covers(a, b) && subject::matches(b, s) {
            assert!(subject::matches(a, s), "{a:?} covers {b:?} which matches {s:?}");
        }
    }
    if subject::is_valid_pattern(a) {
        assert!(subject::pattern_covers(a, a));
        assert!(subject::pattern_covers(">", a), "{a:?}");
    }
    let _ = subject::over_broad_reason(a, &Reach::unknown());
    if let Ok(d) = Direction::parse(a) {
        assert_eq!(Direction::parse(d.word()), Ok(d));
        assert_eq!(Direction::parse(d.short()), Ok(d));
    }
    let naming = Naming::with_defaults(DEFAULT_TRUST_DOMAIN).expect("default naming");
    if let Some(n) = naming.parse_nats_user(a) {
        assert_eq!(naming.nats_user(&n), a);
    }
    if let Some(n) = naming.parse_spiffe_id(a) {
        assert_eq!(naming.spiffe_id(&n), a);
    }
    if let Ok(n) = IdentityName::parse(b) {
        assert_eq!(n.to_string(), b);
        for dir in [Direction::Publish, Direction::Subscribe] {
            let reach = naming.reach(&n, dir, &[a.to_string()]);
            let _ = (reach.is_own(s), subject::over_broad_reason(s, &reach));
        }
        let _ = (naming.scope(&n), naming.subject_scope(&n));
    }
});
