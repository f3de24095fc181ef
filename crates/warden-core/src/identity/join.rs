//! The joined identity model (JWT side): every user seen live (the JWT of
//! each connection) or recorded (`NatsIdentity` resources), with scope,
//! state, expiry and connection count, and the drift rules that compare
//! them with the account JWTs and Kubernetes (SPIRE
//! registrations).

use std::collections::BTreeMap;

use serde::Serialize;

use super::kube_facts::KubeFacts;
use super::naming::{IdentityName, Naming};
use super::record::IdentityRecord;
use crate::nats::jwt::{self, UserClaims};

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
pub struct JoinedIdentity {
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
}

impl JoinedIdentity {
    /// `NAMESPACE/WORKLOAD`, when known.
    pub fn name(&self) -> Option<String> {
        (!self.namespace.is_empty() && !self.workload.is_empty())
            .then(|| format!("{}/{}", self.namespace, self.workload))
    }
}

/// What the join needs of an account: its key, name and revoked user keys
/// (`revocations` of the account JWT: key, or `*` for all, -> unix time).
#[derive(Debug, Clone, Copy)]
pub struct KnownAccount<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub revoked: &'a BTreeMap<String, i64>,
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

/// Joins live connections, `NatsIdentity` records and accounts, plus the
/// Kubernetes facts: a SPIRE registration with neither a
/// `NatsIdentity` nor a live user is Drifted, and so is an Active identity
/// whose ClusterSPIFFEID the SPIRE controller does not (fully) turn into
/// entries (another class, never reconciled, failed or masked entries).
pub fn join(
    naming: &Naming,
    conn_jwts: &[&str],
    records: &[IdentityRecord],
    accounts: &[KnownAccount],
    kube: &KubeFacts,
    now: i64,
) -> Vec<JoinedIdentity> {
    let mut rows = join_rows(naming, conn_jwts, records, accounts, now);
    for reg in &kube.registrations {
        if let Some(row) = rows.iter_mut().find(|r| r.namespace == reg.namespace && r.workload == reg.workload) {
            if let Some(why) = &reg.problem
                && matches!(row.state, IdState::Active | IdState::Expiring)
            {
                row.state = IdState::Drifted;
                row.reason = format!("ClusterSPIFFEID {}: {why}", reg.name);
            }
            continue;
        }
        let name = IdentityName { namespace: reg.namespace.clone(), workload: reg.workload.clone() };
        let user = naming.nats_user(&name);
        rows.push(JoinedIdentity {
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
        });
    }
    rows.sort_by(|a, b| (&a.namespace, &a.workload, &a.user_key).cmp(&(&b.namespace, &b.workload, &b.user_key)));
    rows
}

/// The account of a user JWT: `issuer_account` when a signing key issued
/// it, else the issuer (jwt v2 `UserClaims.IssuerAccount`).
fn account_of(u: &UserClaims) -> String {
    if u.nats.issuer_account.is_empty() { u.std.issuer.clone() } else { u.nats.issuer_account.clone() }
}

fn join_rows(
    naming: &Naming,
    conn_jwts: &[&str],
    records: &[IdentityRecord],
    accounts: &[KnownAccount],
    now: i64,
) -> Vec<JoinedIdentity> {
    let mut by_key: BTreeMap<String, Acc> = BTreeMap::new();
    let mut pending: Vec<IdentityRecord> = Vec::new();
    for token in conn_jwts {
        if token.is_empty() {
            continue;
        }
        let Ok(u) = jwt::decode_as::<jwt::User>(token) else { continue };
        let e = by_key.entry(u.std.subject.clone()).or_default();
        e.conns += 1;
        e.account_key = account_of(&u);
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
            e.account_key = account_of(&u);
            e.claims = Some(u);
        }
        if e.account_key.is_empty() {
            e.account_key = r.status.account_public_key.clone();
        }
        e.record = Some(r.clone());
    }
    let acc_name = |k: &str| accounts.iter().find(|a| a.key == k).map(|a| a.name.to_string()).unwrap_or_default();
    let mut rows: Vec<JoinedIdentity> = by_key
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
    rows
}

fn row(naming: &Naming, key: &str, a: &Acc, revoked_at: Option<i64>, account: String, now: i64) -> JoinedIdentity {
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
    JoinedIdentity {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::kube_facts::SpireRegistration;
    use crate::identity::record::{IdentitySpec, IdentityStatus};

    fn naming() -> Naming {
        Naming::with_defaults("example.org").unwrap()
    }

    fn record(ns: &str, name: &str, phase: &str, user_key: &str) -> IdentityRecord {
        IdentityRecord {
            namespace: ns.into(),
            name: name.into(),
            spec: IdentitySpec { publish: vec![format!("x.{ns}.{name}.>")], ..Default::default() },
            status: IdentityStatus {
                phase: phase.into(),
                user_public_key: user_key.into(),
                message: "not in this cluster".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn records_without_a_jwt_keep_their_phase() {
        let recs = [record("shop", "cart", "Pending", ""), record("shop", "orders", "Denied", "")];
        let rows = join(&naming(), &[], &recs, &[], &KubeFacts::default(), 0);
        let states: Vec<_> = rows.iter().map(|r| (r.name().unwrap(), r.state, r.reason.as_str())).collect();
        assert_eq!(
            states,
            [
                ("shop/cart".to_string(), IdState::Pending, "waiting for approval"),
                ("shop/orders".to_string(), IdState::Denied, "not in this cluster"),
            ]
        );
        assert_eq!(rows[0].scope, "x.shop.cart.>");
    }

    #[test]
    fn a_revocation_of_every_key_revokes_a_recorded_user() {
        let ukey = format!("U{}", "A".repeat(55));
        let mut rec = record("shop", "cart", "Active", &ukey);
        rec.status.account_public_key = "ACC".into();
        let revoked = BTreeMap::from([("*".to_string(), 10)]);
        let accounts = [KnownAccount { key: "ACC", name: "APP", revoked: &revoked }];
        let rows = join(&naming(), &[], &[rec], &accounts, &KubeFacts::default(), 20);
        assert_eq!((rows[0].state, rows[0].account.as_str()), (IdState::Revoked, "APP"));
    }

    #[test]
    fn a_registration_with_no_identity_is_drifted() {
        let facts = KubeFacts {
            registrations: vec![SpireRegistration {
                name: "shop-cart".into(),
                namespace: "shop".into(),
                workload: "cart".into(),
                problem: None,
            }],
        };
        let rows = join(&naming(), &[], &[], &[], &facts, 0);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].name().as_deref(), rows[0].state), (Some("shop/cart"), IdState::Drifted));
        assert!(rows[0].reason.contains("ClusterSPIFFEID shop-cart"), "{}", rows[0].reason);
        // A NatsIdentity for the workload is not drift.
        let rows = join(&naming(), &[], &[record("shop", "cart", "Pending", "")], &[], &facts, 0);
        assert_eq!(rows.iter().map(|r| r.state).collect::<Vec<_>>(), [IdState::Pending]);
    }

    #[test]
    fn an_unserved_registration_drifts_an_active_identity() {
        let ukey = format!("U{}", "A".repeat(55));
        let reg = |problem: Option<&str>| KubeFacts {
            registrations: vec![SpireRegistration {
                name: "shop.cart".into(),
                namespace: "shop".into(),
                workload: "cart".into(),
                problem: problem.map(str::to_string),
            }],
        };
        let rec = record("shop", "cart", "Active", &ukey);
        let rows = join(&naming(), &[], std::slice::from_ref(&rec), &[], &reg(None), 0);
        assert_eq!(rows[0].state, IdState::Active);
        let rows = join(&naming(), &[], &[rec], &[], &reg(Some("className \"x\": not served")), 0);
        assert_eq!(rows[0].state, IdState::Drifted);
        assert_eq!(rows[0].reason, "ClusterSPIFFEID shop.cart: className \"x\": not served");
        // A denied identity stays denied: the registration does not matter.
        let rows = join(&naming(), &[], &[record("shop", "cart", "Denied", "")], &[], &reg(Some("x")), 0);
        assert_eq!(rows[0].state, IdState::Denied);
    }
}
