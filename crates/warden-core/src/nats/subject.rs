//! NATS subject syntax and wildcard matching.
//!
//! Subjects are `.`-separated tokens. In a pattern, a token that is exactly
//! `*` matches any one token and a *last* token that is exactly `>` matches
//! one or more remaining tokens. `*` or `>` inside a longer token (`a*`) is an
//! ordinary character, and so is a `>` token that is not the last one (this
//! is how nats-server's `matchLiteral` in `server/sublist.go` behaves).
//!
//! Everything here works on `&str` slices: no allocation on the hot path.

use std::fmt;

/// Token separator.
pub const SEP: char = '.';
/// Single-token wildcard.
pub const PWC: &str = "*";
/// Full (tail) wildcard.
pub const FWC: &str = ">";

/// Publish or subscribe: the two directions of a subject permission, in
/// user JWTs (`nats.pub` / `nats.sub`) and in config-mode `permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Direction {
    Publish,
    Subscribe,
}

impl Direction {
    /// `pub` / `sub`, for table columns.
    pub fn short(self) -> &'static str {
        match self {
            Direction::Publish => "pub",
            Direction::Subscribe => "sub",
        }
    }

    /// `publish` / `subscribe`: the words of the config file's permissions
    /// and of `NatsIdentity` `spec.grants[].direction`.
    pub fn word(self) -> &'static str {
        match self {
            Direction::Publish => "publish",
            Direction::Subscribe => "subscribe",
        }
    }

    /// Reads [`Direction::word`] back (also `pub` / `sub`, any case).
    pub fn parse(s: &str) -> Result<Direction, String> {
        match s.to_ascii_lowercase().as_str() {
            "publish" | "pub" => Ok(Direction::Publish),
            "subscribe" | "sub" => Ok(Direction::Subscribe),
            other => Err(format!("direction {other:?} is neither publish nor subscribe")),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Longest subject warden writes into a permission.
pub const MAX_GRANT_LEN: usize = 4096;

/// Why a subject or pattern is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectError {
    Empty,
    /// A token is empty (`a..b`, `.a`, `a.`); carries the token index.
    EmptyToken(usize),
    /// Whitespace (space, tab, CR, LF, FF) inside the subject.
    Whitespace,
    /// `>` used as a token that is not the last one.
    FullWildcardNotLast,
    /// A wildcard token in a subject that must be literal (publish subject).
    WildcardInLiteral,
    /// A control character (never written into a permission).
    Control,
    /// `*` or `>` inside a longer token (`a*`): the server takes it as a
    /// literal character, which a permission almost never means.
    PartialWildcard(usize),
    /// Longer than [`MAX_GRANT_LEN`].
    TooLong,
}

impl fmt::Display for SubjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectError::Empty => write!(f, "empty subject"),
            SubjectError::EmptyToken(i) => write!(f, "empty token at position {i}"),
            SubjectError::Whitespace => write!(f, "subject contains whitespace"),
            SubjectError::FullWildcardNotLast => write!(f, "'>' must be the last token"),
            SubjectError::WildcardInLiteral => write!(f, "wildcard in a literal subject"),
            SubjectError::Control => write!(f, "subject contains a control character"),
            SubjectError::PartialWildcard(i) => {
                write!(f, "token {i} mixes a wildcard with other characters ('*' and '>' must be whole tokens)")
            }
            SubjectError::TooLong => write!(f, "subject longer than {MAX_GRANT_LEN} bytes"),
        }
    }
}

impl std::error::Error for SubjectError {}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Validates a subscription pattern (wildcards allowed), with the rules of
/// nats-server's `IsValidSubject`.
pub fn validate_pattern(pattern: &str) -> Result<(), SubjectError> {
    if pattern.is_empty() {
        return Err(SubjectError::Empty);
    }
    if pattern.bytes().any(is_ws) {
        return Err(SubjectError::Whitespace);
    }
    let mut seen_fwc = false;
    for (i, t) in pattern.split(SEP).enumerate() {
        if t.is_empty() {
            return Err(SubjectError::EmptyToken(i));
        }
        if seen_fwc {
            return Err(SubjectError::FullWildcardNotLast);
        }
        if t == FWC {
            seen_fwc = true;
        }
    }
    Ok(())
}

/// Validates a literal subject (what a client may publish to).
pub fn validate_subject(subject: &str) -> Result<(), SubjectError> {
    validate_pattern(subject)?;
    if has_wildcard(subject) {
        return Err(SubjectError::WildcardInLiteral);
    }
    Ok(())
}

/// Validates a subject pattern that warden writes into a permission (both
/// modes, every dialog and subcommand): the server's rules
/// ([`validate_pattern`]) plus no control characters, wildcards only as
/// whole tokens, and at most [`MAX_GRANT_LEN`] bytes, because the subject is
/// written into a JWT or a config file and shown on operators' terminals.
pub fn validate_grant(pattern: &str) -> Result<(), SubjectError> {
    if pattern.len() > MAX_GRANT_LEN {
        return Err(SubjectError::TooLong);
    }
    if pattern.chars().any(char::is_whitespace) {
        return Err(SubjectError::Whitespace);
    }
    if pattern.chars().any(char::is_control) {
        return Err(SubjectError::Control);
    }
    validate_pattern(pattern)?;
    match pattern.split(SEP).position(|t| t != PWC && t != FWC && (t.contains('*') || t.contains('>'))) {
        Some(i) => Err(SubjectError::PartialWildcard(i)),
        None => Ok(()),
    }
}

/// `true` if `pattern` is a valid subscription pattern.
pub fn is_valid_pattern(pattern: &str) -> bool {
    validate_pattern(pattern).is_ok()
}

/// `true` if `subject` is a valid literal subject.
pub fn is_valid_subject(subject: &str) -> bool {
    validate_subject(subject).is_ok()
}

/// `true` if some token is exactly `*` or `>`.
pub fn has_wildcard(s: &str) -> bool {
    s.split(SEP).any(|t| t == PWC || t == FWC)
}

/// Does `pattern` match the literal `subject`? Same semantics as
/// nats-server's `matchLiteral(subject, pattern)`: no validity check, `*`
/// matches exactly one token, a trailing `>` matches one or more tokens.
pub fn matches(pattern: &str, subject: &str) -> bool {
    let mut pt = pattern.split(SEP).peekable();
    let mut st = subject.split(SEP);
    while let Some(p) = pt.next() {
        let last = pt.peek().is_none();
        let Some(s) = st.next() else {
            return false;
        };
        if p == FWC && last {
            // At least one token (`s`) is left: match.
            return true;
        }
        if p == PWC {
            continue;
        }
        if p != s {
            return false;
        }
    }
    st.next().is_none()
}

/// Does pattern `a` cover pattern `b`, i.e. is every subject matched by `b`
/// also matched by `a`? (nats-server's `subjectIsSubsetMatch(b, a)`.)
/// Both are expected to be valid patterns; for invalid input the answer is
/// `false` unless they are equal.
pub fn pattern_covers(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if !is_valid_pattern(a) || !is_valid_pattern(b) {
        return false;
    }
    let mut at = a.split(SEP);
    let mut bt = b.split(SEP);
    loop {
        match (at.next(), bt.next()) {
            (None, None) => return true,
            (Some(_), None) | (None, Some(_)) => return false,
            (Some(x), Some(y)) => {
                if x == FWC {
                    // Valid `>` is last in `a`; `b` has at least this token.
                    return true;
                }
                if y == FWC {
                    // `b` matches arbitrarily many tokens here, `a` does not.
                    return false;
                }
                if x == PWC {
                    continue;
                }
                if y == PWC || x != y {
                    return false;
                }
            }
        }
    }
}

/// What a subject may reach without being over-broad: an identity's own
/// subjects (its `[naming]` subject scope in one direction), the grants it
/// declared, and where the tenant subjects begin. Built by
/// `identity::naming::Naming::reach`; [`Reach::unknown`] when no identity
/// is known (only the tenant tree's first token is assumed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// The identity's own patterns in this direction (its scope).
    pub own: Vec<String>,
    /// Grants it declared (and was given), in this direction.
    pub declared: Vec<String>,
    /// Literal leading tokens of every tenant subject (`tentacular`).
    pub root: Vec<String>,
    /// Tokens of the tenant prefix (`tentacular.{namespace}.{workload}`: 3):
    /// a wildcard above it reaches more than one tentacle.
    pub depth: usize,
}

impl Reach {
    /// No identity known: any wildcard in the first token, and `$` subjects.
    pub fn unknown() -> Reach {
        Reach { depth: 1, ..Default::default() }
    }

    fn covers(&self, pattern: &str) -> bool {
        self.own.iter().chain(&self.declared).any(|a| pattern_covers(a, pattern))
    }

    /// Inside the identity's own scope (not its declared grants).
    pub fn is_own(&self, pattern: &str) -> bool {
        self.own.iter().any(|a| pattern_covers(a, pattern))
    }
}

/// Why a pattern is over-broad, or `None`. A pattern covered by the
/// identity's own scope or declared grants never is; otherwise it is when it
/// reaches system subjects (`$SYS`, `$JS`, `$KV`, any `$` prefix), or has a
/// `*` / `>` token above the tenant prefix (`tentacular.>`,
/// `tentacular.*.>`, `tentacular.payments.*`, `>`), or a wildcard outside the
/// tenant tree (`foo.>`). A literal subject or a wildcard inside one other
/// tentacle's scope (`tentacular.shop.cart.>`) is a cross-tentacle grant,
/// not over-broad.
pub fn over_broad_reason(pattern: &str, reach: &Reach) -> Option<&'static str> {
    if reach.covers(pattern) {
        return None;
    }
    let tokens: Vec<&str> = pattern.split(SEP).collect();
    if tokens.first().is_some_and(|t| t.starts_with('$')) {
        return Some("reaches system subjects ($SYS, $JS, $KV) the identity does not need");
    }
    let wild = tokens.iter().position(|t| *t == PWC || *t == FWC)?;
    if wild < reach.depth {
        return Some("has a wildcard above the tenant prefix (reaches more than one tentacle)");
    }
    let outside = reach.root.iter().enumerate().any(|(i, r)| tokens.get(i) != Some(&r.as_str()));
    if outside {
        return Some("has a wildcard outside the tenant subjects");
    }
    None
}

/// `true` when `pattern` reaches beyond what `reach` allows (see
/// [`over_broad_reason`]). Grant validation and the dialogs use it.
pub fn is_over_broad(pattern: &str, reach: &Reach) -> bool {
    over_broad_reason(pattern, reach).is_some()
}

/// Number of tokens (an empty string has one empty token, like nats-server).
pub fn token_count(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'.').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grant_validation_is_stricter_than_the_server() {
        for ok in ["a", "a.b", "a.*.c", "a.>", ">", "*", "$SYS.REQ.>", "tentacular.ns.wf.>", "_INBOX.>"] {
            assert_eq!(validate_grant(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "a.>.b", "a b", "a.b*", "a>"] {
            assert!(validate_grant(bad).is_err(), "{bad}");
        }
        assert_eq!(validate_grant(""), Err(SubjectError::Empty));
        assert_eq!(validate_grant("a..b"), Err(SubjectError::EmptyToken(1)));
        assert_eq!(validate_grant("a.>.b"), Err(SubjectError::FullWildcardNotLast));
        assert_eq!(validate_grant("a b"), Err(SubjectError::Whitespace));
        assert_eq!(validate_grant("a.\u{a0}b"), Err(SubjectError::Whitespace));
        assert_eq!(validate_grant("a.\u{1b}[2J"), Err(SubjectError::Control));
        assert_eq!(validate_grant("a.b*"), Err(SubjectError::PartialWildcard(1)));
        assert_eq!(validate_grant("a>.b"), Err(SubjectError::PartialWildcard(0)));
        assert_eq!(validate_grant(&"a".repeat(MAX_GRANT_LEN + 1)), Err(SubjectError::TooLong));
        // The server itself takes `a*` as a literal token.
        assert!(is_valid_pattern("a.b*"));
    }

    #[test]
    fn direction_words_round_trip() {
        for d in [Direction::Publish, Direction::Subscribe] {
            assert_eq!(Direction::parse(d.word()), Ok(d));
            assert_eq!(Direction::parse(d.short()), Ok(d));
        }
        assert!(Direction::parse("both").is_err());
    }

    #[test]
    fn validation() {
        for ok in ["a", "a.b", "a.*", "a.>", ">", "*", "*.*.>", "_INBOX.>", "a*.b>", "a.>b"] {
            assert!(is_valid_pattern(ok), "{ok}");
        }
        assert_eq!(validate_pattern(""), Err(SubjectError::Empty));
        assert_eq!(validate_pattern("a..b"), Err(SubjectError::EmptyToken(1)));
        assert_eq!(validate_pattern(".a"), Err(SubjectError::EmptyToken(0)));
        assert_eq!(validate_pattern("a."), Err(SubjectError::EmptyToken(1)));
        assert_eq!(validate_pattern("a b"), Err(SubjectError::Whitespace));
        assert_eq!(validate_pattern("a.\t"), Err(SubjectError::Whitespace));
        assert_eq!(validate_pattern("a.>.b"), Err(SubjectError::FullWildcardNotLast));
        assert!(is_valid_subject("a.b.c"));
        assert!(is_valid_subject("a*.b>"));
        assert_eq!(validate_subject("a.*"), Err(SubjectError::WildcardInLiteral));
        assert_eq!(validate_subject(">"), Err(SubjectError::WildcardInLiteral));
    }

    #[test]
    fn matching_like_nats_server() {
        let yes = [
            ("foo", "foo"),
            ("foo.*", "foo.bar"),
            ("*.bar", "foo.bar"),
            ("foo.>", "foo.bar"),
            ("foo.>", "foo.bar.baz"),
            (">", "foo"),
            (">", "foo.bar"),
            ("*", "foo"),
            ("*.*", "a.b"),
            ("a*.b", "a*.b"),
            ("a.>.c", "a.>.c"),
            ("", ""),
            // matchLiteral does not validate: `*` matches an empty token.
            ("a.*", "a."),
        ];
        for (p, s) in yes {
            assert!(matches(p, s), "{p} should match {s}");
        }
        let no = [
            ("foo", "bar"),
            ("foo.*", "foo"),
            ("foo.*", "foo.bar.baz"),
            ("foo.>", "foo"),
            ("*", "foo.bar"),
            ("a*.b", "ax.b"),
            ("a.>.c", "a.b.c"),
            ("foo.bar", "foo"),
            ("foo", "foo.bar"),
            ("tentacular.ns.wf.>", "tentacular.ns.other.x"),
        ];
        for (p, s) in no {
            assert!(!matches(p, s), "{p} should not match {s}");
        }
    }

    #[test]
    fn covers() {
        assert!(pattern_covers(">", "a.b"));
        assert!(pattern_covers(">", "*.>"));
        assert!(pattern_covers("a.>", "a.b.>"));
        assert!(pattern_covers("a.>", "a.*"));
        assert!(pattern_covers("a.*", "a.b"));
        assert!(pattern_covers("*.*", "a.*"));
        assert!(!pattern_covers("a.*", "a.>"));
        assert!(!pattern_covers("*.>", ">"));
        assert!(!pattern_covers("a.b", "a.*"));
        assert!(!pattern_covers("a.*.>", "a.>"));
        assert!(!pattern_covers("a.b", "a.b.c"));
        assert!(!pattern_covers("a..b", "a.b"));
    }

    #[test]
    fn over_broad() {
        let u = Reach::unknown();
        for p in [">", "*.>", "*", "*.a", ">.a", "$SYS.>", "$JS.API.>", "$KV.b.k"] {
            assert!(is_over_broad(p, &u), "{p}");
        }
        for p in ["a.>", "tentacular.ns.wf.>", "a*.b", "", "a.b"] {
            assert!(!is_over_broad(p, &u), "{p}");
        }
        // shop/orders under `tentacular.{namespace}.{workload}.>`.
        let r = Reach {
            own: vec!["tentacular.shop.orders.>".into(), "_INBOX.>".into()],
            declared: vec!["tentacular.shop.cart.events".into()],
            root: vec!["tentacular".into()],
            depth: 3,
        };
        for p in ["tentacular.>", "tentacular.*.>", "tentacular.payments.*", "$SYS.>", ">", "*.>", "foo.>", "$KV.x"] {
            assert!(is_over_broad(p, &r), "{p}");
        }
        for p in [
            "tentacular.shop.orders.>",
            "tentacular.shop.orders.x.*",
            "_INBOX.>",
            "tentacular.shop.cart.>",
            "tentacular.shop.payments.inbox",
            "tentacular.shop.cart.events",
            "foo.bar",
        ] {
            assert!(!is_over_broad(p, &r), "{p}");
        }
        assert!(r.is_own("tentacular.shop.orders.a") && !r.is_own("tentacular.shop.cart.events"));
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-c]{1,2}",
            1 => Just("*".to_string()),
            1 => Just(">".to_string()),
        ]
    }

    fn literal() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-c]{1,2}", 1..5).prop_map(|v| v.join("."))
    }

    fn pattern() -> impl Strategy<Value = String> {
        prop::collection::vec(token(), 1..5).prop_map(|mut v| {
            // `>` only as the last token, as in a valid pattern.
            let n = v.len();
            for t in v.iter_mut().take(n - 1) {
                if t == ">" {
                    *t = "*".to_string();
                }
            }
            v.join(".")
        })
    }

    /// Allocating reference model: token lists.
    fn model(p: &str, s: &str) -> bool {
        let p: Vec<&str> = p.split('.').collect();
        let s: Vec<&str> = s.split('.').collect();
        for (i, pt) in p.iter().enumerate() {
            if *pt == ">" && i == p.len() - 1 {
                return s.len() > i;
            }
            match s.get(i) {
                None => return false,
                Some(st) if *pt != "*" && pt != st => return false,
                _ => {}
            }
        }
        p.len() == s.len()
    }

    proptest! {
        #[test]
        fn literal_matches_itself(s in literal()) {
            prop_assert!(matches(&s, &s));
            prop_assert!(is_valid_subject(&s));
        }

        #[test]
        fn fwc_matches_every_nonempty_subject(s in literal()) {
            prop_assert!(matches(">", &s));
        }

        #[test]
        fn matches_agrees_with_model(p in pattern(), s in literal()) {
            prop_assert_eq!(matches(&p, &s), model(&p, &s));
        }

        #[test]
        fn covers_consistent_with_matches(a in pattern(), b in pattern(), s in literal()) {
            if pattern_covers(&a, &b) && matches(&b, &s) {
                prop_assert!(matches(&a, &s), "{a} covers {b}, {b} matches {s}, {a} does not");
            }
        }

        #[test]
        fn covers_is_reflexive(a in pattern()) {
            prop_assert!(pattern_covers(&a, &a));
            prop_assert!(pattern_covers(">", &a));
        }

        #[test]
        fn covers_complete_on_literals(a in pattern(), s in literal()) {
            // A literal pattern matches only itself, so covering it == matching it.
            prop_assert_eq!(pattern_covers(&a, &s), matches(&a, &s));
        }

        #[test]
        fn no_panic_on_garbage(a in ".{0,20}", b in ".{0,20}") {
            let _ = matches(&a, &b);
            let _ = pattern_covers(&a, &b);
            let _ = validate_pattern(&a);
            let _ = validate_subject(&b);
            let _ = is_over_broad(&a, &Reach::unknown());
        }
    }
}
