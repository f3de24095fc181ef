//! The Permissions view: every rule of every identity with its source, and
//! the subject tester (which identities may publish / subscribe to a subject).

use serde::Serialize;

use super::accounts::AccountRow;
use super::conns::ConnRow;
use super::format;
use super::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::identity::effective;
use warden_core::identity::join;
use warden_core::identity::naming::Naming;
use warden_core::identity::permissions::{Decision, PermissionSet, Source};
use warden_core::identity::spiffe_authz::{AuthzDocument, DocumentShape};
use warden_core::nats::subject::Direction;

fn dir_word<S: serde::Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.short())
}

fn source_word<S: serde::Serializer>(src: &Source, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(src.label())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermRow {
    pub identity: String,
    pub user: String,
    pub account: String,
    /// Name of `account` when it is a key of a known account (display only).
    pub account_name: Option<String>,
    /// `pub` / `sub`, as the table says.
    #[serde(serialize_with = "dir_word")]
    pub dir: Direction,
    pub allow: bool,
    pub subject: String,
    /// `user JWT`, `grant`... as the table says.
    #[serde(serialize_with = "source_word")]
    pub source: Source,
    pub over_broad: bool,
    /// Where the identity's rules come from, in words (scoped key template,
    /// account defaults, response permission, mappings).
    pub origin: Vec<String>,
    #[serde(skip)]
    search: String,
}

impl Searchable for PermRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for PermRow {
    type Key = (String, Direction, bool, String, Source);
    fn key(&self) -> Self::Key {
        (self.identity.clone(), self.dir, self.allow, self.subject.clone(), self.source.clone())
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column { title: "IDENTITY", width: 26, priority: 0, cut: Cut::Middle, cell: |r, _| r.identity.clone() },
            Column { title: "DIR", width: 3, priority: 0, cut: Cut::End, cell: |r, _| r.dir.short().into() },
            Column {
                title: "EFFECT",
                width: 6,
                priority: 0,
                cut: Cut::End,
                cell: |r, _| if r.allow { "allow" } else { "deny" }.into(),
            },
            Column { title: "SUBJECT", width: 34, priority: 0, cut: Cut::Middle, cell: |r, _| r.subject.clone() },
            Column { title: "SOURCE", width: 15, priority: 1, cut: Cut::End, cell: |r, _| r.source.label().into() },
            Column {
                title: "FLAG",
                width: 10,
                priority: 1,
                cut: Cut::End,
                cell: |r, _| if r.over_broad { "OVER-BROAD".into() } else { String::new() },
            },
            Column {
                title: "ACCOUNT",
                width: 10,
                priority: 3,
                cut: Cut::Middle,
                cell: |r, _| format::principal(r.account_name.as_deref(), &r.account),
            },
        ]
    }
    fn detail_title(&self) -> String {
        format!("rule of {}", self.identity)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        let mut d = vec![
            ("Identity", self.identity.clone()),
            ("User", self.user.clone()),
            (
                "Account",
                match &self.account_name {
                    Some(n) => format!("{n} ({})", self.account),
                    None => self.account.clone(),
                },
            ),
            ("Direction", format!("{:?}", self.dir)),
            ("Effect", if self.allow { "allow" } else { "deny" }.into()),
            ("Subject", self.subject.clone()),
            ("Source", self.source.label().into()),
            ("Over-broad", if self.over_broad { "yes: reaches beyond one tentacle's subjects" } else { "no" }.into()),
        ];
        d.extend(self.origin.iter().map(|o| ("Origin", o.clone())));
        d
    }
}

/// One row per rule, identities in order.
pub fn rows(sets: &[PermissionSet]) -> Vec<PermRow> {
    sets.iter()
        .flat_map(|s| {
            let origin = origin(s);
            s.effective_rules().into_iter().map(move |r| {
                let search = format!("{} {} {} {}", s.identity, s.user, r.subject, r.source.label()).to_lowercase();
                PermRow {
                    identity: s.identity.clone(),
                    user: s.user.clone(),
                    account: s.account.clone(),
                    account_name: None,
                    dir: r.dir,
                    allow: r.allow,
                    over_broad: r.over_broad(),
                    subject: r.subject,
                    source: r.source,
                    origin: origin.clone(),
                    search,
                }
            })
        })
        .collect()
}

/// The set's notes, its response permission and its account's mappings.
fn origin(s: &PermissionSet) -> Vec<String> {
    let mut out = s.notes.clone();
    if let Some(r) = &s.response {
        out.push(format!("response permission ({}): {}", r.source.label(), r.describe()));
    }
    out.extend(s.mappings.iter().map(|m| format!("publish mapping {}", m.describe())));
    out
}

/// A NATS user name (`[naming] nats_user`, e.g. `tentacle.{ns}.{wf}`) or a
/// SPIFFE ID (`[naming] spiffe_id`, the user in SPIFFE mode) -> `ns/wf`, by
/// the configured templates; other names as they are.
pub fn identity_of_user(naming: &Naming, name: &str) -> String {
    let parsed = if join::is_spiffe_id(name) { naming.parse_spiffe_id(name) } else { naming.parse_nats_user(name) };
    parsed.map(|n| n.to_string()).unwrap_or_else(|| name.to_string())
}

/// Permission sets of the users connected with a JWT (one per user key),
/// as nats-server enforces them: the user JWT, or its scoped signing key's
/// template, or the account defaults, with the account's mappings
/// (`warden_core::identity::effective`, from the accounts' JWTs).
pub fn sets_from_conns(naming: &Naming, conns: &[ConnRow], accounts: &[AccountRow]) -> Vec<PermissionSet> {
    let mut seen = std::collections::BTreeMap::new();
    // Decoded and verified once per distinct token, in the worker.
    for c in conns {
        let Some(claims) = c.claims.as_deref() else { continue };
        if seen.contains_key(&claims.std.subject) {
            continue;
        }
        let name =
            if claims.std.name.is_empty() { c.info.authorized_user.to_string() } else { claims.std.name.clone() };
        let acc_key = effective::account_of(claims);
        let acc = accounts.iter().find(|a| a.key == acc_key || c.info.account == a.key);
        let mut set = effective::of_user(claims, acc.and_then(|a| a.claims.as_ref()), acc.is_some_and(|a| a.system));
        set.identity = identity_of_user(naming, &name);
        set.account = c.info.account.to_string();
        seen.insert(claims.std.subject.clone(), set);
    }
    let mut sets: Vec<PermissionSet> = seen.into_values().collect();
    sets.sort_by(|a, b| a.identity.cmp(&b.identity));
    sets
}

/// Permission sets of the SPIFFE-mode authorization document: scope
/// subjects (and deny lists) from the ConfigMap, explicit grants apart.
/// Entries are named by the configured `[naming] spiffe_id` template.
pub fn sets_from_authz(naming: &Naming, doc: &AuthzDocument) -> Vec<PermissionSet> {
    let account = match doc.shape {
        DocumentShape::AuthorizationBlock => "$G",
        DocumentShape::UsersArray => "",
    };
    let mut sets: Vec<PermissionSet> = doc
        .entries()
        .map(|e| {
            let mut set = PermissionSet {
                identity: identity_of_user(naming, &e.user),
                user: e.user.clone(),
                account: account.to_string(),
                ..Default::default()
            };
            let grants = |d: Direction| -> Vec<String> {
                e.grants.iter().filter(|g| g.direction == d).map(|g| g.subject.clone()).collect()
            };
            set.push(Direction::Publish, true, &e.publish_allow, Source::AuthzConfigMap);
            set.push(Direction::Publish, true, &grants(Direction::Publish), Source::Grant);
            set.push(Direction::Publish, false, &e.publish_deny, Source::AuthzConfigMap);
            set.push(Direction::Subscribe, true, &e.subscribe_allow, Source::AuthzConfigMap);
            set.push(Direction::Subscribe, true, &grants(Direction::Subscribe), Source::Grant);
            set.push(Direction::Subscribe, false, &e.subscribe_deny, Source::AuthzConfigMap);
            set
        })
        .collect();
    sets.sort_by(|a, b| a.identity.cmp(&b.identity));
    sets
}

/// The authorization document in a ConfigMap object under `key` (`None`
/// when the key is absent).
pub fn authz_doc_of(cm: &kube::api::DynamicObject, key: &str) -> Option<Result<AuthzDocument, String>> {
    let text = cm.data.get("data").and_then(|d| d.get(key)).and_then(|v| v.as_str())?;
    Some(AuthzDocument::parse(text).map_err(|e| e.to_string()))
}

/// JWT users and SPIFFE entries together, by identity.
pub fn merge_sets(mut a: Vec<PermissionSet>, b: Vec<PermissionSet>) -> Vec<PermissionSet> {
    a.extend(b);
    a.sort_by(|x, y| (&x.identity, &x.user).cmp(&(&y.identity, &y.user)));
    a
}

/// The subject tester's answer for one identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRow {
    pub identity: String,
    pub publish: Decision,
    pub subscribe: Decision,
    #[serde(skip)]
    search: String,
}

impl Searchable for TestRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for TestRow {
    type Key = String;
    fn key(&self) -> String {
        self.identity.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column { title: "IDENTITY", width: 26, priority: 0, cut: Cut::Middle, cell: |r, _| r.identity.clone() },
            Column { title: "PUB", width: 3, priority: 0, cut: Cut::End, cell: |r, _| yes_no(&r.publish) },
            Column { title: "SUB", width: 3, priority: 0, cut: Cut::End, cell: |r, _| yes_no(&r.subscribe) },
            Column { title: "WHY (PUB)", width: 30, priority: 1, cut: Cut::End, cell: |r, _| r.publish.explain() },
            Column { title: "WHY (SUB)", width: 30, priority: 2, cut: Cut::End, cell: |r, _| r.subscribe.explain() },
        ]
    }
    fn detail_title(&self) -> String {
        self.identity.clone()
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        vec![("Publish", self.publish.explain()), ("Subscribe", self.subscribe.explain())]
    }
}

fn yes_no(d: &Decision) -> String {
    if d.allowed() { "yes" } else { "no" }.into()
}

/// Every identity's decision for `subject`; those allowed either way first.
pub fn test_subject(sets: &[PermissionSet], subject: &str) -> Vec<TestRow> {
    let mut rows: Vec<TestRow> = sets
        .iter()
        .map(|s| TestRow {
            identity: s.identity.clone(),
            publish: s.decide(Direction::Publish, subject),
            subscribe: s.decide(Direction::Subscribe, subject),
            search: s.identity.to_lowercase(),
        })
        .collect();
    rows.sort_by_key(|r| (!(r.publish.allowed() || r.subscribe.allowed()), r.identity.clone()));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_spiffe_ids_map_to_identities_by_the_configured_naming() {
        let n = Naming::with_defaults("tentacular.local").unwrap();
        assert_eq!(identity_of_user(&n, "tentacle.tent-dev.hn-digest"), "tent-dev/hn-digest");
        assert_eq!(identity_of_user(&n, "tentacle.a.b.c"), "tentacle.a.b.c");
        assert_eq!(identity_of_user(&n, "sys"), "sys");
        let id = "spiffe://tentacular.local/ns/tent-dev/wf/hn-digest";
        assert_eq!(identity_of_user(&n, id), "tent-dev/hn-digest");
        // Another trust domain is not this naming's.
        let other = "spiffe://elsewhere/ns/tent-dev/wf/hn-digest";
        assert_eq!(identity_of_user(&n, other), other);
        // Configured templates, not the defaults.
        let f: warden_core::config::ConfigFile = toml::from_str(
            "[naming]\ntrust_domain = \"prod.example\"\nnats_user = \"wf-{namespace}-{workload}\"\n\
             spiffe_id = \"spiffe://{trust_domain}/k8s/{namespace}/{workload}\"\n",
        )
        .unwrap();
        let c = Naming::from_section(&f.naming).unwrap();
        assert_eq!(identity_of_user(&c, "wf-shop-cart"), "shop/cart");
        assert_eq!(identity_of_user(&c, "tentacle.shop.cart"), "tentacle.shop.cart");
        assert_eq!(identity_of_user(&c, "spiffe://prod.example/k8s/shop/cart"), "shop/cart");
        assert_eq!(identity_of_user(&c, id), id);
    }

    #[test]
    fn authz_entries_become_rules_with_their_source() {
        let naming = warden_core::identity::naming::Naming::with_defaults("td.local").unwrap();
        let a = warden_core::identity::naming::IdentityName::parse("tent-dev/a").unwrap();
        let id = naming.spiffe_id(&a);
        let mut doc = AuthzDocument::new(DocumentShape::UsersArray);
        doc.upsert_scope(&id, &naming.scope(&a)).unwrap();
        doc.grant(&id, Direction::Publish, "tentacular.tent-dev.b.in").unwrap();
        let sets = sets_from_authz(&naming, &doc);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].identity, "tent-dev/a");
        assert_eq!(sets[0].user, id);
        let rows = rows(&sets);
        let find = |subj: &str, dir: Direction| {
            rows.iter().find(|r| r.subject == subj && r.dir == dir).unwrap().source.clone()
        };
        assert_eq!(find("tentacular.tent-dev.a.>", Direction::Publish), Source::AuthzConfigMap);
        assert_eq!(find("_INBOX.>", Direction::Subscribe), Source::AuthzConfigMap);
        assert_eq!(find("tentacular.tent-dev.b.in", Direction::Publish), Source::Grant);
        assert!(sets[0].decide(Direction::Publish, "tentacular.tent-dev.b.in").allowed());
        assert!(!sets[0].decide(Direction::Publish, "tentacular.tent-dev.c.in").allowed());
        assert_eq!(identity_of_user(&naming, "spiffe://x/other"), "spiffe://x/other");
    }
}
