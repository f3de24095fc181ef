//! Several sites at once: what one site has and another lacks. A workload
//! failing over to a site without its NatsIdentity, its authorization
//! entry or its account is locked out there.

use std::collections::BTreeMap;

use super::codes;
use super::facts::Facts;
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
    let records = per_site(sites, |f| {
        f.records
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
    let authz = per_site(sites, |f| {
        f.authz_entries.iter().map(|e| (e.user.clone(), format!("pub {:?} sub {:?}", e.publish, e.subscribe))).collect()
    });
    diff("authorization entry", &authz, &mut out);
    let accounts = per_site(sites, |f| {
        f.accounts.iter().filter(|a| !a.system).map(|a| (format!("{} ({})", a.name, a.key), a.jti.clone())).collect()
    });
    diff("account", &accounts, &mut out);
    out
}

type PerSite<'a> = Vec<(&'a str, BTreeMap<String, String>)>;

fn per_site<'a>(sites: &[Site<'a>], of: impl Fn(&Facts) -> Vec<(String, String)>) -> PerSite<'a> {
    sites.iter().map(|s| (s.name, of(s.facts).into_iter().collect())).collect()
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
    use super::super::facts::{AccountFacts, AuthzEntryFacts};
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
}
