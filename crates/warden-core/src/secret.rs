//! A string that must never reach the screen, a log or the audit log.

use std::fmt;

/// Holds a password, token or seed. `Debug`/`Display` print `***`; the value
/// is only reachable through [`Secret::expose`], which call sites use at the
/// last moment (handing it to a client library).
/// The memory is overwritten when the value is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// From a config file or a natscli context.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// From a command-line flag (clap) or the environment.
impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// None when empty (an unset context field).
    pub fn non_empty(&self) -> Option<Secret> {
        (!self.is_empty()).then(|| self.clone())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What warden shows instead of a token an older nats-server leaked.
pub const MASKED_TOKEN: &str = "<token>";

/// Whether a nats-server of this version puts a token user's raw token in
/// user fields: `getRawAuthUser` (server/client.go) returns `c.opts.Token`
/// up to v2.10.27 (also v2.9.x) and in v2.11.0-v2.11.1; v2.10.28 and v2.11.2
/// return `"[REDACTED]"`. Its callers fill AUTH.ERR / DISCONNECT / CONNECT
/// event `client.user` (server/events.go) and CONNZ `authorized_user`
/// (server/monitor.go). An unparsable version counts as leaking.
pub fn server_leaks_tokens(version: &str) -> bool {
    let v = version.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next().unwrap_or("");
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor)), patch) = (it.next(), it.next(), it.next()) else {
        return true;
    };
    let patch = patch.flatten().unwrap_or(0);
    match (major, minor) {
        (0 | 1, _) => true,
        (2, m) if m < 10 => true,
        (2, 10) => patch <= 27,
        (2, 11) => patch <= 1,
        _ => false,
    }
}

/// The one masking rule for a user field that a nats-server reported (an
/// event's `client.user`, CONNZ `authorized_user`): on a server that leaks
/// tokens (see [`server_leaks_tokens`]) a user in the global account `$G`
/// (or with no account) that is neither a user public key (nkey / JWT user)
/// nor a SPIFFE ID is replaced by [`MASKED_TOKEN`]. Token auth never binds
/// an account (server/auth.go: the token branch only compares the token), so
/// a token user is always in `$G`; a plain user name in `$G` on such a server
/// is masked too, because the two cannot be told apart. Users of named
/// accounts, keys and SPIFFE IDs are kept.
pub fn mask_user_field(server_version: &str, account: &str, user: String) -> String {
    if user.is_empty() || !server_leaks_tokens(server_version) {
        return user;
    }
    let global = account.is_empty() || account == "$G";
    if global && !is_user_key(&user) && !user.starts_with("spiffe://") && user != "[REDACTED]" {
        MASKED_TOKEN.to_string()
    } else {
        user
    }
}

/// A user public key (nkeys `PrefixByteUser`: `U` + 55 base32 characters).
fn is_user_key(s: &str) -> bool {
    s.len() == 56 && s.starts_with('U') && s.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaking_versions_from_client_go() {
        for v in ["2.9.10", "v2.10.0", "2.10.25", "2.10.27", "2.11.0", "2.11.1", "2.11.0-RC.1", "", "junk"] {
            assert!(server_leaks_tokens(v), "{v}");
        }
        for v in ["2.10.28", "2.10.29", "2.11.2", "2.12.0", "2.12.8", "2.14.6", "2.15.1", "3.0.0"] {
            assert!(!server_leaks_tokens(v), "{v}");
        }
    }

    #[test]
    fn masks_only_what_may_be_a_token() {
        let key = format!("U{}", "A".repeat(55));
        assert_eq!(mask_user_field("2.10.25", "$G", "s3cr3t".into()), MASKED_TOKEN);
        assert_eq!(mask_user_field("2.10.25", "", "s3cr3t".into()), MASKED_TOKEN);
        assert_eq!(mask_user_field("2.10.25", "$G", key.clone()), key);
        assert_eq!(mask_user_field("2.10.25", "$G", "spiffe://td/ns/a/wf/b".into()), "spiffe://td/ns/a/wf/b");
        assert_eq!(mask_user_field("2.10.25", "APP", "tent".into()), "tent");
        assert_eq!(mask_user_field("2.12.8", "$G", "[REDACTED]".into()), "[REDACTED]");
        assert_eq!(mask_user_field("2.15.1", "$G", "tent".into()), "tent");
        assert_eq!(mask_user_field("2.10.25", "$G", String::new()), "");
    }

    #[test]
    fn never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.expose(), "hunter2");
        let parsed: Secret = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!((parsed.expose(), format!("{parsed:?}")), ("tok", "***".to_string()));
    }
}
