//! Identity trace: one workload's whole chain across Kubernetes, SPIRE and
//! NATS, each link with its state, and a verdict naming the first broken
//! link. Built from the doctor's [`Facts`], so it sees what the doctor sees.

use serde::Serialize;

use super::facts::Facts;
use super::jwt_checks::when;
use crate::identity::join::IdState;
use crate::identity::naming::IdentityName;
use crate::nats::subject::Direction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Ok,
    /// Works, but needs attention (expiring, not connected, violations).
    Warn,
    /// This link stops the workload from connecting or working.
    Broken,
    /// Not part of this deployment, or not examined.
    Skipped,
}

impl LinkState {
    pub fn mark(self) -> &'static str {
        match self {
            LinkState::Ok => "ok",
            LinkState::Warn => "warn",
            LinkState::Broken => "BROKEN",
            LinkState::Skipped => "-",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub name: &'static str,
    pub state: LinkState,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trace {
    pub identity: String,
    pub spiffe_id: String,
    pub links: Vec<Link>,
    /// The first broken link in words, else the first warning, else healthy.
    pub verdict: String,
}

fn link(name: &'static str, state: LinkState, detail: impl Into<String>) -> Link {
    Link { name, state, detail: detail.into() }
}

/// The chain of `namespace/workload` as `f` shows it.
pub fn trace(f: &Facts, namespace: &str, workload: &str) -> Trace {
    use LinkState::*;
    let name = IdentityName { namespace: namespace.into(), workload: workload.into() };
    let spiffe_id = f.naming.spiffe_id(&name);
    let ident =
        f.identities.iter().find(|i| i.namespace == namespace && i.workload == workload && (i.recorded || i.live));
    let mut links = Vec::new();

    // 1. The request / lifecycle record.
    let record =
        f.records.iter().find(|r| r.namespace == namespace && (r.name == workload || r.spec.workload == workload));
    links.push(match record {
        None => link("NatsIdentity", Warn, "no record (registered by hand, or never requested)"),
        Some(r) => match r.phase() {
            "Active" | "Approved" => link("NatsIdentity", Ok, format!("{}/{}: {}", r.namespace, r.name, r.phase())),
            "Pending" => link("NatsIdentity", Broken, format!("{}/{} is waiting for approval", r.namespace, r.name)),
            p => link("NatsIdentity", Broken, format!("{}/{} is {p}", r.namespace, r.name)),
        },
    });

    // 2. The SPIRE registration and 3. its entries and 4. their agents.
    let spire_in_use = f.policy.spiffe_mode || !f.registrations.is_empty() || !f.entries.is_empty();
    let reg = f.registrations.iter().find(|r| r.namespace == namespace && r.workload == workload);
    links.push(match (reg, spire_in_use) {
        (_, false) => link("ClusterSPIFFEID", Skipped, "SPIRE is not in use here"),
        (None, true) => link(
            "ClusterSPIFFEID",
            Broken,
            format!("SVID not issued: no ClusterSPIFFEID selects {namespace}/{workload}"),
        ),
        (Some(r), true) => match &r.problem {
            Some(why) => link("ClusterSPIFFEID", Broken, format!("SVID not issued: ClusterSPIFFEID {}: {why}", r.name)),
            None => link("ClusterSPIFFEID", Ok, r.name.clone()),
        },
    });
    // 2b. The pods it selects: the SPIRE agent attests running pods only.
    links.push(pods_link(f, reg.is_some() && spire_in_use, namespace, workload));
    let entries: Vec<_> = f.entries.iter().filter(|e| e.spiffe_id.uri() == spiffe_id).collect();
    links.push(if !spire_in_use {
        link("SPIRE entries", Skipped, "")
    } else if entries.is_empty() {
        link("SPIRE entries", Broken, format!("no SPIRE entry for {spiffe_id}"))
    } else if let Some(e) = entries.iter().find(|e| e.expires_at > 0 && e.expires_at <= f.now) {
        link("SPIRE entries", Broken, format!("entry {} {}", e.id, when(f.now, e.expires_at)))
    } else {
        link(
            "SPIRE entries",
            Ok,
            format!(
                "{} entr{}: {}",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" },
                entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    });
    let parents: Vec<_> = f.agents.iter().filter(|a| entries.iter().any(|e| e.parent_id.uri() == a.id.uri())).collect();
    links.push(if entries.is_empty() {
        link("SPIRE agent", Skipped, "")
    } else if parents.is_empty() {
        link("SPIRE agent", Warn, "the entries' parents are not agents warden lists (node aliases?)")
    } else if let Some(a) = parents.iter().find(|a| a.banned) {
        link("SPIRE agent", Broken, format!("agent {} is banned", a.id.uri()))
    } else if let Some(a) =
        parents.iter().find(|a| a.x509svid_expires_at > 0 && a.x509svid_expires_at - f.now < f.policy.warn_secs)
    {
        let state = if a.x509svid_expires_at <= f.now { Broken } else { Warn };
        link("SPIRE agent", state, format!("agent {} SVID {}", a.id.uri(), when(f.now, a.x509svid_expires_at)))
    } else {
        link("SPIRE agent", Ok, parents.iter().map(|a| a.id.uri()).collect::<Vec<_>>().join(", "))
    });

    // 5. What NATS accepts: an authorization entry or a user JWT.
    links.push(if f.policy.spiffe_mode {
        match f.authz_entries.iter().any(|e| e.user == spiffe_id) {
            true => link("authorization", Ok, format!("entry for {spiffe_id}")),
            false => link("authorization", Broken, format!("no authorization entry for {spiffe_id}")),
        }
    } else {
        match ident {
            None => link("user JWT", Broken, "no user JWT: not approved or registered"),
            Some(i) => match i.state {
                IdState::Expired => link(
                    "user JWT",
                    Broken,
                    format!("JWT {}", i.expires.map(|e| when(f.now, e)).unwrap_or_else(|| "expired".into())),
                ),
                IdState::Revoked | IdState::Denied | IdState::Pending => {
                    link("user JWT", Broken, format!("{}: {}", i.state.as_str(), i.reason))
                }
                IdState::Drifted => link("user JWT", Warn, i.reason.clone()),
                IdState::Expiring => link(
                    "user JWT",
                    Warn,
                    format!("{} JWT {}", i.user_key, i.expires.map(|e| when(f.now, e)).unwrap_or_default()),
                ),
                IdState::Active => link(
                    "user JWT",
                    Ok,
                    format!(
                        "{} (scope {}), {}",
                        i.user_key,
                        i.scope,
                        i.expires.map(|e| when(f.now, e)).unwrap_or_else(|| "never expires".into())
                    ),
                ),
            },
        }
    });

    // 6. Live connections.
    let user = ident
        .map(|i| i.user.clone())
        .unwrap_or_else(|| if f.policy.spiffe_mode { spiffe_id.clone() } else { f.naming.nats_user(&name) });
    let conns: Vec<_> = f
        .conns
        .iter()
        .filter(|c| {
            c.user == user
                || c.claims.as_ref().is_some_and(|cl| cl.std.name == user)
                || (!c.user_key.is_empty() && ident.is_some_and(|i| i.user_key == c.user_key))
        })
        .collect();
    links.push(if conns.is_empty() {
        link("connections", Warn, "not connected")
    } else {
        let mut servers: Vec<&str> = conns.iter().map(|c| c.server.as_str()).collect();
        servers.dedup();
        link("connections", Ok, format!("{} on {}", conns.len(), servers.join(", ")))
    });

    // 7. Failed authentications and 8. violations.
    let ident_label = format!("{namespace}/{workload}");
    let v = f.violations.iter().find(|v| v.identity == ident_label || v.user == user);
    links.push(match v.filter(|v| v.auth_failures > 0) {
        Some(v) => link("authentication", Broken, format!("{} failed: {}", v.auth_failures, v.last_auth_cause)),
        None => link("authentication", Ok, "no recent failures"),
    });
    links.push(match v.filter(|v| v.publish + v.subscribe > 0) {
        Some(v) => {
            let perms = f.permissions.iter().find(|p| p.user == user || p.identity == ident_label);
            let why = |dir: Direction, subj: &str| match perms {
                Some(p) => format!("{} to `{subj}` {}", dir.word(), p.decide(dir, subj).explain()),
                None => format!("{} to `{subj}` denied", dir.word()),
            };
            let mut words = vec![];
            if v.publish > 0 {
                words.push(format!(
                    "{} publish(es) refused; last: {}",
                    v.publish,
                    why(Direction::Publish, &v.last_publish)
                ));
            }
            if v.subscribe > 0 {
                words.push(format!(
                    "{} subscription(s) refused; last: {}",
                    v.subscribe,
                    why(Direction::Subscribe, &v.last_subject)
                ));
            }
            // The workload tries what it may not: the likeliest reason it "does not work".
            link("violations", Broken, words.join("; "))
        }
        None => link("violations", Ok, "none seen"),
    });

    let verdict = links
        .iter()
        .find(|l| l.state == Broken)
        .or_else(|| links.iter().find(|l| l.state == Warn))
        .map(|l| format!("{}: {}", l.name, l.detail))
        .unwrap_or_else(|| "healthy".into());
    Trace { identity: ident_label, spiffe_id, links, verdict }
}

/// The selected pods: none running means no SVID, whatever SPIRE holds.
fn pods_link(f: &Facts, registered: bool, namespace: &str, workload: &str) -> Link {
    use LinkState::*;
    let Some(pods) = &f.pods else {
        return link("pods", Skipped, "not listed");
    };
    let running: Vec<_> = pods.iter().filter(|p| p.phase == "Running").collect();
    let names = |ps: &[&super::facts::PodFacts]| {
        ps.iter()
            .map(|p| format!("{} on {}", p.name, if p.node.is_empty() { "?" } else { &p.node }))
            .collect::<Vec<_>>()
    };
    match (running.is_empty(), pods.is_empty()) {
        (_, true) if registered => {
            link("pods", Broken, format!("no pod of {namespace}/{workload}: no SVID can be issued"))
        }
        (_, true) => link("pods", Warn, format!("no pod of {namespace}/{workload}")),
        (true, false) => {
            let phases: Vec<String> = pods.iter().map(|p| format!("{} {}", p.name, p.phase)).collect();
            link("pods", Broken, format!("none running: {}", phases.join(", ")))
        }
        (false, false) => link("pods", Ok, format!("{} running: {}", running.len(), names(&running).join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::{Policy, RegistrationFacts, ViolationCount};
    use super::*;
    use crate::identity::join::JoinedIdentity;

    /// shop/orders, recorded, not connected.
    fn ident(state: IdState, expires: Option<i64>) -> JoinedIdentity {
        JoinedIdentity {
            user_key: "UKEY".into(),
            account: "APP".into(),
            scope: "tentacular.shop.orders.>".into(),
            expires,
            connections: 0,
            live: false,
            ..crate::test_support::identity("shop", "orders", state)
        }
    }

    fn broken(t: &Trace) -> Vec<&str> {
        t.links.iter().filter(|l| l.state == LinkState::Broken).map(|l| l.name).collect()
    }

    #[test]
    fn an_expired_jwt_is_the_verdict_when_spire_is_not_in_use() {
        let f = Facts { now: 4 * 3600, identities: vec![ident(IdState::Expired, Some(3600))], ..Default::default() };
        let t = trace(&f, "shop", "orders");
        assert_eq!(t.verdict, "user JWT: JWT expired 3h ago");
        assert_eq!(t.links[1].state, LinkState::Skipped);
    }

    #[test]
    fn a_missing_registration_and_an_unserved_class_are_named() {
        let mut f = Facts { policy: Policy { spiffe_mode: true, ..Default::default() }, ..Default::default() };
        let t = trace(&f, "shop", "orders");
        assert!(
            t.verdict.starts_with("ClusterSPIFFEID: SVID not issued: no ClusterSPIFFEID selects shop/orders"),
            "{}",
            t.verdict
        );
        f.registrations.push(RegistrationFacts {
            name: "shop-orders".into(),
            namespace: "shop".into(),
            workload: "orders".into(),
            spiffe_id: String::new(),
            problem: Some("class `x` is not served by any controller".into()),
        });
        let t = trace(&f, "shop", "orders");
        assert_eq!(
            t.verdict,
            "ClusterSPIFFEID: SVID not issued: ClusterSPIFFEID shop-orders: class `x` is not served by any controller"
        );
        assert_eq!(broken(&t), vec!["ClusterSPIFFEID", "SPIRE entries", "authorization"]);
    }

    #[test]
    fn pods_not_running_are_the_first_broken_link_after_a_sound_registration() {
        use super::super::facts::PodFacts;
        let pod = |phase: &str| PodFacts { name: "orders-0".into(), phase: phase.into(), node: "node-a".into() };
        let mut f = Facts { policy: Policy { spiffe_mode: true, ..Default::default() }, ..Default::default() };
        f.registrations.push(RegistrationFacts {
            name: "shop-orders".into(),
            namespace: "shop".into(),
            workload: "orders".into(),
            spiffe_id: String::new(),
            problem: None,
        });
        let pods = |f: &Facts| trace(f, "shop", "orders").links.into_iter().find(|l| l.name == "pods").unwrap();
        assert_eq!(pods(&f).state, LinkState::Skipped, "not listed is not judged");
        f.pods = Some(vec![]);
        assert_eq!(trace(&f, "shop", "orders").verdict, "pods: no pod of shop/orders: no SVID can be issued");
        f.pods = Some(vec![pod("Pending")]);
        assert_eq!(trace(&f, "shop", "orders").verdict, "pods: none running: orders-0 Pending");
        f.pods = Some(vec![pod("Running")]);
        let l = pods(&f);
        assert_eq!((l.state, l.detail.as_str()), (LinkState::Ok, "1 running: orders-0 on node-a"));
    }

    #[test]
    fn an_out_of_scope_publish_is_explained_by_the_rule_that_denies_it() {
        use crate::identity::permissions::{PermissionSet, Rule, Source};
        let mut f = Facts { now: 0, identities: vec![ident(IdState::Active, None)], ..Default::default() };
        f.permissions.push(PermissionSet {
            identity: "shop/orders".into(),
            user: "tentacle.shop.orders".into(),
            rules: vec![Rule {
                dir: Direction::Publish,
                allow: true,
                subject: "tentacular.shop.orders.>".into(),
                source: Source::UserJwt,
            }],
            ..Default::default()
        });
        f.violations.push(ViolationCount {
            identity: "shop/orders".into(),
            publish: 2,
            last_publish: "tentacular.a.b.c".into(),
            ..Default::default()
        });
        let t = trace(&f, "shop", "orders");
        assert_eq!(
            t.verdict,
            "violations: 2 publish(es) refused; last: publish to `tentacular.a.b.c` denied (no allow rule matches)"
        );
    }
}
