//! JWTs: users that never expire or are bearer tokens, accounts and
//! operators that expired or are about to, account JWTs that differ between
//! servers, and server certificates running out.

use std::collections::BTreeMap;

use super::codes;
use super::facts::Facts;
use super::finding::{Code, Finding, Severity};
use crate::nats::jwt;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    users(f, out);
    accounts(f, out);
    operators(f, out);
    server_certs(f, out);
}

/// One finding per user (not per connection): a fleet of 50 replicas of one
/// non-expiring user is one thing to fix.
fn users(f: &Facts, out: &mut Vec<Finding>) {
    let mut no_exp: BTreeMap<&str, (&super::facts::ConnFacts, usize)> = BTreeMap::new();
    let mut bearer: BTreeMap<&str, (&super::facts::ConnFacts, usize)> = BTreeMap::new();
    for c in &f.conns {
        let Some(cl) = &c.claims else { continue };
        if cl.std.expires == 0 {
            no_exp.entry(cl.std.subject.as_str()).or_insert((c, 0)).1 += 1;
        }
        if cl.nats.bearer_token {
            bearer.entry(cl.std.subject.as_str()).or_insert((c, 0)).1 += 1;
        }
    }
    // Since 2.14 CONNZ and the CONNECT event leave out the JWT of a bearer
    // user (`server/monitor.go` `redactBearerJWT`). In operator mode every
    // client authenticates with a user JWT and is shown by its public key
    // (`server/client.go` `getRawAuthUser`), so a user key with no JWT on a
    // server that trusts an operator is a bearer JWT the server hid.
    for c in f.conns.iter().filter(|c| c.claims.is_none() && is_user_key(&c.user)) {
        let operator_mode =
            f.servers.iter().any(|s| (s.name == c.server || s.id == c.server) && !s.operator_jwts.is_empty());
        if operator_mode {
            bearer.entry(c.user.as_str()).or_insert((c, 0)).1 += 1;
        }
    }
    for (key, (c, n)) in no_exp {
        let who = super::nats_checks::display_user(c);
        out.push(Finding::new(
            &codes::USER_JWT_NO_EXPIRY,
            format!("user {who} has a JWT that never expires"),
            vec![format!("user {who}"), format!("account {}", super::nats_checks::label(&c.account_name, &c.account))],
            format!("user JWT {key}: no exp; {n} live connection(s)"),
        ));
    }
    for (key, (c, n)) in bearer {
        // A hidden JWT has no name: the identity that holds the key names it.
        let who = match f.identities.iter().find(|i| c.claims.is_none() && i.user_key == key && !i.user.is_empty()) {
            Some(i) => i.user.clone(),
            None => super::nats_checks::display_user(c),
        };
        let how = if c.claims.is_some() { "bearer_token true" } else { "JWT hidden by the server (bearer token)" };
        out.push(Finding::new(
            &codes::BEARER_TOKEN_USER,
            format!("user {who} connects with a bearer JWT"),
            vec![format!("user {who}"), format!("account {}", super::nats_checks::label(&c.account_name, &c.account))],
            format!("user JWT {key}: {how}; {n} live connection(s)"),
        ));
    }
}

/// A user public key: 56 base32 characters starting with `U` (nkeys).
fn is_user_key(s: &str) -> bool {
    s.len() == 56 && s.starts_with('U') && s.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

fn accounts(f: &Facts, out: &mut Vec<Finding>) {
    for a in &f.accounts {
        let obj = vec![format!("account {}", super::nats_checks::label(&a.name, &a.key))];
        if let Some(exp) = a.expires
            && let Some((code, sev)) = expiry_code(f, exp, &codes::ACCOUNT_JWT_EXPIRED, &codes::ACCOUNT_JWT_EXPIRING)
        {
            out.push(
                Finding::new(
                    code,
                    format!("account {} JWT {}", a.name, when(f.now, exp)),
                    obj.clone(),
                    format!("exp {}", rfc3339(exp)),
                )
                .with_severity(sev),
            );
        }
        if let Some(why) = &a.drift {
            out.push(Finding::new(
                &codes::ACCOUNT_JWT_DRIFT,
                format!("account {} JWT differs between servers", a.name),
                obj,
                why.clone(),
            ));
        }
    }
}

fn operators(f: &Facts, out: &mut Vec<Finding>) {
    let mut seen: BTreeMap<String, (String, i64, Vec<String>)> = BTreeMap::new();
    for s in &f.servers {
        for token in &s.operator_jwts {
            let Ok(op) = jwt::decode_as::<jwt::Operator>(token) else { continue };
            if op.std.expires == 0 {
                continue;
            }
            let e = seen.entry(op.std.subject.clone()).or_insert((op.std.name.clone(), op.std.expires, vec![]));
            e.2.push(s.name.clone());
        }
    }
    for (key, (name, exp, servers)) in seen {
        if let Some((code, sev)) = expiry_code(f, exp, &codes::OPERATOR_JWT_EXPIRED, &codes::OPERATOR_JWT_EXPIRING) {
            out.push(
                Finding::new(
                    code,
                    format!("operator {name} JWT {}", when(f.now, exp)),
                    vec![format!("operator {}", super::nats_checks::label(&name, &key))],
                    format!("exp {}; trusted by {}", rfc3339(exp), servers.join(", ")),
                )
                .with_severity(sev),
            );
        }
    }
}

fn server_certs(f: &Facts, out: &mut Vec<Finding>) {
    for s in &f.servers {
        let Some(na) = s.tls_cert_not_after else { continue };
        let left = na - f.now;
        if left >= f.policy.warn_secs {
            continue;
        }
        let sev = if left < f.policy.critical_secs { Severity::Critical } else { Severity::Warning };
        out.push(
            Finding::new(
                &codes::SERVER_TLS_EXPIRING,
                format!("server {} TLS certificate {}", s.name, when(f.now, na)),
                vec![format!("server {}", s.name)],
                format!("VARZ tls_cert_not_after {}", rfc3339(na)),
            )
            .with_severity(sev),
        );
    }
}

/// Expired -> the expired code (critical); under the warning threshold ->
/// the expiring code, critical under the critical threshold.
fn expiry_code<'c>(f: &Facts, exp: i64, expired: &'c Code, expiring: &'c Code) -> Option<(&'c Code, Severity)> {
    let left = exp - f.now;
    if left <= 0 {
        Some((expired, expired.severity))
    } else if left < f.policy.critical_secs {
        Some((expiring, Severity::Critical))
    } else if left < f.policy.warn_secs {
        Some((expiring, expiring.severity))
    } else {
        None
    }
}

/// `expires in 3d` / `expired 5h ago`: the one wording of time left for
/// findings, traces and checks.
pub fn when(now: i64, t: i64) -> String {
    let d = t - now;
    let span = crate::nats::account_reach::left(d.abs());
    if d <= 0 { format!("expired {span} ago") } else { format!("expires in {span}") }
}

pub(super) fn rfc3339(t: i64) -> String {
    crate::identity::record::rfc3339_of(t)
}

#[cfg(test)]
mod tests {
    use super::super::facts::{AccountFacts, ConnFacts, ServerFacts};
    use super::*;
    use crate::nats::jwt::{Claims, User, UserClaims};

    fn user(key: &str, exp: i64, bearer: bool) -> UserClaims {
        let mut c: UserClaims = Claims::<User>::about(key, "orders");
        c.std.expires = exp;
        c.nats.bearer_token = bearer;
        c
    }

    fn run(f: &Facts) -> Vec<Finding> {
        super::super::collect(check, f)
    }

    #[test]
    fn users_are_reported_once_however_many_connections() {
        let mut f = Facts { now: 1000, ..Default::default() };
        for cid in 0..3 {
            f.conns.push(ConnFacts {
                cid,
                claims: Some(std::sync::Arc::new(user("UA", 0, cid == 0))),
                ..Default::default()
            });
        }
        f.conns.push(ConnFacts {
            cid: 9,
            claims: Some(std::sync::Arc::new(user("UB", 5000, false))),
            ..Default::default()
        });
        let found = run(&f);
        let codes: Vec<_> = found.iter().map(|x| x.code).collect();
        assert_eq!(codes, vec!["user-jwt-no-expiry", "bearer-token-user"]);
        assert!(found[0].evidence.contains("3 live connection(s)"), "{}", found[0].evidence);
    }

    #[test]
    fn a_user_key_without_a_jwt_in_operator_mode_is_a_hidden_bearer_jwt() {
        let key = format!("U{}", "A".repeat(55));
        let conn = |server: &str| ConnFacts { server: server.into(), cid: 4, user: key.clone(), ..Default::default() };
        let server = |name: &str, operator: bool| ServerFacts {
            name: name.into(),
            auth_required: true,
            operator_jwts: if operator { vec!["op.jwt".into()] } else { vec![] },
            ..Default::default()
        };
        // Config mode: an nkey user (no JWT at all) is no finding.
        let f = Facts { servers: vec![server("n1", false)], conns: vec![conn("n1")], ..Default::default() };
        assert!(run(&f).is_empty());
        // Operator mode: the server hid the JWT; the identity holding the key names it.
        let mut f = Facts { servers: vec![server("n1", true)], conns: vec![conn("n1")], ..Default::default() };
        f.identities.push(crate::identity::join::JoinedIdentity {
            user_key: key.clone(),
            ..crate::test_support::identity("shop", "kiosk", crate::identity::join::IdState::Active)
        });
        let found = run(&f);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].code, found[0].objects[0].as_str()), ("bearer-token-user", "user tentacle.shop.kiosk"));
        assert!(found[0].evidence.contains("hidden"), "{}", found[0].evidence);
    }

    #[test]
    fn account_expiry_is_graded_by_the_thresholds() {
        let day = 24 * 3600;
        let mut f = Facts { now: 100 * day, ..Default::default() };
        for (name, exp) in [("gone", 99 * day), ("soon", 100 * day + 3600), ("week", 103 * day), ("later", 200 * day)] {
            f.accounts.push(AccountFacts {
                key: format!("A{name}"),
                name: name.into(),
                expires: Some(exp),
                ..Default::default()
            });
        }
        let found: Vec<_> = run(&f).into_iter().map(|x| (x.code, x.severity, x.objects[0].clone())).collect();
        assert_eq!(
            found,
            vec![
                ("account-jwt-expired", Severity::Critical, "account gone (Agone)".to_string()),
                ("account-jwt-expiring", Severity::Critical, "account soon (Asoon)".to_string()),
                ("account-jwt-expiring", Severity::Warning, "account week (Aweek)".to_string()),
            ]
        );
    }

    #[test]
    fn an_expiring_server_certificate_is_found() {
        let f = Facts {
            now: 0,
            servers: vec![ServerFacts {
                name: "n1".into(),
                auth_required: true,
                tls_cert_not_after: Some(3600),
                ..Default::default()
            }],
            ..Default::default()
        };
        let found = run(&f);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].code, found[0].severity), ("server-tls-cert-expiring", Severity::Critical));
    }
}
