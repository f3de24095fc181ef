//! The Identities view (JWT side of the joined model): every user seen live
//! (the JWT of each connection) or recorded (`NatsIdentity` resources), with
//! scope, state, expiry and connection count. Rows are derived in `update`
//! from the connection, account and Kubernetes stores; `render` only draws.

use std::collections::BTreeMap;

use serde::Serialize;

use super::accounts::AccountRow;
use super::conns::ConnRow;
use super::format;
use super::table::{Clock, Column, Searchable, TableRow};
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::record::IdentityRecord;
use warden_core::nats::jwt::{self, UserClaims};

/// Shown as "Expiring" under this much time left.
pub const EXPIRING: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IdState {
    Pending,
    Active,
    Expiring,
    Expired,
    Denied,
    Revoked,
    Drifted,
}

impl IdState {
    pub fn as_str(self) -> &'static str {
        match self {
            IdState::Pending => "Pending",
            IdState::Active => "Active",
            IdState::Expiring => "Expiring",
            IdState::Expired => "Expired",
            IdState::Denied => "Denied",
            IdState::Revoked => "Revoked",
            IdState::Drifted => "Drifted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityRow {
    /// From the record, or parsed from the user name (`[naming] nats_user`).
    pub namespace: String,
    pub workload: String,
    /// NATS user name.
    pub user: String,
    pub user_key: String,
    pub account: String,
    pub account_key: String,
    pub scope: String,
    pub state: IdState,
    /// Why Drifted / Denied / Revoked, in words.
    pub reason: String,
    pub expires: Option<i64>,
    pub connections: usize,
    pub live: bool,
    pub recorded: bool,
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
    /// The decoded claims (public), for the detail pane.
    #[serde(skip)]
    pub claims_json: String,
    #[serde(skip)]
    search: String,
}

impl Searchable for IdentityRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

fn split_user(naming: &Naming, user: &str) -> (String, String) {
    match naming.parse_nats_user(user) {
        Some(n) => (n.namespace, n.workload),
        None => (String::new(), String::new()),
    }
}

#[derive(Default)]
struct Acc {
    claims: Option<UserClaims>,
    conns: usize,
    account_key: String,
    record: Option<IdentityRecord>,
}

/// What Kubernetes says besides the `NatsIdentity` records: the JWTs in
/// creds Secrets (seeds are stripped before they get here) and the SPIRE
/// registrations (ClusterSPIFFEIDs) by workload.
#[derive(Debug, Clone, Default)]
pub struct KubeFacts {
    pub creds: Vec<CredsJwt>,
    pub registrations: Vec<SpireRegistration>,
}

/// The JWT inside one creds Secret, and the workload it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct CredsJwt {
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
    pub workload: String,
    pub jwt: String,
}

/// A ClusterSPIFFEID attributed to one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SpireRegistration {
    /// The ClusterSPIFFEID's name.
    pub name: String,
    pub namespace: String,
    pub workload: String,
}

impl CredsJwt {
    /// From a stripped creds Secret: the workload is the value of
    /// `creds_label` (key of `key=value` or bare key), else the Secret name
    /// without `-nats-creds`.
    pub fn from_object(o: &kube::api::DynamicObject, creds_label: &str) -> Option<CredsJwt> {
        let jwt = o.data.get("jwt")?.as_str()?.to_string();
        let name = o.metadata.name.clone().unwrap_or_default();
        let key = creds_label.split('=').next().unwrap_or(creds_label);
        let workload = o
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| name.strip_suffix("-nats-creds").map(str::to_string))?;
        Some(CredsJwt { namespace: o.metadata.namespace.clone().unwrap_or_default(), name, workload, jwt })
    }
}

impl SpireRegistration {
    /// The workload from `podSelector.matchLabels[workload_label]`; the
    /// namespace from `namespaceSelector.matchLabels["kubernetes.io/metadata.name"]`,
    /// else from the name `{namespace}-{workload}`.
    pub fn from_object(o: &kube::api::DynamicObject, workload_label: &str) -> Option<SpireRegistration> {
        let name = o.metadata.name.clone().unwrap_or_default();
        let spec = o.data.get("spec")?;
        let workload = spec.pointer("/podSelector/matchLabels")?.get(workload_label)?.as_str()?.to_string();
        let namespace = spec
            .pointer("/namespaceSelector/matchLabels")
            .and_then(|m| m.get("kubernetes.io/metadata.name"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| name.strip_suffix(&format!("-{workload}")).map(str::to_string))?;
        (!namespace.is_empty()).then_some(SpireRegistration { name, namespace, workload })
    }
}

/// Joins live connections, `NatsIdentity` records and accounts.
pub fn build(
    naming: &Naming,
    conns: &[ConnRow],
    records: &[IdentityRecord],
    accounts: &[AccountRow],
    now: i64,
) -> Vec<IdentityRow> {
    build_with(naming, conns, records, accounts, &KubeFacts::default(), now)
}

/// [`build`], plus the Kubernetes facts: a SPIRE registration with neither a
/// `NatsIdentity` nor a live user is Drifted, and so is an Active
/// `NatsIdentity` whose creds Secret holds a different JWT.
pub fn build_with(
    naming: &Naming,
    conns: &[ConnRow],
    records: &[IdentityRecord],
    accounts: &[AccountRow],
    kube: &KubeFacts,
    now: i64,
) -> Vec<IdentityRow> {
    let mut rows = build_rows(naming, conns, records, accounts, now);
    for row in rows.iter_mut().filter(|r| r.recorded && r.state != IdState::Drifted) {
        let Some(rec) = records
            .iter()
            .find(|x| x.namespace == row.namespace && (x.name == row.workload || x.spec.workload == row.workload))
        else {
            continue;
        };
        if rec.phase() != "Active" || rec.status.jwt.is_empty() {
            continue;
        }
        if let Some(c) = kube.creds.iter().find(|c| c.namespace == row.namespace && c.workload == row.workload)
            && c.jwt != rec.status.jwt
        {
            row.state = IdState::Drifted;
            row.reason = format!("creds Secret {}/{} holds a different JWT than the NatsIdentity", c.namespace, c.name);
        }
    }
    for reg in &kube.registrations {
        if rows.iter().any(|r| r.namespace == reg.namespace && r.workload == reg.workload) {
            continue;
        }
        let name = IdentityName { namespace: reg.namespace.clone(), workload: reg.workload.clone() };
        let user = naming.nats_user(&name);
        let search = format!("{name} {user} drifted").to_lowercase();
        rows.push(IdentityRow {
            namespace: reg.namespace.clone(),
            workload: reg.workload.clone(),
            user,
            user_key: String::new(),
            account: String::new(),
            account_key: String::new(),
            scope: naming.subject_scope(&name),
            state: IdState::Drifted,
            reason: format!("ClusterSPIFFEID {} but no NatsIdentity and no live user", reg.name),
            expires: None,
            connections: 0,
            live: false,
            recorded: false,
            publish: vec![],
            subscribe: vec![],
            claims_json: String::new(),
            search,
        });
    }
    rows.sort_by(|a, b| (&a.namespace, &a.workload, &a.user_key).cmp(&(&b.namespace, &b.workload, &b.user_key)));
    rows
}

fn build_rows(
    naming: &Naming,
    conns: &[ConnRow],
    records: &[IdentityRecord],
    accounts: &[AccountRow],
    now: i64,
) -> Vec<IdentityRow> {
    let mut by_key: BTreeMap<String, Acc> = BTreeMap::new();
    let mut pending: Vec<IdentityRecord> = Vec::new();
    for c in conns {
        if c.info.jwt.is_empty() {
            continue;
        }
        let Ok(u) = jwt::decode_as::<jwt::User>(&c.info.jwt) else { continue };
        let e = by_key.entry(u.std.subject.clone()).or_default();
        e.conns += 1;
        e.account_key =
            if u.nats.issuer_account.is_empty() { u.std.issuer.clone() } else { u.nats.issuer_account.clone() };
        if e.claims.as_ref().is_none_or(|old| old.std.issued_at < u.std.issued_at) {
            e.claims = Some(u);
        }
    }
    for r in records {
        let key = r.user_key().to_string();
        if key.is_empty() {
            pending.push(r.clone());
            continue;
        }
        let e = by_key.entry(key).or_default();
        if let Ok(u) = jwt::decode_as::<jwt::User>(&r.status.jwt)
            && e.claims.as_ref().is_none_or(|old| old.std.issued_at < u.std.issued_at)
        {
            e.account_key =
                if u.nats.issuer_account.is_empty() { u.std.issuer.clone() } else { u.nats.issuer_account.clone() };
            e.claims = Some(u);
        }
        if e.account_key.is_empty() {
            e.account_key = r.status.account_public_key.clone();
        }
        e.record = Some(r.clone());
    }
    let acc_name = |k: &str| accounts.iter().find(|a| a.key == k).map(|a| a.name.clone()).unwrap_or_default();
    let mut rows: Vec<IdentityRow> = by_key
        .into_iter()
        .map(|(key, a)| {
            let revoked_at = accounts
                .iter()
                .find(|x| x.key == a.account_key)
                .and_then(|x| x.revoked.get(&key).or(x.revoked.get("*")).copied());
            row(naming, &key, &a, revoked_at, acc_name(&a.account_key), now)
        })
        .collect();
    for r in pending {
        let a = Acc { record: Some(r), ..Default::default() };
        rows.push(row(naming, "", &a, None, String::new(), now));
    }
    rows.sort_by(|a, b| (&a.namespace, &a.workload, &a.user_key).cmp(&(&b.namespace, &b.workload, &b.user_key)));
    rows
}

fn row(naming: &Naming, key: &str, a: &Acc, revoked_at: Option<i64>, account: String, now: i64) -> IdentityRow {
    let user = a
        .claims
        .as_ref()
        .map(|c| c.std.name.clone())
        .or_else(|| a.record.as_ref().map(|r| r.spec.user.clone()))
        .unwrap_or_default();
    let (mut namespace, mut workload) = split_user(naming, &user);
    if let Some(r) = &a.record {
        namespace = r.namespace.clone();
        workload = if r.spec.workload.is_empty() { r.name.clone() } else { r.spec.workload.clone() };
    }
    let expires = a.claims.as_ref().map(|c| c.std.expires).filter(|e| *e > 0);
    let iat = a.claims.as_ref().map(|c| c.std.issued_at).unwrap_or(0);
    let (publish, subscribe) = match (&a.claims, &a.record) {
        (Some(c), _) => (c.nats.permissions.publish.allow.clone(), c.nats.permissions.subscribe.allow.clone()),
        (None, Some(r)) => (r.spec.publish.clone(), r.spec.subscribe.clone()),
        (None, None) => (vec![], vec![]),
    };
    let scope = publish.first().cloned().unwrap_or_default();
    let phase = a.record.as_ref().map(|r| r.phase().to_string());
    let revoked = revoked_at.is_some_and(|t| t >= iat) || phase.as_deref() == Some("Revoked");
    let (state, reason) = if revoked && a.conns > 0 {
        (IdState::Drifted, format!("revoked but still connected ({} connections)", a.conns))
    } else if revoked {
        (
            IdState::Revoked,
            a.record
                .as_ref()
                .map(|r| format!("by {} at {}", r.status.revoked_by, r.status.revoked_at))
                .unwrap_or_else(|| "in the account JWT".into()),
        )
    } else if phase.as_deref() == Some("Denied") {
        (IdState::Denied, a.record.as_ref().map(|r| r.status.message.clone()).unwrap_or_default())
    } else if phase.as_deref() == Some("Pending") && a.claims.is_none() {
        (IdState::Pending, "waiting for approval".into())
    } else {
        match expires {
            Some(e) if e <= now => (IdState::Expired, String::new()),
            Some(e) if e - now < EXPIRING => (IdState::Expiring, String::new()),
            _ => (IdState::Active, String::new()),
        }
    };
    let claims_json =
        a.claims.as_ref().map(|c| serde_json::to_string_pretty(c).unwrap_or_default()).unwrap_or_default();
    let search = format!("{namespace}/{workload} {user} {key} {account} {}", state.as_str()).to_lowercase();
    IdentityRow {
        namespace,
        workload,
        user,
        user_key: key.to_string(),
        account,
        account_key: a.account_key.clone(),
        scope,
        state,
        reason,
        expires,
        connections: a.conns,
        live: a.conns > 0,
        recorded: a.record.is_some(),
        publish,
        subscribe,
        claims_json,
        search,
    }
}

impl IdentityRow {
    /// `NAMESPACE/WORKLOAD`, when known.
    pub fn name(&self) -> Option<String> {
        (!self.namespace.is_empty() && !self.workload.is_empty())
            .then(|| format!("{}/{}", self.namespace, self.workload))
    }
}

fn short(k: &str) -> String {
    if k.len() > 12 { format!("{}…", &k[..11]) } else { k.to_string() }
}

pub fn columns() -> Vec<Column<IdentityRow>> {
    vec![
        Column { title: "IDENTITY", width: 22, priority: 0, cell: |r, _| r.name().unwrap_or_else(|| r.user.clone()) },
        Column { title: "STATE", width: 9, priority: 0, cell: |r, _| r.state.as_str().into() },
        Column { title: "ACCOUNT", width: 8, priority: 2, cell: |r, _| r.account.clone() },
        Column { title: "CONNS", width: 5, priority: 1, cell: |r, _| r.connections.to_string() },
        Column {
            title: "EXPIRES",
            width: 13,
            priority: 1,
            cell: |r, c| r.expires.map(|e| format::expiry(e, c.now_unix)).unwrap_or_else(|| "never".into()),
        },
        Column { title: "USER KEY", width: 13, priority: 3, cell: |r, _| short(&r.user_key) },
        Column { title: "SCOPE", width: 26, priority: 2, cell: |r, _| r.scope.clone() },
        Column { title: "NOTE", width: 20, priority: 3, cell: |r, _| r.reason.clone() },
    ]
}

impl TableRow for IdentityRow {
    type Key = (String, String, String);
    fn key(&self) -> Self::Key {
        (self.namespace.clone(), self.workload.clone(), self.user_key.clone())
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn detail_title(&self) -> String {
        format!("identity {}", self.name().unwrap_or_else(|| self.user.clone()))
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        let mut d = vec![
            ("User", self.user.clone()),
            ("User key", self.user_key.clone()),
            ("Account", format!("{} {}", self.account, self.account_key)),
            ("State", format!("{} {}", self.state.as_str(), self.reason)),
            ("Expires", self.expires.map(|e| format::expiry(e, clock.now_unix)).unwrap_or_else(|| "never".into())),
            ("Connections", self.connections.to_string()),
            (
                "Seen",
                format!("{}{}", if self.live { "live " } else { "" }, if self.recorded { "recorded" } else { "" }),
            ),
            ("Publish allow", self.publish.join(" ")),
            ("Subscribe allow", self.subscribe.join(" ")),
        ];
        if !self.claims_json.is_empty() {
            d.push(("Claims", self.claims_json.clone()));
        }
        d
    }
}

/// Rebuilds the Identities and Expiry panels from the connection, account
/// and Kubernetes stores (called from `update` when any of them changes).
pub fn rebuild(s: &mut super::state::AppState) {
    use warden_core::kube::resources::Watched;
    let records: Vec<IdentityRecord> =
        s.kube.objects(Watched::NatsIdentities).map(IdentityRecord::from_object).collect();
    let facts = KubeFacts {
        creds: s
            .kube
            .objects(Watched::CredsSecrets)
            .filter_map(|o| CredsJwt::from_object(o, &s.kube_section.creds_label))
            .collect(),
        registrations: s
            .kube
            .objects(Watched::ClusterSpiffeIds)
            .filter_map(|o| SpireRegistration::from_object(o, &s.kube_section.workload_label))
            .collect(),
    };
    let creds: Vec<(String, String)> = s
        .kube
        .objects(Watched::CredsSecrets)
        .filter_map(|o| {
            let jwt = o.data.get("jwt")?.as_str()?.to_string();
            Some((
                format!(
                    "{}/{}",
                    o.metadata.namespace.clone().unwrap_or_default(),
                    o.metadata.name.clone().unwrap_or_default()
                ),
                jwt,
            ))
        })
        .collect();
    let now = s.clock.now_unix;
    let ids = build_with(&s.naming, &s.conns.rows, &records, &s.accounts.rows, &facts, now);
    let exp = super::expiry::build(&ids, &s.accounts.rows, &creds, now);
    let at = s.conns.fetched_at.max(s.accounts.fetched_at).unwrap_or(now);
    s.identities.replace(ids, at);
    s.expiry.replace(exp, at);
}
