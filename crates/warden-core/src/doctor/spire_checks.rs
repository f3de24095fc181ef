//! SPIRE: agents that are banned or running out, SPIFFE IDs outside the
//! allowed prefixes, DNS names that can stand in for a SPIFFE ID.

use super::codes;
use super::facts::Facts;
use super::finding::{Finding, Severity};
use super::jwt_checks::{rfc3339, when};

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    agents(f, out);
    outside_policy(f, out);
    dns_sans(f, out);
}

fn agents(f: &Facts, out: &mut Vec<Finding>) {
    for a in &f.agents {
        let id = a.id.uri();
        if a.banned {
            let hosted = f.entries.iter().filter(|e| e.parent_id.uri() == id).count();
            if hosted > 0 {
                out.push(Finding::new(
                    &codes::AGENT_BANNED_HOSTING,
                    format!("banned agent {id} still parents {hosted} entr{}", if hosted == 1 { "y" } else { "ies" }),
                    vec![format!("agent {id}")],
                    format!("agent list: banned true; {hosted} entry parent_id {id}"),
                ));
            }
        }
        let left = a.x509svid_expires_at - f.now;
        if a.x509svid_expires_at > 0 && left < f.policy.warn_secs {
            let sev = if left < f.policy.critical_secs { Severity::Critical } else { Severity::Warning };
            out.push(
                Finding::new(
                    &codes::AGENT_SVID_EXPIRING,
                    format!("agent {id} SVID {}", when(f.now, a.x509svid_expires_at)),
                    vec![format!("agent {id}")],
                    format!("x509svid_expires_at {}", rfc3339(a.x509svid_expires_at)),
                )
                .with_severity(sev),
            );
        }
    }
}

fn allowed(f: &Facts, id: &str) -> bool {
    f.policy.allowed_spiffe_prefixes.is_empty()
        || f.policy.allowed_spiffe_prefixes.iter().any(|p| id.starts_with(p.as_str()))
}

/// Every SPIFFE ID warden knows of: SPIRE entries, registrations and
/// authorization entries. Agents' own IDs are SPIRE's, not workloads'.
fn outside_policy(f: &Facts, out: &mut Vec<Finding>) {
    let mut seen = std::collections::BTreeMap::<String, String>::new();
    for e in &f.entries {
        seen.entry(e.spiffe_id.uri()).or_insert_with(|| format!("SPIRE entry {}", e.id));
    }
    for r in f.registrations.iter().filter(|r| !r.spiffe_id.is_empty()) {
        seen.entry(r.spiffe_id.clone()).or_insert_with(|| format!("ClusterSPIFFEID {}", r.name));
    }
    for a in f.authz_entries.iter().filter(|a| a.user.starts_with("spiffe://")) {
        seen.entry(a.user.clone()).or_insert_with(|| format!("authorization entry {}", a.user));
    }
    for (id, source) in seen {
        if allowed(f, &id) {
            continue;
        }
        out.push(Finding::new(
            &codes::SPIFFE_ID_OUTSIDE_POLICY,
            format!("{id} is outside the allowed SPIFFE ID prefixes"),
            vec![source],
            format!("allowed: {}", f.policy.allowed_spiffe_prefixes.join(", ")),
        ));
    }
}

/// `verify_and_map` looks up the certificate's e-mail and DNS SANs before
/// the URI SAN (`server/auth.go` `checkClientTLSCertSubject`), so an SVID
/// with DNS names can match an authorization user other than its SPIFFE ID.
fn dns_sans(f: &Facts, out: &mut Vec<Finding>) {
    if !f.policy.spiffe_mode {
        return;
    }
    // Only SVIDs that NATS maps to users: a server's own SVID needs its DNS names.
    let is_user = |id: &str| f.authz_entries.iter().any(|a| a.user == id);
    for e in f.entries.iter().filter(|e| !e.dns_names.is_empty() && is_user(&e.spiffe_id.uri())) {
        out.push(Finding::new(
            &codes::DNS_SAN_SHADOW,
            format!("{} SVIDs carry DNS names", e.spiffe_id.uri()),
            vec![format!("SPIRE entry {}", e.id)],
            format!(
                "dns_names: {}",
                e.dns_names.iter().map(|d| crate::identity::approve_plan::shown(d)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::Policy;
    use super::*;
    use crate::spire::model::{Agent, Entry, SpiffeId};

    fn sid(path: &str) -> SpiffeId {
        SpiffeId { trust_domain: "td".into(), path: path.into() }
    }

    fn run(f: &Facts) -> Vec<(&'static str, Severity)> {
        super::super::collect(check, f).iter().map(|x| (x.code, x.severity)).collect()
    }

    #[test]
    fn banned_agents_with_entries_and_expiring_svids() {
        let day = 86_400;
        let mut f = Facts { now: 10 * day, ..Default::default() };
        f.agents.push(Agent {
            id: sid("/spire/agent/a"),
            banned: true,
            x509svid_expires_at: 20 * day,
            ..Default::default()
        });
        f.agents.push(Agent { id: sid("/spire/agent/b"), x509svid_expires_at: 10 * day + 60, ..Default::default() });
        f.entries.push(Entry {
            id: "e1".into(),
            spiffe_id: sid("/ns/a/wf/b"),
            parent_id: sid("/spire/agent/a"),
            ..Default::default()
        });
        assert_eq!(
            run(&f),
            vec![("agent-banned-hosting", Severity::Warning), ("agent-svid-expiring", Severity::Critical)]
        );
    }

    #[test]
    fn ids_outside_the_prefixes_and_dns_names_in_spiffe_mode() {
        let mut f = Facts {
            policy: Policy {
                spiffe_mode: true,
                allowed_spiffe_prefixes: vec!["spiffe://td/ns/".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        f.entries.push(Entry { id: "ok".into(), spiffe_id: sid("/ns/a/wf/b"), ..Default::default() });
        f.entries.push(Entry {
            id: "bad".into(),
            spiffe_id: sid("/admin/root"),
            dns_names: vec!["db.local".into()],
            ..Default::default()
        });
        // A server's own SVID (not an authorization user) needs its DNS names.
        f.entries.push(Entry {
            id: "srv".into(),
            spiffe_id: sid("/ns/sys/sa/nats"),
            dns_names: vec!["nats".into()],
            ..Default::default()
        });
        f.authz_entries
            .push(super::super::facts::AuthzEntryFacts { user: "spiffe://td/admin/root".into(), ..Default::default() });
        assert_eq!(
            run(&f),
            vec![("spiffe-id-outside-policy", Severity::Critical), ("dns-san-shadow", Severity::Warning)]
        );
    }
}
