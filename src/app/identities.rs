//! The Identities view: one row per joined identity (the join and its
//! drift rules are `warden_core::identity::join`), with its columns and
//! detail. Rows are derived in `update` (`app::derive`) from the
//! connection, account and Kubernetes stores; `render` only draws.

use std::ops::Deref;

use serde::Serialize;

use super::accounts::AccountRow;
use super::conns::ConnRow;
use super::format;
use super::table::{Clock, Column, Cut, Searchable, TableRow, Tone};
use warden_core::identity::approve_plan::shown;
use warden_core::identity::join::{self, JoinedIdentity, KnownAccount, LiveConn};
use warden_core::identity::kube_facts::KubeFacts;
use warden_core::identity::naming::Naming;
use warden_core::identity::record::IdentityRecord;
use warden_core::nats::jwt::{self, KeyKind};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityRow {
    #[serde(flatten)]
    pub identity: JoinedIdentity,
    /// Why its latest authentication failed (the Violations feed's diagnosis).
    pub last_auth_failure: Option<String>,
    #[serde(skip)]
    search: String,
}

impl IdentityRow {
    pub fn new(identity: JoinedIdentity) -> IdentityRow {
        let i = &identity;
        let search =
            format!("{}/{} {} {} {} {}", i.namespace, i.workload, i.user, i.user_key, i.account, i.state.as_str())
                .to_lowercase();
        IdentityRow { identity, last_auth_failure: None, search }
    }
}

/// Most identities (or users) whose latest auth-failure cause is kept.
pub const AUTH_CAUSES_CAPACITY: usize = 4096;

/// Puts the latest auth-failure causes (by identity key `ns/wf` or user
/// name, or by user public key) on the rows they belong to.
pub fn apply_auth_causes(rows: &mut [IdentityRow], causes: &std::collections::HashMap<String, String>) {
    if causes.is_empty() {
        return;
    }
    for r in rows {
        let key = r.name().unwrap_or_else(|| r.user.clone());
        let found = causes.get(&key).or_else(|| causes.get(&r.user_key).filter(|_| !r.user_key.is_empty()));
        if let Some(c) = found {
            r.last_auth_failure = Some(c.clone());
        }
    }
}

impl Deref for IdentityRow {
    type Target = JoinedIdentity;
    fn deref(&self) -> &JoinedIdentity {
        &self.identity
    }
}

impl Searchable for IdentityRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

/// The rows of the joined model: live connections, `NatsIdentity` records,
/// accounts and the Kubernetes facts.
pub fn build_with(
    naming: &Naming,
    conns: &[ConnRow],
    records: &[IdentityRecord],
    accounts: &[AccountRow],
    kube: &KubeFacts,
    now: i64,
    expiring_within: i64,
) -> Vec<IdentityRow> {
    // JWTs arrive decoded and verified from the worker: a JWT that did not
    // decode there is left out here rather than decoded again per refresh.
    let live: Vec<LiveConn> = conns
        .iter()
        .filter(|c| c.info.jwt.is_empty() || c.claims.is_some())
        .map(|c| LiveConn {
            user: &c.info.authorized_user,
            account: &c.info.account,
            jwt: &c.info.jwt,
            claims: c.claims.as_deref(),
        })
        .collect();
    let accounts: Vec<KnownAccount> =
        accounts.iter().map(|a| KnownAccount { key: &a.key, name: &a.name, revoked: &a.revoked }).collect();
    join::join_with(naming, &live, records, &accounts, kube, now, expiring_within)
        .into_iter()
        .map(|mut j| {
            // A key that is not a user public key came from a tenant's
            // `spec.publicKey`: shown escaped, as data, and said so.
            if !j.user_key.is_empty() && jwt::check_public(&j.user_key, KeyKind::User).is_err() {
                let note = format!("spec.publicKey {} is not a valid user public key", shown(&j.user_key));
                j.reason = if j.reason.is_empty() { note } else { format!("{}; {note}", j.reason) };
                j.user_key = shown(&j.user_key);
            }
            IdentityRow::new(j)
        })
        .collect()
}

fn short(k: &str) -> String {
    format::short_key(k)
}

pub fn columns() -> Vec<Column<IdentityRow>> {
    vec![
        Column {
            title: "IDENTITY",
            width: 22,
            priority: 0,
            cut: Cut::Middle,
            cell: |r, _| r.name().unwrap_or_else(|| r.user.clone()),
        },
        Column { title: "STATE", width: 9, priority: 0, cut: Cut::End, cell: |r, _| r.state.as_str().into() },
        Column { title: "ACCOUNT", width: 8, priority: 2, cut: Cut::Middle, cell: |r, _| r.account.clone() },
        Column { title: "CONNS", width: 5, priority: 1, cut: Cut::End, cell: |r, _| r.connections.to_string() },
        Column {
            title: "EXPIRES",
            width: 13,
            priority: 1,
            cut: Cut::End,
            cell: |r, c| r.expires.map(|e| format::expiry(e, c.now_unix)).unwrap_or_else(|| "never".into()),
        },
        Column { title: "USER KEY", width: 13, priority: 4, cut: Cut::Middle, cell: |r, _| short(&r.user_key) },
        Column { title: "SCOPE", width: 26, priority: 2, cut: Cut::Middle, cell: |r, _| r.scope.clone() },
        Column { title: "NOTE", width: 20, priority: 3, cut: Cut::End, cell: |r, _| r.reason.clone() },
    ]
}

impl TableRow for IdentityRow {
    type Key = (String, String, String);
    fn key(&self) -> Self::Key {
        // SPIFFE-mode rows have no user key: their user (the SPIFFE ID) tells them apart.
        let user = if self.user_key.is_empty() { &self.user } else { &self.user_key };
        (self.namespace.clone(), self.workload.clone(), user.clone())
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn tone(&self, _clock: &Clock) -> Tone {
        use warden_core::identity::join::IdState;
        match self.state {
            IdState::Active => Tone::Normal,
            IdState::Pending => Tone::Muted,
            IdState::Expiring | IdState::Drifted => Tone::Warn,
            IdState::Expired | IdState::Denied | IdState::Revoked => Tone::Bad,
        }
    }
    fn detail_title(&self) -> String {
        format!("identity {}", self.name().unwrap_or_else(|| self.user.clone()))
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        let mut d = vec![
            ("User", self.user.clone()),
            ("User key", self.user_key.clone()),
            (
                "Account",
                if self.account_key.is_empty() || self.account_key == self.account {
                    self.account.clone()
                } else {
                    format!("{} ({})", self.account, self.account_key)
                },
            ),
            ("State", format!("{} {}", self.state.as_str(), self.reason)),
            ("Expires", self.expires.map(|e| format::moment(e, clock.now_unix)).unwrap_or_else(|| "never".into())),
            ("Connections", self.connections.to_string()),
            (
                "Seen",
                format!("{}{}", if self.live { "live " } else { "" }, if self.recorded { "recorded" } else { "" }),
            ),
        ];
        // One subject a line: long allow lists stay readable (the pane scrolls).
        d.extend(self.publish.iter().map(|p| ("Publish allow", p.clone())));
        d.extend(self.subscribe.iter().map(|p| ("Subscribe allow", p.clone())));
        if let Some(c) = &self.last_auth_failure {
            d.push(("Last auth failure", c.clone()));
        }
        if !self.claims_json.is_empty() {
            d.push(("Claims", format::claims_with_times(&self.claims_json, clock.now_unix)));
        }
        d
    }
}
