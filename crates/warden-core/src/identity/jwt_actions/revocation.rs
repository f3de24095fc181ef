//! Revocation is a time, not a set.
//!
//! An account JWT's `revocations` map a user key (or `*`, every user) to a
//! unix time; a user JWT is revoked when that time is at or after its `iat`
//! (nats-server `server/accounts.go` `isRevoked`, jwt v2
//! `v2/account_claims.go` `IsClaimRevoked` / `v2/revocation_list.go`
//! `IsRevoked`). So a key that appears in the list is not revoked for a JWT
//! issued later, and a JWT minted in the same unix second as a revocation
//! *is* revoked: the server compares whole seconds.

use super::prelude::*;
use crate::nats::jwt::Account;

/// Longest wait for the clock to pass a revocation time before minting.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(3);

/// When a JWT for `subject` may be issued so `account` does not revoke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Issuable {
    /// Not revoked now (`revoked_at`: an older revocation it is issued after).
    Now { revoked_at: Option<i64> },
    /// Revoked until `revoked_at` has passed: wait this many seconds.
    After { revoked_at: i64, wait_secs: i64 },
    /// The revocation time is further ahead than [`MAX_WAIT`] (a clock
    /// ahead of ours, or a revocation written for the future).
    TooFar { revoked_at: i64 },
}

/// Pure: may a JWT for `subject` issued at `now` be accepted?
pub(super) fn issuable(account: &Account, subject: &str, now: i64) -> Issuable {
    match account.revoked_at(subject) {
        None => Issuable::Now { revoked_at: None },
        Some(t) if t < now => Issuable::Now { revoked_at: Some(t) },
        Some(t) => {
            let wait_secs = t - now + 1;
            if wait_secs as u64 > MAX_WAIT.as_secs() {
                Issuable::TooFar { revoked_at: t }
            } else {
                Issuable::After { revoked_at: t, wait_secs }
            }
        }
    }
}

/// Waits until a JWT for `subject` minted now is issued strictly after the
/// account's revocation time for it (or `*`), reporting what it did; fails
/// when that time is too far ahead. Call right before minting.
pub(super) async fn wait_until_issuable(
    r: &mut Recorder<'_>,
    account: &jwt::AccountClaims,
    subject: &str,
) -> Result<()> {
    let name = &account.std.name;
    match issuable(&account.nats, subject, jwt::unix_now()) {
        Issuable::Now { revoked_at: None } => Ok(()),
        Issuable::Now { revoked_at: Some(t) } => {
            r.ok("revocation", format!("{name} revokes JWTs issued at or before {}; this one is issued after", rfc3339(t)));
            Ok(())
        }
        Issuable::TooFar { revoked_at } => Err(r.fail(
            "revocation",
            format!(
                "{name} revokes JWTs for {subject} issued at or before {} ({}s from now): a JWT issued now would be refused",
                rfc3339(revoked_at),
                revoked_at - jwt::unix_now()
            ),
        )),
        Issuable::After { revoked_at, .. } => {
            // The server compares unix seconds: wait for the next one.
            let deadline = tokio::time::Instant::now() + MAX_WAIT + Duration::from_secs(1);
            while jwt::unix_now() <= revoked_at {
                if tokio::time::Instant::now() >= deadline {
                    return Err(r.fail("revocation", format!("the clock did not pass {}", rfc3339(revoked_at))));
                }
                let ms = 1000 - (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_millis())
                    .unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(u64::from(ms.clamp(10, 1000)))).await;
            }
            r.ok(
                "revocation",
                format!("{name} revokes JWTs issued at or before {}; waited to issue after it", rfc3339(revoked_at)),
            );
            Ok(())
        }
    }
}

/// The key's own revocation time when it revokes the current JWT (issued at
/// `iat`; unknown: any own revocation counts). A `*` revocation is not the
/// key's: re-issuing after it is what it asks for.
pub(super) fn key_revoked(account: &Account, key: &str, iat: Option<i64>) -> Option<i64> {
    account.revocations.get(key).copied().filter(|t| iat.is_none_or(|i| *t >= i))
}

/// Whether the JWT a `NatsIdentity` holds is revoked by `account` (a record
/// without a decodable JWT: whenever a revocation covers its key).
pub(super) fn record_revoked(account: &Account, rec: &IdentityRecord) -> bool {
    let iat = jwt::decode_as::<jwt::User>(&rec.status.jwt).map(|u| u.std.issued_at).unwrap_or(0);
    account.is_revoked(rec.user_key(), iat)
}

/// The `iat` of the newest user JWT known for `key` among `jwts`.
pub(super) fn newest_iat<'a>(jwts: impl IntoIterator<Item = &'a str>, key: &str) -> Option<i64> {
    jwts.into_iter()
        .filter_map(|t| jwt::decode_as::<jwt::User>(t).ok())
        .filter(|u| u.std.subject == key)
        .map(|u| u.std.issued_at)
        .max()
}

/// Whether `key` needs a (new) revocation: it is not revoked for the newest
/// JWT known for it (`newest_iat`), or, with none known, it has no
/// revocation at all.
pub(super) fn needs_revocation(account: &Account, key: &str, newest_iat: Option<i64>) -> bool {
    match (account.revoked_at(key), newest_iat) {
        (None, _) => true,
        (Some(t), Some(iat)) => t < iat,
        (Some(_), None) => false,
    }
}

/// The time to revoke at: now, or the newest known `iat` when that is ahead
/// of our clock (a JWT from a faster clock must still be covered).
pub(super) fn revocation_time(now: i64, newest_iat: Option<i64>) -> i64 {
    newest_iat.map_or(now, |i| i.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(revs: &[(&str, i64)]) -> Account {
        let mut a = Account::default();
        for (k, t) in revs {
            a.revoke(k, *t);
        }
        a
    }

    #[test]
    fn issuing_after_a_revocation_waits_for_the_next_second() {
        let a = acc(&[("UKEY", 100)]);
        assert_eq!(issuable(&a, "UKEY", 101), Issuable::Now { revoked_at: Some(100) });
        // Same second: a JWT with iat 100 is still revoked (100 >= 100).
        assert_eq!(issuable(&a, "UKEY", 100), Issuable::After { revoked_at: 100, wait_secs: 1 });
        assert_eq!(issuable(&a, "OTHER", 100), Issuable::Now { revoked_at: None });
        assert_eq!(issuable(&a, "UKEY", 50), Issuable::TooFar { revoked_at: 100 });
        // `*` covers every key, and the later of the two applies.
        let w = acc(&[("UKEY", 90), ("*", 100)]);
        assert_eq!(issuable(&w, "OTHER", 100), Issuable::After { revoked_at: 100, wait_secs: 1 });
        assert_eq!(issuable(&w, "UKEY", 99), Issuable::After { revoked_at: 100, wait_secs: 2 });
    }

    #[test]
    fn a_key_in_the_list_is_not_revoked_for_a_later_jwt() {
        let a = acc(&[("UKEY", 100)]);
        assert!(!needs_revocation(&a, "UKEY", Some(100)));
        assert!(needs_revocation(&a, "UKEY", Some(101)));
        assert!(!needs_revocation(&a, "UKEY", None));
        assert!(needs_revocation(&a, "NEW", None));
        let all = acc(&[("*", 200)]);
        assert!(!needs_revocation(&all, "UKEY", Some(150)));
        assert!(needs_revocation(&all, "UKEY", Some(201)));
        assert_eq!(revocation_time(100, Some(105)), 105);
        assert_eq!(revocation_time(100, Some(5)), 100);
    }
}
