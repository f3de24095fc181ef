//! The joined identity model: every user seen live or recorded
//! (`NatsIdentity` resources), with scope, state, expiry and connection
//! count, and the drift rules that compare them with the account JWTs and
//! Kubernetes (SPIRE registrations).
//!
//! Both modes: a JWT-mode connection is joined by the `sub` (user public
//! key) of the user JWT it presented; a SPIFFE-mode connection
//! (`verify_and_map`) carries no JWT and its CONNZ `authorized_user` is the
//! SVID's URI SAN (nats-server `server/auth.go`: `checkClientTLSCertSubject`
//! hands `u.String()` of each URI SAN to the lookup in `s.users`, and the
//! matched user's name becomes `c.opts.Username`, which CONNZ reports through
//! `getRawAuthUser`). It is joined by that SPIFFE ID: to the `NatsIdentity`
//! whose `spec.spiffeId` is that exact string, else to the identity the
//! `[naming] spiffe_id` template parses out of it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::kube_facts::KubeFacts;
use super::naming::{IdentityName, Naming};
use super::record::{IdentityRecord, rfc3339_of};
use crate::nats::jwt::{self, UserClaims};

/// Shown as "Expiring" under this much time left, unless `[identity]
/// expiring_within` says otherwise (see [`join_with`]).
pub const EXPIRING: i64 = super::ttl::DEFAULT_EXPIRING_WITHIN.as_secs() as i64;

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
    #[serde(serialize_with = "crate::json_time::opt::serialize")]
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

/// One live connection as the join sees it: CONNZ `authorized_user` (a user
/// public key, a user name, or in SPIFFE mode the SVID's URI SAN), its
/// account (empty: the global account) and the user JWT it presented (empty
/// in SPIFFE mode).
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveConn<'a> {
    pub user: &'a str,
    pub account: &'a str,
    pub jwt: &'a str,
    /// `jwt` already decoded and verified (the console's worker does it once
    /// per distinct token); `None` decodes `jwt` here.
    pub claims: Option<&'a jwt::UserClaims>,
}

/// A SPIFFE ID (`spiffe://...`): a SPIFFE-mode user.
/// The start of a Drifted identity's reason when it is revoked but still
/// has live connections (the doctor finds these by it).
pub const REVOKED_CONNECTED: &str = "revoked but still connected";

pub fn is_spiffe_id(s: &str) -> bool {
    s.starts_with("spiffe://")
}

/// The SPIFFE ID a SPIFFE-mode `NatsIdentity` is about: `spec.spiffeId`,
/// else (mode `spiffe`) the one the naming template gives its workload.
/// `None` for a JWT-mode record.
pub fn record_spiffe_id(naming: &Naming, r: &IdentityRecord) -> Option<String> {
    if !r.spec.spiffe_id.is_empty() {
        return Some(r.spec.spiffe_id.clone());
    }
    (r.spec.mode == "spiffe").then(|| {
        let workload = if r.spec.workload.is_empty() { &r.name } else { &r.spec.workload };
        naming.spiffe_id(&IdentityName { namespace: r.namespace.clone(), workload: workload.clone() })
    })
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
    /// SPIFFE mode: the SPIFFE ID (the NATS user) this row is keyed by.
    spiffe_id: Option<String>,
    /// SPIFFE mode: the account CONNZ names (empty: the global account).
    account_name: String,
    /// Connected with a bearer token (CONNZ shows no JWT for it).
    bearer_live: bool,
}

/// A user public key: 56 characters starting with `U` (nkeys `PrefixByteUser`).
pub fn is_user_key(s: &str) -> bool {
    s.len() == 56 && s.starts_with('U') && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Joins live connections, `NatsIdentity` records and accounts, plus the
/// Kubernetes facts: a SPIRE registration with neither a
/// `NatsIdentity` nor a live user is Drifted, and so is an Active identity
/// whose ClusterSPIFFEID the SPIRE controller does not (fully) turn into
/// entries (another class, never reconciled, failed or masked entries).
pub fn join(
    naming: &Naming,
    conns: &[LiveConn],
    records: &[IdentityRecord],
    accounts: &[KnownAccount],
    kube: &KubeFacts,
    now: i64,
) -> Vec<JoinedIdentity> {
    join_with(naming, conns, records, accounts, kube, now, EXPIRING)
}

/// [`join`] with the "Expiring" threshold (seconds) of `[identity] expiring_within`.
pub fn join_with(
    naming: &Naming,
    conns: &[LiveConn],
    records: &[IdentityRecord],
    accounts: &[KnownAccount],
    kube: &KubeFacts,
    now: i64,
    expiring_within: i64,
) -> Vec<JoinedIdentity> {
    let mut rows = join_rows(naming, conns, records, accounts, now, expiring_within);
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
    rows.sort_by(|a, b| {
        (&a.namespace, &a.workload, &a.user_key, &a.user).cmp(&(&b.namespace, &b.workload, &b.user_key, &b.user))
    });
    rows
}

/// The account of a user JWT: `issuer_account` when a signing key issued
/// it, else the issuer (jwt v2 `UserClaims.IssuerAccount`).
fn account_of(u: &UserClaims) -> String {
    if u.nats.issuer_account.is_empty() { u.std.issuer.clone() } else { u.nats.issuer_account.clone() }
}

fn join_rows(
    naming: &Naming,
    conns: &[LiveConn],
    records: &[IdentityRecord],
    accounts: &[KnownAccount],
    now: i64,
    expiring_within: i64,
) -> Vec<JoinedIdentity> {
    let mut by_key: BTreeMap<String, Acc> = BTreeMap::new();
    // SPIFFE mode: by SPIFFE ID (the exact string nats-server matched).
    let mut by_spiffe: BTreeMap<String, Acc> = BTreeMap::new();
    let mut pending: Vec<IdentityRecord> = Vec::new();
    for c in conns {
        if c.claims.is_none() && c.jwt.is_empty() && is_user_key(c.user) {
            // A bearer-token user: nats-server (2.11.17+, 2.12.8+, 2.14+,
            // `server/monitor.go` `redactBearerJWT`) blanks its JWT in CONNZ,
            // but `authorized_user` is still its public key and `account`
            // its account: joined by key, named by its record (if any).
            let e = by_key.entry(c.user.to_string()).or_default();
            e.conns += 1;
            e.bearer_live = true;
            if e.account_key.is_empty() {
                e.account_key = c.account.to_string();
            }
            continue;
        }
        if c.claims.is_none() && c.jwt.is_empty() {
            if is_spiffe_id(c.user) {
                let e = by_spiffe.entry(c.user.to_string()).or_default();
                e.conns += 1;
                if e.account_name.is_empty() {
                    e.account_name = c.account.to_string();
                }
            }
            continue;
        }
        // Claims decoded by the caller are borrowed, and cloned only when
        // they become the identity's newest (10,000 connections of a few
        // hundred users clone a few hundred).
        let decoded;
        let u: &jwt::UserClaims = match c.claims {
            Some(u) => u,
            None => match jwt::decode_as::<jwt::User>(c.jwt) {
                Ok(u) => {
                    decoded = u;
                    &decoded
                }
                Err(_) => continue,
            },
        };
        let e = by_key.entry(u.std.subject.clone()).or_default();
        e.conns += 1;
        e.account_key = account_of(u);
        if e.claims.as_ref().is_none_or(|old| old.std.issued_at < u.std.issued_at) {
            e.claims = Some(u.clone());
        }
    }
    for r in records {
        let key = r.user_key().to_string();
        if key.is_empty() {
            match record_spiffe_id(naming, r) {
                Some(id) => by_spiffe.entry(id).or_default().record = Some(r.clone()),
                None => pending.push(r.clone()),
            }
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
                .and_then(|x| jwt::claims::revocation_time(x.revoked, &key));
            row(naming, &key, &a, revoked_at, acc_name(&a.account_key), (now, expiring_within))
        })
        .collect();
    for r in pending {
        let a = Acc { record: Some(r), ..Default::default() };
        rows.push(row(naming, "", &a, None, String::new(), (now, expiring_within)));
    }
    for (id, mut a) in by_spiffe {
        let account = std::mem::take(&mut a.account_name);
        a.spiffe_id = Some(id);
        rows.push(row(naming, "", &a, None, account, (now, expiring_within)));
    }
    rows
}

fn row(
    naming: &Naming,
    key: &str,
    a: &Acc,
    revoked_at: Option<i64>,
    account: String,
    (now, expiring_within): (i64, i64),
) -> JoinedIdentity {
    // SPIFFE mode: the NATS user is the SPIFFE ID itself.
    let user = a
        .spiffe_id
        .clone()
        .or_else(|| a.claims.as_ref().map(|c| c.std.name.clone()))
        .or_else(|| a.record.as_ref().map(|r| r.spec.user.clone()).filter(|u| !u.is_empty()))
        // A bearer-token user nothing else names: shown by its key.
        .unwrap_or_else(|| key.to_string());
    let parsed = match &a.spiffe_id {
        Some(id) => naming.parse_spiffe_id(id),
        None => naming.parse_nats_user(&user),
    };
    let (mut namespace, mut workload) = split_user(naming, &user);
    if a.spiffe_id.is_some() {
        (namespace, workload) = parsed.clone().map(|n| (n.namespace, n.workload)).unwrap_or_default();
    }
    if let Some(r) = &a.record {
        namespace = r.namespace.clone();
        workload = if r.spec.workload.is_empty() { r.name.clone() } else { r.spec.workload.clone() };
    }
    let expires = a.claims.as_ref().map(|c| c.std.expires).filter(|e| *e > 0);
    let iat = a.claims.as_ref().map(|c| c.std.issued_at).unwrap_or(0);
    let (publish, subscribe) = match (&a.claims, &a.record) {
        (Some(c), _) => (c.nats.permissions.publish.allow.clone(), c.nats.permissions.subscribe.allow.clone()),
        (None, Some(r)) => (r.spec.publish.clone(), r.spec.subscribe.clone()),
        // A live SPIFFE user with no record: the scope its name implies.
        (None, None) => match (&a.spiffe_id, parsed) {
            (Some(_), Some(name)) => {
                let s = naming.scope(&name);
                (s.publish_allow, s.subscribe_allow)
            }
            _ => (vec![], vec![]),
        },
    };
    let scope = publish.first().cloned().unwrap_or_default();
    let phase = a.record.as_ref().map(|r| r.phase().to_string());
    // Revoked for this JWT: the account's revocation time for its key (or
    // `*`) is at or after its `iat` (jwt v2 `account_claims.go` `isRevoked`).
    let revoked_jwt = revoked_at.filter(|t| *t >= iat);
    let revoked = revoked_jwt.is_some() || phase.as_deref() == Some("Revoked");
    let revoked_words = |t: i64| {
        if a.claims.is_some() {
            format!("revoked at {} (JWT issued at {})", rfc3339_of(t), rfc3339_of(iat))
        } else {
            format!("revoked at {}", rfc3339_of(t))
        }
    };
    let (state, reason) = if revoked && a.conns > 0 {
        (IdState::Drifted, format!("{REVOKED_CONNECTED} ({} connections)", a.conns))
    } else if revoked {
        let by = a
            .record
            .as_ref()
            .filter(|r| r.phase() == "Revoked")
            .map(|r| format!("by {} at {}", r.status.revoked_by, r.status.revoked_at));
        (
            IdState::Revoked,
            match (revoked_jwt, by) {
                (Some(t), Some(by)) => format!("{}; {by}", revoked_words(t)),
                (Some(t), None) => format!("{} in the account JWT", revoked_words(t)),
                (None, Some(by)) => by,
                (None, None) => String::new(),
            },
        )
    } else if phase.as_deref() == Some("Denied") {
        (IdState::Denied, a.record.as_ref().map(|r| r.status.message.clone()).unwrap_or_default())
    } else if phase.as_deref() == Some("Pending") && a.claims.is_none() {
        (IdState::Pending, "waiting for approval".into())
    } else if a.spiffe_id.is_some() && namespace.is_empty() {
        // Connected (so it has an authorization entry), but warden cannot
        // name it: shown on its own row, by its SPIFFE ID.
        (IdState::Active, "SPIFFE ID outside the [naming] spiffe_id template; no NatsIdentity".into())
    } else {
        let note = if a.bearer_live && a.claims.is_none() {
            "bearer token: CONNZ hides its JWT".to_string()
        } else {
            String::new()
        };
        match expires {
            Some(e) if e <= now => (IdState::Expired, note),
            Some(e) if e - now < expiring_within => (IdState::Expiring, note),
            _ => (IdState::Active, note),
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
    fn revocation_is_a_time_and_star_counts() {
        let ukey = format!("U{}", "A".repeat(55));
        let mut rec = record("shop", "cart", "Active", &ukey);
        rec.status.account_public_key = "ACC".into();
        // iat unknown (0): the key's old revocation and a later `*`: the later applies.
        let revoked = BTreeMap::from([(ukey.clone(), 5), ("*".to_string(), 10)]);
        let accounts = [KnownAccount { key: "ACC", name: "APP", revoked: &revoked }];
        let rows = join(&naming(), &[], std::slice::from_ref(&rec), &accounts, &KubeFacts::default(), 20);
        assert_eq!(rows[0].state, IdState::Revoked);
        assert!(rows[0].reason.contains("1970-01-01T00:00:10Z"), "{}", rows[0].reason);
    }

    #[test]
    fn a_bearer_token_connection_is_joined_by_its_key() {
        let ukey = format!("U{}", "B".repeat(55));
        let akey = format!("A{}", "C".repeat(55));
        // CONNZ blanks a bearer user's JWT (server/monitor.go redactBearerJWT).
        let conns = [LiveConn { user: &ukey, account: &akey, jwt: "", claims: None }];
        let rows = join(&naming(), &conns, &[], &[], &KubeFacts::default(), 0);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].user_key.as_str(), rows[0].account_key.as_str()), (ukey.as_str(), akey.as_str()));
        assert_eq!((rows[0].connections, rows[0].state), (1, IdState::Active));
        assert!(rows[0].reason.contains("bearer"), "{}", rows[0].reason);
    }

    #[test]
    fn a_registration_with_no_identity_is_drifted() {
        let facts = KubeFacts {
            creds_secrets: vec![],
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
            creds_secrets: vec![],
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

    const TD_ID: &str = "spiffe://example.org/ns/tent-dev/wf/hn-digest";

    fn spiffe_record(ns: &str, wl: &str, phase: &str, spiffe_id: &str) -> IdentityRecord {
        IdentityRecord {
            namespace: ns.into(),
            name: wl.into(),
            spec: IdentitySpec {
                workload: wl.into(),
                user: format!("tentacle.{ns}.{wl}"),
                publish: vec![format!("tentacular.{ns}.{wl}.>")],
                mode: "spiffe".into(),
                spiffe_id: spiffe_id.into(),
                ..Default::default()
            },
            status: IdentityStatus { phase: phase.into(), revoked_by: "ops".into(), ..Default::default() },
        }
    }

    fn spiffe_conn(user: &str) -> LiveConn<'_> {
        LiveConn { user, account: "", jwt: "", claims: None }
    }

    #[test]
    fn spiffe_connections_join_their_identity_by_spiffe_id() {
        // CONNZ authorized_user of a verify_and_map client is the SVID's URI
        // SAN (nats-server server/auth.go, checkClientTLSCertSubject).
        let other = "spiffe://example.org/ns/tent-dev/wf/summarizer";
        let conns = [spiffe_conn(TD_ID), spiffe_conn(TD_ID), spiffe_conn(other), spiffe_conn("tentacle.x.y")];
        let recs = [spiffe_record("tent-dev", "hn-digest", "Active", TD_ID)];
        let rows = join(&naming(), &conns, &recs, &[], &KubeFacts::default(), 0);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.name().unwrap(), r.user.as_str(), r.connections, r.live, r.recorded, r.state))
            .collect();
        assert_eq!(
            got,
            [
                ("tent-dev/hn-digest".to_string(), TD_ID, 2, true, true, IdState::Active),
                ("tent-dev/summarizer".to_string(), other, 1, true, false, IdState::Active),
            ]
        );
        // Without a record the scope is the one its name implies.
        assert_eq!(rows[1].scope, "tentacular.tent-dev.summarizer.>");
        assert_eq!(rows[0].scope, "tentacular.tent-dev.hn-digest.>");
    }

    #[test]
    fn a_revoked_spiffe_identity_still_connected_is_drifted() {
        let recs = [spiffe_record("tent-dev", "hn-digest", "Revoked", TD_ID)];
        let rows = join(&naming(), &[spiffe_conn(TD_ID)], &recs, &[], &KubeFacts::default(), 0);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].state, rows[0].connections), (IdState::Drifted, 1));
        assert!(rows[0].reason.contains("revoked but still connected (1 connections)"), "{}", rows[0].reason);
        // Gone: Revoked, by whom.
        let rows = join(&naming(), &[], &recs, &[], &KubeFacts::default(), 0);
        assert_eq!((rows[0].state, rows[0].live), (IdState::Revoked, false));
    }

    #[test]
    fn the_record_spiffe_id_wins_over_the_template() {
        // A record made under another template: its spec.spiffeId is the key.
        let odd = "spiffe://example.org/legacy/hn-digest";
        let mut rec = spiffe_record("tent-dev", "hn-digest", "Active", odd);
        let rows = join(&naming(), &[spiffe_conn(odd)], std::slice::from_ref(&rec), &[], &KubeFacts::default(), 0);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].name().as_deref(), rows[0].connections), (Some("tent-dev/hn-digest"), 1));
        // A SPIFFE-mode record without spec.spiffeId: the template's ID.
        rec.spec.spiffe_id.clear();
        let rows = join(&naming(), &[spiffe_conn(TD_ID)], &[rec], &[], &KubeFacts::default(), 0);
        assert_eq!((rows.len(), rows[0].connections, rows[0].recorded), (1, 1, true));
    }

    #[test]
    fn an_unknown_spiffe_id_is_its_own_row() {
        // Outside the template (or another trust domain): nats-server let it
        // in, so it is live with real permissions; warden cannot name it, so
        // it is shown by its SPIFFE ID, never folded into another identity.
        let stray = "spiffe://example.org/warden";
        let foreign = "spiffe://elsewhere.org/ns/tent-dev/wf/hn-digest";
        let rows = join(&naming(), &[spiffe_conn(stray), spiffe_conn(foreign)], &[], &[], &KubeFacts::default(), 0);
        assert_eq!(rows.len(), 2);
        for (r, id) in rows.iter().zip([foreign, stray]) {
            assert_eq!((r.name(), r.user.as_str(), r.connections, r.state), (None, id, 1, IdState::Active));
            assert!(r.reason.contains("outside the [naming] spiffe_id template"), "{}", r.reason);
        }
    }

    #[test]
    fn a_registration_whose_workload_is_connected_by_svid_is_not_drift() {
        let facts = KubeFacts {
            creds_secrets: vec![],
            registrations: vec![SpireRegistration {
                name: "tent-dev.hn-digest".into(),
                namespace: "tent-dev".into(),
                workload: "hn-digest".into(),
                problem: None,
            }],
        };
        let rows = join(&naming(), &[spiffe_conn(TD_ID)], &[], &[], &facts, 0);
        assert_eq!(rows.iter().map(|r| (r.state, r.connections)).collect::<Vec<_>>(), [(IdState::Active, 1)]);
    }
}
