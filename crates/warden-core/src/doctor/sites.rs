//! Several sites at once: what one site has and another lacks. A workload
//! failing over to a site without its NatsIdentity, its authorization
//! entry or its account is locked out there.

use std::collections::BTreeMap;

use super::codes;
use super::facts::{AccountFacts, Facts};
use super::finding::Finding;

/// One site's snapshot.
pub struct Site<'a> {
    pub name: &'a str,
    pub facts: &'a Facts,
}

pub fn compare(sites: &[Site<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    if sites.len() < 2 {
        return out;
    }
    // Only sources every site could read are compared (a missing source is
    // not a missing object).
    let records = per_site(sites, |s| {
        s.facts
            .records
            .iter()
            .map(|r| {
                let mut grants: Vec<String> =
                    r.spec.grants.iter().map(|g| format!("{} {}", g.direction, g.subject)).collect();
                grants.sort();
                let v = format!("pub {:?} sub {:?} grants {:?}", r.spec.publish, r.spec.subscribe, grants);
                (format!("{}/{}", r.namespace, r.name), v)
            })
            .collect()
    });
    diff("NatsIdentity", &records, &mut out);
    let authz = per_site(sites, |s| {
        s.facts
            .authz_entries
            .iter()
            .map(|e| (e.user.clone(), format!("pub {:?} sub {:?}", e.publish, e.subscribe)))
            .collect()
    });
    diff("authorization entry", &authz, &mut out);
    let accounts = per_site(sites, |s| {
        s.facts
            .accounts
            .iter()
            .filter(|a| !a.system)
            .map(|a| (format!("{} ({})", a.name, a.key), held_at(a, s.name)))
            .collect()
    });
    diff("account", &accounts, &mut out);
    out
}

/// The account JWT a site holds: what its own servers serve when the site
/// is one cluster of a supercluster (its cluster, the gateway name, is the
/// site's name: every site's system account sees every server, so the
/// newest JWT anywhere would hide a site left behind); else the newest JWT
/// its servers serve.
fn held_at(a: &AccountFacts, site: &str) -> String {
    let own: std::collections::BTreeSet<&str> =
        a.served.iter().filter(|s| s.cluster == site && !s.jti.is_empty()).map(|s| s.jti.as_str()).collect();
    if own.is_empty() {
        format!("jti {}", a.jti)
    } else {
        format!("jti {}", own.into_iter().collect::<Vec<_>>().join(" + "))
    }
}

type PerSite<'a> = Vec<(&'a str, BTreeMap<String, String>)>;

fn per_site<'a>(sites: &[Site<'a>], of: impl Fn(&Site<'a>) -> Vec<(String, String)>) -> PerSite<'a> {
    sites.iter().map(|s| (s.name, of(s).into_iter().collect())).collect()
}

/// Objects missing at some sites, and objects whose definitions differ.
fn diff(kind: &str, per: &PerSite<'_>, out: &mut Vec<Finding>) {
    // A site with none of this kind at all is compared only if another has
    // some (an empty site is exactly the failover hole).
    let all: std::collections::BTreeSet<&String> = per.iter().flat_map(|(_, m)| m.keys()).collect();
    for name in all {
        let have: Vec<&str> = per.iter().filter(|(_, m)| m.contains_key(name)).map(|(s, _)| *s).collect();
        let lack: Vec<&str> = per.iter().filter(|(_, m)| !m.contains_key(name)).map(|(s, _)| *s).collect();
        if !lack.is_empty() {
            out.push(Finding::new(
                &codes::SITE_DRIFT,
                format!("{kind} {name} is missing at {}", lack.join(", ")),
                std::iter::once(format!("{kind} {name}")).chain(lack.iter().map(|s| format!("site {s}"))).collect(),
                format!("present at {}", have.join(", ")),
            ));
            continue;
        }
        let mut versions: BTreeMap<&String, Vec<&str>> = BTreeMap::new();
        for (s, m) in per {
            versions.entry(&m[name]).or_default().push(s);
        }
        if versions.len() > 1 {
            let evidence: Vec<String> = versions.iter().map(|(v, s)| format!("{}: {v}", s.join(", "))).collect();
            out.push(Finding::new(
                &codes::SITE_DRIFT,
                format!("{kind} {name} differs between sites"),
                std::iter::once(format!("{kind} {name}")).chain(per.iter().map(|(s, _)| format!("site {s}"))).collect(),
                evidence.join("; "),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::{AuthzEntryFacts, ServedJwt};
    use super::*;
    use crate::identity::record::{IdentityRecord, IdentitySpec};

    fn rec(name: &str, publish: &str) -> IdentityRecord {
        IdentityRecord {
            namespace: "shop".into(),
            name: name.into(),
            spec: IdentitySpec { publish: vec![publish.into()], ..Default::default() },
            status: Default::default(),
        }
    }

    fn app() -> AccountFacts {
        AccountFacts { key: "AAPP".into(), name: "APP".into(), jti: "J1".into(), ..Default::default() }
    }

    #[test]
    fn what_one_site_has_and_another_lacks_or_holds_differently() {
        let east = Facts {
            records: vec![rec("orders", "a.>"), rec("cart", "c.>")],
            authz_entries: vec![AuthzEntryFacts { user: "spiffe://td/ns/shop/wf/orders".into(), ..Default::default() }],
            accounts: vec![app()],
            ..Default::default()
        };
        let west = Facts {
            records: vec![rec("orders", "a.>"), rec("cart", "other.>")],
            accounts: vec![app()],
            ..Default::default()
        };
        let found = compare(&[Site { name: "east", facts: &east }, Site { name: "west", facts: &west }]);
        let summaries: Vec<&str> = found.iter().map(|f| f.summary.as_str()).collect();
        assert_eq!(
            summaries,
            vec![
                "NatsIdentity shop/cart differs between sites",
                "authorization entry spiffe://td/ns/shop/wf/orders is missing at west",
            ]
        );
        assert!(found.iter().all(|f| f.code == "site-drift"));
        assert!(compare(&[Site { name: "east", facts: &east }]).is_empty());
    }

    /// Three sites sharing one supercluster: each site's system account
    /// sees every server, so each is judged by its own cluster's servers.
    #[test]
    fn a_site_whose_own_servers_serve_an_older_account_jwt_is_named() {
        let served = |cluster: &str, jti: &str| ServedJwt {
            server: format!("nats-{cluster}"),
            cluster: cluster.into(),
            jti: jti.into(),
        };
        let app = AccountFacts {
            jti: "NEW".into(),
            served: vec![served("east", "NEW"), served("west", "NEW"), served("south", "OLD")],
            ..app()
        };
        let f = Facts { accounts: vec![app.clone()], ..Default::default() };
        let names = ["east", "west", "south"];
        let sites: Vec<Site<'_>> = names.iter().map(|n| Site { name: n, facts: &f }).collect();
        let found = compare(&sites);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].summary, "account APP (AAPP) differs between sites");
        assert_eq!(found[0].evidence, "east, west: jti NEW; south: jti OLD");
        assert!(found[0].objects.contains(&"site south".to_string()), "{:?}", found[0].objects);

        // Once south serves the new one too, the sites agree.
        let fixed =
            AccountFacts { served: vec![served("east", "NEW"), served("west", "NEW"), served("south", "NEW")], ..app };
        let f = Facts { accounts: vec![fixed], ..Default::default() };
        let sites: Vec<Site<'_>> = names.iter().map(|n| Site { name: n, facts: &f }).collect();
        assert!(compare(&sites).is_empty());

        // Sites whose names are no cluster (separate deployments, or
        // unnamed clusters) compare the newest JWT each reads.
        let mut a = AccountFacts { served: vec![served("c1", "X")], ..app_with("J1") };
        let east = Facts { accounts: vec![a.clone()], ..Default::default() };
        a.jti = "J2".into();
        let west = Facts { accounts: vec![a], ..Default::default() };
        let found = compare(&[Site { name: "east", facts: &east }, Site { name: "west", facts: &west }]);
        assert_eq!(found[0].evidence, "east: jti J1; west: jti J2");
    }

    fn app_with(jti: &str) -> AccountFacts {
        AccountFacts { jti: jti.into(), ..app() }
    }
}
