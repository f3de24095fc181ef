//! The Accounts view's data: every account of an operator-mode deployment
//! (CLAIMS.LIST + CLAIMS.LOOKUP + ACCOUNTZ), decoded.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::format;
use super::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::nats::account_reach::{self, Reach};
use warden_core::nats::accounts::{self, AccountRecord, ServerView};
use warden_core::nats::jwt::AccountClaims;
use warden_core::nats::mapping;
use warden_core::nats::sys::SysClient;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountRow {
    pub name: String,
    pub key: String,
    pub issuer: String,
    pub signing_keys: Vec<String>,
    pub system: bool,
    pub jetstream: bool,
    /// `mem/disk/streams/consumers` limits, `-1` unlimited.
    pub jetstream_limits: String,
    /// Number of revoked user keys.
    pub revocations: usize,
    pub connections: i64,
    /// `exp` (unix seconds), None: never.
    #[serde(serialize_with = "super::format::rfc3339::opt::serialize")]
    pub expires: Option<i64>,
    #[serde(serialize_with = "super::format::rfc3339::serialize")]
    pub issued_at: i64,
    /// Servers disagree about the JWT.
    pub drift: Option<String>,
    pub servers: Vec<ServerView>,
    pub error: Option<String>,
    /// Imports and exports (cross-account reach), activation expiry.
    pub reach: Vec<Reach>,
    /// Subject mappings, `src -> dst (weight) [cluster]`.
    pub mappings: Vec<String>,
    /// Scoped signing keys: `key (role): template`.
    pub scoped_keys: Vec<String>,
    /// Revoked keys with their times (for the Identities view).
    #[serde(skip)]
    pub revoked: BTreeMap<String, i64>,
    /// The claims as JSON (public), for the detail pane.
    #[serde(skip)]
    pub claims_json: String,
    /// The decoded claims (scoped keys, defaults, mappings for the permission model).
    #[serde(skip)]
    pub claims: Option<AccountClaims>,
    #[serde(skip)]
    search: String,
}

impl AccountRow {
    pub fn from_record(r: &AccountRecord) -> AccountRow {
        let mut row = AccountRow {
            key: r.id.clone(),
            system: r.is_system,
            connections: r.connections(),
            drift: r.drift.clone(),
            servers: r.servers.clone(),
            error: r.decode_error.clone(),
            ..Default::default()
        };
        if let Some(c) = &r.claims {
            let js = &c.nats.limits.jetstream;
            row.name = c.std.name.clone();
            row.issuer = c.std.issuer.clone();
            row.signing_keys = c.nats.signing_key_ids().map(str::to_string).collect();
            row.jetstream = c.nats.limits.jetstream_enabled();
            row.jetstream_limits = if row.jetstream {
                format!(
                    "mem {} disk {} streams {} consumers {}",
                    js.mem_storage, js.disk_storage, js.streams, js.consumer
                )
            } else {
                "disabled".into()
            };
            row.revocations = c.nats.revocations.len();
            row.revoked = c.nats.revocations.clone();
            row.expires = (c.std.expires > 0).then_some(c.std.expires);
            row.issued_at = c.std.issued_at;
            row.claims_json = serde_json::to_string_pretty(c).unwrap_or_default();
            row.reach = account_reach::of_account(&c.nats);
            row.mappings = mapping::from_account_extra(&c.nats.extra).iter().map(|m| m.describe()).collect();
            row.scoped_keys = c
                .nats
                .signing_key_ids()
                .filter_map(|k| warden_core::identity::scope_template::scope_of(c, k))
                .map(|s| format!("{}: {}", s.label(), s.summary()))
                .collect();
            row.claims = Some(c.clone());
        }
        row.search = format!("{} {} {}", row.name, row.key, row.drift.as_deref().unwrap_or("")).to_lowercase();
        row
    }
}

impl Searchable for AccountRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

/// Every account, system account first then by name, plus per-server errors.
pub async fn fetch(sys: &SysClient) -> Result<(Vec<AccountRow>, Vec<String>)> {
    fetch_with(sys, &Default::default()).await
}

/// [`fetch`], also looking up `known` account ids (from connections or
/// NatsIdentity records): an expired account is in no `CLAIMS.LIST`.
pub async fn fetch_with(
    sys: &SysClient,
    known: &std::collections::BTreeSet<String>,
) -> Result<(Vec<AccountRow>, Vec<String>)> {
    let (records, errors) = accounts::fetch_all(sys, known).await?;
    let mut rows: Vec<AccountRow> = records.iter().map(AccountRow::from_record).collect();
    rows.sort_by(|a, b| b.system.cmp(&a.system).then(a.name.cmp(&b.name)).then(a.key.cmp(&b.key)));
    Ok((rows, errors))
}

/// `imports/exports`, `!` when an import's activation has expired.
fn reach_counts(r: &AccountRow, now: i64) -> String {
    let imports = r.reach.iter().filter(|x| x.side == "import").count();
    let expired = r.reach.iter().any(|x| x.expired(now));
    format!("{imports}/{}{}", r.reach.len() - imports, if expired { "!" } else { "" })
}

fn short(k: &str) -> String {
    super::format::short_key(k)
}

pub fn columns() -> Vec<Column<AccountRow>> {
    vec![
        Column {
            title: "NAME",
            width: 14,
            priority: 0,
            cut: Cut::End,
            cell: |r, _| if r.system { format!("{} (system)", r.name) } else { r.name.clone() },
        },
        Column { title: "KEY", width: 13, priority: 1, cut: Cut::Middle, cell: |r, _| short(&r.key) },
        Column { title: "CONNS", width: 5, priority: 1, cut: Cut::End, cell: |r, _| r.connections.to_string() },
        Column {
            title: "JS",
            width: 3,
            priority: 2,
            cut: Cut::End,
            cell: |r, _| if r.jetstream { "on" } else { "-" }.into(),
        },
        Column {
            title: "SIGNERS",
            width: 7,
            priority: 3,
            cut: Cut::End,
            cell: |r, _| r.signing_keys.len().to_string(),
        },
        Column { title: "REVOKED", width: 7, priority: 2, cut: Cut::End, cell: |r, _| r.revocations.to_string() },
        Column { title: "IMP/EXP", width: 7, priority: 3, cut: Cut::End, cell: |r, c| reach_counts(r, c.now_unix) },
        Column {
            title: "EXPIRES",
            width: 13,
            priority: 2,
            cut: Cut::End,
            cell: |r, c| r.expires.map(|e| format::expiry(e, c.now_unix)).unwrap_or_else(|| "never".into()),
        },
        Column { title: "ISSUER", width: 13, priority: 4, cut: Cut::Middle, cell: |r, _| short(&r.issuer) },
        Column {
            title: "DRIFT",
            width: 20,
            priority: 1,
            cut: Cut::End,
            cell: |r, _| r.drift.as_ref().map(|d| format!("⚠ {d}")).or(r.error.clone()).unwrap_or_default(),
        },
    ]
}

impl TableRow for AccountRow {
    type Key = String;
    fn key(&self) -> String {
        self.key.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn detail_title(&self) -> String {
        format!("account {}", self.name)
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        let mut d = vec![
            ("Name", self.name.clone()),
            ("Key", self.key.clone()),
            ("Issuer", self.issuer.clone()),
            ("System", if self.system { "yes".into() } else { "no".into() }),
            ("JetStream", self.jetstream_limits.clone()),
            ("Revocations", self.revocations.to_string()),
            ("Connections", self.connections.to_string()),
            ("Expires", self.expires.map(|e| format::moment(e, clock.now_unix)).unwrap_or_else(|| "never".into())),
        ];
        for k in &self.signing_keys {
            d.push(("Signing key", k.clone()));
        }
        // Revocation is a time: JWTs for the key (or `*`, every user) issued
        // at or before it are refused (jwt v2 `account_claims.go` `isRevoked`).
        for (k, t) in &self.revoked {
            let who = if k == "*" { "* (every user)".to_string() } else { k.clone() };
            d.push((
                "Revoked",
                format!("{who}: JWTs issued at or before {}", warden_core::identity::record::rfc3339_of(*t)),
            ));
        }
        for s in &self.scoped_keys {
            d.push(("Scoped key", s.clone()));
        }
        for x in &self.reach {
            d.push((if x.side == "import" { "Import" } else { "Export" }, x.describe(clock.now_unix)));
        }
        for m in &self.mappings {
            d.push(("Mapping", m.clone()));
        }
        for s in &self.servers {
            d.push(("Server", format!("{}: {} conns, jti {}", s.server, s.connections, short(&s.jti))));
        }
        if let Some(x) = &self.drift {
            d.push(("DRIFT", x.clone()));
        }
        if let Some(e) = &self.error {
            d.push(("Error", e.clone()));
        }
        d
    }
}
