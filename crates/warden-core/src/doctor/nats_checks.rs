//! Servers and connections: how clients authenticate, and who sits in the
//! system account.

use super::codes;
use super::facts::Facts;
use super::finding::Finding;

/// `[REDACTED]` is what CONNZ and events show as the user of a token
/// connection (`server/client.go` `getRawAuthUser`, 2.11.2 and later).
const TOKEN_USER: &str = "[REDACTED]";

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    auth_modes(f, out);
    system_account_workloads(f, out);
    token_users(f, out);
}

fn auth_modes(f: &Facts, out: &mut Vec<Finding>) {
    for s in &f.servers {
        let obj = vec![format!("server {}", s.name)];
        let anonymous = match (s.auth_required, s.anonymous_allowed) {
            (false, _) => Some("VARZ auth_required is false"),
            (true, Some(true)) => {
                Some("the INFO sent to an unauthenticated client says auth_required false (no_auth_user)")
            }
            _ => None,
        };
        if let Some(evidence) = anonymous {
            out.push(Finding::new(
                &codes::NO_AUTH,
                format!("server {} lets clients connect without authenticating", s.name),
                obj.clone(),
                evidence,
            ));
        } else if s.tls_verify
            && s.operator_jwts.is_empty()
            && !f.policy.spiffe_mode
            && conns_on(f, &s.name).all(|c| !looks_like_cert_user(&c.user))
        {
            // Certificates verified but not what clients are known by.
            out.push(Finding::new(
                &codes::MTLS_WITHOUT_AUTH,
                format!("server {} verifies client certificates but authenticates clients otherwise", s.name),
                obj.clone(),
                "VARZ tls_verify is true, no trusted operator, no connection authorized by its certificate",
            ));
        }
        if f.policy.spiffe_mode && !s.tls_verify {
            out.push(Finding::new(
                &codes::SPIFFE_WITHOUT_MTLS,
                format!("server {} does not verify client certificates, yet identities are SPIFFE IDs", s.name),
                obj,
                format!("VARZ tls_verify is false (tls_required {})", s.tls_required),
            ));
        }
    }
}

fn conns_on<'a>(f: &'a Facts, server: &'a str) -> impl Iterator<Item = &'a super::facts::ConnFacts> {
    f.conns.iter().filter(move |c| c.server == server)
}

/// A user that comes from a certificate: a SPIFFE ID or an RFC 4514 DN.
fn looks_like_cert_user(user: &str) -> bool {
    user.starts_with("spiffe://") || user.contains("CN=") || user.contains('@')
}

fn system_account_workloads(f: &Facts, out: &mut Vec<Finding>) {
    let system: Vec<&str> = f
        .servers
        .iter()
        .map(|s| s.system_account.as_str())
        .chain(f.accounts.iter().filter(|a| a.system).map(|a| a.key.as_str()))
        .filter(|a| !a.is_empty())
        .collect();
    for c in &f.conns {
        let in_system = system.contains(&c.account.as_str()) || c.account == "$SYS";
        if !in_system || f.own_conns.iter().any(|(srv, cid)| *srv == c.server && *cid == c.cid) {
            continue;
        }
        let who = display_user(c);
        if f.policy
            .admin_users
            .iter()
            .any(|a| *a == c.user || *a == who || (!c.user_key.is_empty() && *a == c.user_key))
        {
            continue;
        }
        out.push(Finding::new(
            &codes::SYS_ACCOUNT_WORKLOAD,
            format!("{who} is connected in the system account"),
            vec![format!("connection {}/cid {}", c.server, c.cid), format!("user {who}")],
            format!("account {}, connection name {:?}", label(&c.account_name, &c.account), c.name),
        ));
    }
}

fn token_users(f: &Facts, out: &mut Vec<Finding>) {
    let mut per_server: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in f.conns.iter().filter(|c| c.user == TOKEN_USER) {
        *per_server.entry(c.server.as_str()).or_default() += 1;
    }
    for (server, n) in per_server {
        out.push(Finding::new(
            &codes::TOKEN_AUTH,
            format!("server {server} has {n} token-authenticated connection(s)"),
            vec![format!("server {server}")],
            format!("CONNZ authorized_user {TOKEN_USER} on {n} connection(s)"),
        ));
    }
}

pub(super) fn display_user(c: &super::facts::ConnFacts) -> String {
    match &c.claims {
        Some(cl) if !cl.std.name.is_empty() => cl.std.name.clone(),
        _ if !c.user.is_empty() => c.user.clone(),
        _ => format!("cid {}", c.cid),
    }
}

pub(super) fn label(name: &str, key: &str) -> String {
    if name.is_empty() || name == key { key.to_string() } else { format!("{name} ({key})") }
}

#[cfg(test)]
mod tests {
    use super::super::facts::{AccountFacts, ConnFacts, ServerFacts};
    use super::*;

    fn server(name: &str) -> ServerFacts {
        ServerFacts {
            id: format!("N{name}"),
            name: name.into(),
            auth_required: true,
            system_account: "SYS".into(),
            ..Default::default()
        }
    }

    fn run(f: &Facts) -> Vec<Finding> {
        super::super::collect(check, f)
    }

    #[test]
    fn no_auth_and_token_servers_are_named() {
        let mut f = Facts {
            servers: vec![server("a"), ServerFacts { auth_required: false, ..server("b") }],
            ..Default::default()
        };
        f.conns.push(ConnFacts {
            server: "a".into(),
            cid: 4,
            user: TOKEN_USER.into(),
            account: "APP".into(),
            ..Default::default()
        });
        let codes: Vec<_> = run(&f).iter().map(|x| (x.code, x.objects[0].clone())).collect();
        assert_eq!(codes, vec![("no-auth", "server b".to_string()), ("token-auth", "server a".to_string())]);
    }

    #[test]
    fn a_workload_in_the_system_account_is_found_unless_it_is_warden_or_an_admin() {
        let mut f = Facts { servers: vec![server("a")], ..Default::default() };
        f.accounts.push(AccountFacts { key: "SYS".into(), name: "SYS".into(), system: true, ..Default::default() });
        for (cid, user) in [(1, "warden"), (2, "admin"), (3, "orders")] {
            f.conns.push(ConnFacts {
                server: "a".into(),
                cid,
                account: "SYS".into(),
                user: user.into(),
                ..Default::default()
            });
        }
        f.conns.push(ConnFacts {
            server: "a".into(),
            cid: 9,
            account: "APP".into(),
            user: "x".into(),
            ..Default::default()
        });
        f.own_conns.push(("a".into(), 1));
        f.policy.admin_users.push("admin".into());
        let found = run(&f);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "sys-account-workload");
        assert_eq!(found[0].objects, vec!["connection a/cid 3".to_string(), "user orders".to_string()]);
    }

    #[test]
    fn a_no_auth_user_is_no_auth_even_when_varz_says_auth_required() {
        let mut f = Facts { servers: vec![server("a")], ..Default::default() };
        assert!(run(&f).is_empty());
        f.servers[0].anonymous_allowed = Some(true);
        let found = run(&f);
        assert_eq!(found.iter().map(|x| x.code).collect::<Vec<_>>(), vec!["no-auth"]);
        assert!(found[0].evidence.contains("no_auth_user"), "{}", found[0].evidence);
    }

    #[test]
    fn spiffe_mode_without_client_verification_is_critical() {
        let f = Facts {
            servers: vec![server("a")],
            policy: super::super::facts::Policy { spiffe_mode: true, ..Default::default() },
            ..Default::default()
        };
        let found = run(&f);
        assert_eq!(found.iter().map(|x| x.code).collect::<Vec<_>>(), vec!["spiffe-without-mtls"]);
    }

    #[test]
    fn verified_certificates_that_identify_nobody_are_flagged() {
        let mut f = Facts { servers: vec![ServerFacts { tls_verify: true, ..server("a") }], ..Default::default() };
        f.conns.push(ConnFacts { server: "a".into(), cid: 1, user: "app".into(), ..Default::default() });
        assert_eq!(run(&f).iter().map(|x| x.code).collect::<Vec<_>>(), vec!["mtls-without-auth"]);
        f.conns[0].user = "spiffe://td/ns/a/wf/b".into();
        assert!(run(&f).is_empty());
    }
}
