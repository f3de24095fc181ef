//! The violation lines that are not a client's own publish/subscribe check:
//!
//! * leafnode violations, written by the hub for a leafnode connection's
//!   interest or message it may not pass (`leafPermViolation`,
//!   server/leafnode.go, same text in v2.9.10 .. v2.15):
//!   `<addr> - lid:<n> - Subscription Violation on "<s>" - Check other side configuration`
//!   (and `Publish Violation on ...`, `leafPubPermViolation` since 2.12);
//! * subscriptions removed by a config reload (`processSubsOnConfigReload`,
//!   server/client.go; a server notice, no connection label):
//!   `Removed sub "<s>" (sid "<n>") for <getAuthUser> - not authorized`, and
//!   since v2.12.14 / v2.14.4 for queue subscriptions
//!   `Removed sub "<s>" using queue "<q>" (sid "<n>") for <getAuthUser> - not authorized`.
//!   warden's own SPIFFE-mode revoke and ungrant (a reload of the
//!   authorization ConfigMap) cause these.
//!
//! Real lines of each version: `tests/fixtures/violations/nats-server-*.log`.
//! Nothing here panics; anything else yields `None`.

use super::go_text::{LogUser, parse_auth_user, unquote_go};

/// `Subscription Violation on "s" - Check other side configuration` (the
/// text after the connection label) -> (publish?, subject).
pub fn parse_leaf(s: &str) -> Option<(bool, String)> {
    let (kind, rest) = if let Some(r) = s.strip_prefix("Publish Violation on ") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("Subscription Violation on ") {
        (false, r)
    } else {
        return None;
    };
    let (subject, rest) = unquote_go(rest)?;
    (rest.trim_end() == " - Check other side configuration").then_some((kind, subject))
}

/// A parsed reload removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub subject: String,
    pub queue: Option<String>,
    pub sid: String,
    pub user: LogUser,
}

/// `Removed sub "s" [using queue "q"] (sid "n") for User "u" - not authorized`.
pub fn parse_removed(s: &str) -> Option<Removed> {
    let rest = s.strip_prefix("Removed sub ")?;
    let (subject, mut rest) = unquote_go(rest)?;
    let mut queue = None;
    if let Some(r) = rest.strip_prefix(" using queue ") {
        let (q, r) = unquote_go(r)?;
        queue = Some(q);
        rest = r;
    }
    let (sid, rest) = unquote_go(rest.strip_prefix(" (sid ")?)?;
    let rest = rest.strip_prefix(") for ")?;
    let (user, rest) = parse_auth_user(rest)?;
    (rest.trim_end() == " - not authorized").then_some(Removed { subject, queue, sid, user })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_and_removed_forms() {
        assert_eq!(
            parse_leaf(r#"Publish Violation on "a.b" - Check other side configuration"#),
            Some((true, "a.b".into()))
        );
        assert_eq!(parse_leaf(r#"Subscription Violation on "a.b" - nope"#), None);
        let r =
            parse_removed(r#"Removed sub "gone.q" using queue "workers" (sid "5") for User "tent" - not authorized"#)
                .unwrap();
        assert_eq!((r.subject.as_str(), r.queue.as_deref(), r.sid.as_str()), ("gone.q", Some("workers"), "5"));
        assert_eq!(r.user, LogUser::User("tent".into()));
        let r = parse_removed(r#"Removed sub "x" (sid "1") for Token "raw" - not authorized"#).unwrap();
        assert_eq!(r.user, LogUser::Token);
        assert!(!format!("{r:?}").contains("raw"));
        assert_eq!(parse_removed(r#"Removed sub "x" (sid "1") for User "u""#), None);
        assert_eq!(parse_removed(r#"Removed sub "x" (sid "1) for User "u" - not authorized"#), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,120}") {
            let _ = parse_leaf(&s);
            let _ = parse_removed(&s);
            let _ = parse_removed(&format!("Removed sub {s}"));
        }
    }
}
