//! Why an authentication failed.
//!
//! nats-server reports every failed connect as `Authentication Failure`
//! (`server/client.go` `authViolation` -> `server/events.go`
//! `sendAuthErrorEvent`, reason from `server/auth.go`
//! `getAuthErrClosedState`), but the event carries the JWT the client
//! presented (`client.jwt`). Decoded here *without trusting it* and checked
//! against what warden knows of the accounts, in the order nats-server
//! checks (`server/auth.go` `processClientOrLeafAuthentication`): the
//! user JWT's times (`juc.Validate`), the account lookup, the account's
//! operator (`isTrustedIssuer`), the issuer among the account's keys
//! (`hasIssuer`), the account's expiry, bearer tokens
//! (`failBearer`), the nonce signature, the revocation (`checkUserRevoked`,
//! a time: `server/accounts.go` `isRevoked`).
//!
//! Auth-callout rejections arrive as `$SYS.ACCOUNT.CLIENT.AUTH.ERR` with
//! the callout's own reason (`server/auth.go` -> `sendAccountAuthErrorEvent`
//! with the `errStr` of `server/auth_callout.go`
//! `processClientOrLeafCallout`): that reason is the cause.
//!
//! Pure: the facts are passed in (see [`AuthFacts`]); the feed gathers them
//! off the UI loop.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::nats::jwt::{self, AccountClaims, JwtError, UserClaims};

/// What is known of one account (from its JWT, as the resolver serves it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFact {
    pub key: String,
    pub name: String,
    /// The operator key (or operator signing key) that signed it.
    pub issuer: String,
    pub signing_keys: Vec<String>,
    /// User key or `*` -> unix seconds.
    pub revocations: BTreeMap<String, i64>,
    /// `exp` (0: never).
    pub expires: i64,
    pub disallow_bearer: bool,
}

impl AccountFact {
    pub fn from_claims(c: &AccountClaims) -> AccountFact {
        AccountFact {
            key: c.std.subject.clone(),
            name: c.std.name.clone(),
            issuer: c.std.issuer.clone(),
            signing_keys: c.nats.signing_key_ids().map(str::to_string).collect(),
            revocations: c.nats.revocations.clone(),
            expires: c.std.expires,
            disallow_bearer: c.nats.limits.disallow_bearer,
        }
    }

    fn label(&self) -> String {
        if self.name.is_empty() { self.key.clone() } else { format!("{} ({})", self.name, self.key) }
    }
}

/// A small snapshot of account facts for [`diagnose`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthFacts {
    /// By account public key.
    pub accounts: BTreeMap<String, AccountFact>,
    /// Account keys the resolver was asked for and does not have.
    pub unknown: BTreeSet<String>,
    /// Trusted operator keys (the operators' subjects and signing keys);
    /// empty when not known.
    pub operator_keys: BTreeSet<String>,
}

/// The cause, as a category (stable, for filtering and JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    Expired,
    NotYetValid,
    Revoked,
    UnknownSigner,
    IssuerAccount,
    AccountUnknown,
    AccountExpired,
    WrongOperator,
    BearerRefused,
    NonceMismatch,
    Callout,
    BadJwt,
    Unexplained,
}

impl CauseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::Expired => "expired",
            CauseKind::NotYetValid => "not yet valid",
            CauseKind::Revoked => "revoked",
            CauseKind::UnknownSigner => "unknown signer",
            CauseKind::IssuerAccount => "issuer account",
            CauseKind::AccountUnknown => "account unknown",
            CauseKind::AccountExpired => "account expired",
            CauseKind::WrongOperator => "wrong operator",
            CauseKind::BearerRefused => "bearer refused",
            CauseKind::NonceMismatch => "nonce mismatch",
            CauseKind::Callout => "auth callout",
            CauseKind::BadJwt => "bad JWT",
            CauseKind::Unexplained => "unexplained",
        }
    }
}

/// The diagnosis of one failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthCause {
    pub kind: CauseKind,
    /// In words, public facts only (keys, names, times).
    pub detail: String,
}

impl AuthCause {
    fn new(kind: CauseKind, detail: impl Into<String>) -> AuthCause {
        let mut detail: String = detail.into();
        if detail.len() > MAX_DETAIL {
            let mut cut = MAX_DETAIL;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
            detail.push('…');
        }
        AuthCause { kind, detail }
    }

    /// `revoked: revoked at ... (JWT issued at ...)`.
    pub fn text(&self) -> String {
        format!("{}: {}", self.kind.as_str(), self.detail)
    }
}

const MAX_DETAIL: usize = 400;

/// What the failure event says.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthFailure<'a> {
    /// `client.jwt`: the user JWT the client presented (may be empty).
    pub jwt: &'a str,
    /// The event's `reason`.
    pub reason: &'a str,
    /// From `$SYS.ACCOUNT.CLIENT.AUTH.ERR` (auth callout, account scoped).
    pub callout: bool,
}

/// The account a user JWT belongs to: `issuer_account`, else its issuer.
pub fn account_of(u: &UserClaims) -> &str {
    if u.nats.issuer_account.is_empty() { &u.std.issuer } else { &u.nats.issuer_account }
}

/// The account key a diagnosis of `jwt` needs facts about (decoded
/// without trust; `None` for no or garbage JWT).
pub fn account_needed(presented: &str) -> Option<String> {
    if presented.is_empty() {
        return None;
    }
    jwt::decode_as::<jwt::User>(presented).ok().map(|u| account_of(&u).to_string())
}

fn at(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

fn ago(secs: i64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs.unsigned_abs())).to_string()
}

/// Names the cause of one failed authentication at `now` (unix seconds, the
/// event's time). `None` when there is nothing to work with (no JWT and no
/// callout reason: a password, token or nkey refused in config mode).
pub fn diagnose(f: AuthFailure<'_>, facts: &AuthFacts, now: i64) -> Option<AuthCause> {
    if f.callout {
        let reason = if f.reason.is_empty() { "no reason given" } else { f.reason };
        return Some(AuthCause::new(CauseKind::Callout, format!("the auth callout refused it: {reason}")));
    }
    if f.jwt.is_empty() {
        return None;
    }
    let u = match jwt::decode_as::<jwt::User>(f.jwt) {
        Ok(u) => u,
        Err(JwtError::BadSignature { issuer }) => {
            return Some(AuthCause::new(
                CauseKind::BadJwt,
                format!("the JWT's signature does not verify with its issuer {issuer} (altered JWT)"),
            ));
        }
        Err(e) => return Some(AuthCause::new(CauseKind::BadJwt, format!("the presented JWT does not decode: {e}"))),
    };
    let std = &u.std;
    // `juc.Validate` (jwt v2 `claims.go` `ClaimsData.Validate`): expired when
    // now > exp, not yet valid when now < nbf.
    if std.expires > 0 && now > std.expires {
        return Some(AuthCause::new(
            CauseKind::Expired,
            format!("JWT expired at {} ({} ago)", at(std.expires), ago(now.saturating_sub(std.expires))),
        ));
    }
    if std.not_before > 0 && now < std.not_before {
        return Some(AuthCause::new(
            CauseKind::NotYetValid,
            format!("JWT not valid before {} (in {})", at(std.not_before), ago(std.not_before.saturating_sub(now))),
        ));
    }
    let acc_key = account_of(&u);
    let Some(acc) = facts.accounts.get(acc_key) else {
        // Signed by a signing key without `issuer_account`: the server looks
        // up the signing key as if it were an account.
        if u.nats.issuer_account.is_empty()
            && let Some(owner) = facts.accounts.values().find(|a| a.signing_keys.contains(&std.issuer))
        {
            return Some(AuthCause::new(
                CauseKind::IssuerAccount,
                format!(
                    "signed by signing key {} of account {} but issuer_account is not set",
                    std.issuer,
                    owner.label()
                ),
            ));
        }
        let why = if facts.unknown.contains(acc_key) {
            "unknown to the resolver"
        } else {
            "not known to warden (the resolver did not answer)"
        };
        return Some(AuthCause::new(CauseKind::AccountUnknown, format!("account {acc_key} is {why}")));
    };
    if !facts.operator_keys.is_empty() && !facts.operator_keys.contains(&acc.issuer) {
        return Some(AuthCause::new(
            CauseKind::WrongOperator,
            format!("account {} is signed by {}, not by a trusted operator key", acc.label(), acc.issuer),
        ));
    }
    if std.issuer != acc.key && !acc.signing_keys.contains(&std.issuer) {
        return Some(AuthCause::new(
            CauseKind::UnknownSigner,
            format!(
                "issued by {}, which is neither account {} nor one of its {} signing key(s)",
                std.issuer,
                acc.label(),
                acc.signing_keys.len()
            ),
        ));
    }
    if acc.expires > 0 && acc.expires <= now {
        return Some(AuthCause::new(
            CauseKind::AccountExpired,
            format!(
                "account {} expired at {} ({} ago)",
                acc.label(),
                at(acc.expires),
                ago(now.saturating_sub(acc.expires))
            ),
        ));
    }
    if u.nats.bearer_token && acc.disallow_bearer {
        return Some(AuthCause::new(
            CauseKind::BearerRefused,
            format!("bearer token, but account {} disallows bearer tokens", acc.label()),
        ));
    }
    if let Some(t) = jwt::claims::revocation_time(&acc.revocations, &std.subject).filter(|t| *t >= std.issued_at) {
        let which = if acc.revocations.get("*") == Some(&t) { "every user (*)" } else { "this user" };
        return Some(AuthCause::new(
            CauseKind::Revoked,
            format!(
                "revoked at {} (JWT issued at {}) for {which} in account {}",
                at(t),
                at(std.issued_at),
                acc.label()
            ),
        ));
    }
    if !u.nats.bearer_token {
        return Some(AuthCause::new(
            CauseKind::NonceMismatch,
            format!(
                "the JWT is valid for account {}, so the client's signature of the server nonce failed: its seed is not user {}'s (wrong creds file?)",
                acc.label(),
                std.subject
            ),
        ));
    }
    Some(AuthCause::new(
        CauseKind::Unexplained,
        "the bearer JWT is valid for its account as far as warden knows (connection type, source address or connect times?)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::jwt::{AccountSigningKey, KeyKind, SigningKey};

    struct World {
        op: SigningKey,
        acc: SigningKey,
        signer: SigningKey,
        claims: AccountClaims,
    }

    fn world() -> World {
        let op = SigningKey::generate(KeyKind::Operator);
        let acc = SigningKey::generate(KeyKind::Account);
        let signer = SigningKey::generate(KeyKind::Account);
        let mut claims = AccountClaims::new_account(acc.public_key(), "APP");
        claims.nats.signing_keys.push(AccountSigningKey::Key(signer.public_key().to_string()));
        jwt::encode_at(&mut claims, &op, 1000).unwrap();
        World { op, acc, signer, claims }
    }

    fn facts(w: &World) -> AuthFacts {
        let mut f = AuthFacts::default();
        f.accounts.insert(w.acc.public_key().to_string(), AccountFact::from_claims(&w.claims));
        f.operator_keys.insert(w.op.public_key().to_string());
        f
    }

    fn user(w: &World, signer: &SigningKey, iat: i64, exp: i64) -> (String, String) {
        let u = SigningKey::generate(KeyKind::User);
        let mut c = UserClaims::new_user(u.public_key(), "tentacle.ns.wf");
        c.std.expires = exp;
        let t = jwt::encode_user(&mut c, signer, w.acc.public_key(), iat).unwrap();
        (t, u.public_key().to_string())
    }

    fn kind(f: &AuthFacts, t: &str, now: i64) -> CauseKind {
        diagnose(AuthFailure { jwt: t, reason: "Authentication Failure", callout: false }, f, now).unwrap().kind
    }

    #[test]
    fn causes_are_named() {
        let w = world();
        let mut f = facts(&w);
        let (expired, _) = user(&w, &w.signer, 1000, 1100);
        let d = diagnose(AuthFailure { jwt: &expired, ..Default::default() }, &f, 1160).unwrap();
        assert_eq!(d.kind, CauseKind::Expired);
        assert!(d.detail.contains("1m ago"), "{}", d.detail);
        let stranger = SigningKey::generate(KeyKind::Account);
        let (unlisted, _) = user(&w, &stranger, 1000, 0);
        assert_eq!(kind(&f, &unlisted, 1200), CauseKind::UnknownSigner);
        let (ok, ukey) = user(&w, &w.signer, 1000, 0);
        assert_eq!(kind(&f, &ok, 1200), CauseKind::NonceMismatch);
        // Revocation is a time: at or after iat revokes, before does not.
        let acc = f.accounts.get_mut(w.acc.public_key()).unwrap();
        acc.revocations.insert(ukey.clone(), 999);
        assert_eq!(kind(&f, &ok, 1200), CauseKind::NonceMismatch);
        f.accounts.get_mut(w.acc.public_key()).unwrap().revocations.insert("*".into(), 1000);
        let d = diagnose(AuthFailure { jwt: &ok, ..Default::default() }, &f, 1200).unwrap();
        assert_eq!(d.kind, CauseKind::Revoked);
        assert!(d.detail.contains("every user (*)") && d.detail.contains("1970-01-01T00:16:40Z"), "{}", d.detail);
        f.accounts.clear();
        assert_eq!(kind(&f, &ok, 1200), CauseKind::AccountUnknown);
        let mut f = facts(&w);
        f.operator_keys = BTreeSet::from(["OTHER".to_string()]);
        assert_eq!(kind(&f, &ok, 1200), CauseKind::WrongOperator);
        let (nbf, _) = {
            let u = SigningKey::generate(KeyKind::User);
            let mut c = UserClaims::new_user(u.public_key(), "x");
            c.std.not_before = 5000;
            (jwt::encode_user(&mut c, &w.acc, w.acc.public_key(), 1000).unwrap(), ())
        };
        assert_eq!(kind(&facts(&w), &nbf, 1200), CauseKind::NotYetValid);
    }

    #[test]
    fn callouts_and_garbage() {
        let f = AuthFacts::default();
        let d = diagnose(AuthFailure { jwt: "", reason: "no such user", callout: true }, &f, 0).unwrap();
        assert_eq!((d.kind, d.detail.as_str()), (CauseKind::Callout, "the auth callout refused it: no such user"));
        assert!(diagnose(AuthFailure { jwt: "", reason: "Authentication Failure", callout: false }, &f, 0).is_none());
        assert_eq!(kind(&f, "a.b.c", 0), CauseKind::BadJwt);
        assert_eq!(account_needed("garbage"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}", r in ".{0,40}", now in proptest::num::i64::ANY) {
            let _ = diagnose(AuthFailure { jwt: &s, reason: &r, callout: false }, &AuthFacts::default(), now);
            let _ = account_needed(&s);
        }
    }
}
