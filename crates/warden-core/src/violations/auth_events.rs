//! Failed-authentication events with what their diagnosis needs: the
//! system-wide `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` and the account-scoped
//! `$SYS.ACCOUNT.CLIENT.AUTH.ERR` (nats-server `server/events.go`
//! `authErrorAccountEventSubj`, sent by `sendAccountAuthErrorEvent` into
//! the account concerned: the auth-callout account for callout rejections,
//! so the system account sees only its own).

use super::auth_diagnosis::{self, AuthFacts, AuthFailure};
use super::events::{self, EventSubject, Violation, ViolationKind};

/// Account-scoped auth errors (auth callout reasons).
pub const ACCOUNT_AUTH_ERR: &str = "$SYS.ACCOUNT.CLIENT.AUTH.ERR";

/// A parsed auth failure waiting for its diagnosis.
#[derive(Debug, Clone)]
pub struct PendingAuth {
    pub violation: Violation,
    /// The presented user JWT (public; empty if none).
    pub jwt: String,
    pub callout: bool,
    /// Event time (unix seconds), when the event gave one.
    pub at: Option<i64>,
}

/// Whether `subject` is one of the auth-error subjects.
pub fn is_auth_err(subject: &str) -> bool {
    subject == ACCOUNT_AUTH_ERR || matches!(EventSubject::parse(subject), Some(EventSubject::AuthErr { .. }))
}

/// Parses an auth-error event (`None` for other subjects or garbage).
pub fn parse(subject: &str, payload: &[u8]) -> Option<PendingAuth> {
    let callout = subject == ACCOUNT_AUTH_ERR;
    if !callout && !matches!(EventSubject::parse(subject), Some(EventSubject::AuthErr { .. })) {
        return None;
    }
    let msg = events::parse_disconnect(payload).ok()?;
    let jwt = msg.client.jwt.clone().unwrap_or_default();
    let at = chrono::DateTime::parse_from_rfc3339(&msg.timestamp).ok().map(|t| t.timestamp());
    let reason = msg.reason.clone();
    let mut v = if callout {
        let id = if msg.server.id.is_empty() || msg.server.id.contains('.') {
            "-".to_string()
        } else {
            msg.server.id.clone()
        };
        Violation::from_event(&format!("$SYS.SERVER.{id}.CLIENT.AUTH.ERR"), msg)?
    } else {
        Violation::from_event(subject, msg)?
    };
    if callout {
        // The callout's reason is free text, not a close state.
        v.kind = ViolationKind::AuthFailed;
        v.reason = (!reason.is_empty()).then_some(reason);
    }
    Some(PendingAuth { violation: v, jwt, callout, at })
}

impl PendingAuth {
    /// The account whose facts the diagnosis needs.
    pub fn account_needed(&self) -> Option<String> {
        if self.callout { None } else { auth_diagnosis::account_needed(&self.jwt) }
    }

    /// The violation with its cause; `now` when the event had no time.
    pub fn diagnose(self, facts: &AuthFacts, now: i64) -> Violation {
        let mut v = self.violation;
        let reason = v.reason.clone().unwrap_or_default();
        let f = AuthFailure { jwt: &self.jwt, reason: &reason, callout: self.callout };
        v.cause = auth_diagnosis::diagnose(f, facts, self.at.unwrap_or(now));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_callouts() {
        assert!(is_auth_err("$SYS.SERVER.NX.CLIENT.AUTH.ERR"));
        assert!(is_auth_err(ACCOUNT_AUTH_ERR));
        assert!(!is_auth_err("$SYS.ACCOUNT.A.DISCONNECT"));
        let body = br#"{"timestamp":"2026-01-01T00:00:00Z","server":{"id":"NS1","name":"n1"},"client":{"id":7,"acc":"AUTH","user":"bob"},"reason":"bad password for bob"}"#;
        let p = parse(ACCOUNT_AUTH_ERR, body).unwrap();
        assert!(p.callout);
        assert_eq!(p.at, Some(1_767_225_600));
        let v = p.diagnose(&AuthFacts::default(), 0);
        assert_eq!(v.kind, ViolationKind::AuthFailed);
        assert_eq!(v.server_id.as_deref(), Some("NS1"));
        assert_eq!(v.cause.unwrap().text(), "auth callout: the auth callout refused it: bad password for bob");
        assert!(parse("$SYS.ACCOUNT.A.DISCONNECT", body).is_none());
        assert!(parse(ACCOUNT_AUTH_ERR, b"nope").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Some(p) = parse(ACCOUNT_AUTH_ERR, &body) { let _ = p.diagnose(&AuthFacts::default(), 0); }
            if let Some(p) = parse("$SYS.SERVER.X.CLIENT.AUTH.ERR", &body) { let _ = p.diagnose(&AuthFacts::default(), 0); }
        }
    }
}
