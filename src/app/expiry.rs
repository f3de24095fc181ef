//! The Expiry view: every user JWT (live, or minted into a `NatsIdentity`'s
//! `status.jwt`) and account JWT, and in SPIFFE mode each identity's SPIRE
//! entries (SVID TTL, entry expiry) and each SPIRE agent's SVID, sorted by
//! time left, with thresholds expired / <24h / <7d.

use std::collections::BTreeMap;

use serde::Serialize;

use super::accounts::AccountRow;
use super::format;
use super::identities::IdentityRow;
use super::servers::ServerRow;
use super::table::{Clock, Column, Cut, Searchable, TableRow, Tone};
use warden_core::identity::naming::Naming;
use warden_core::spire::model::{Agent, Entry};

pub const DAY: i64 = 24 * 3600;
pub const WEEK: i64 = 7 * DAY;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiryRow {
    /// "user", "account", "svid ttl" (a SPIRE entry's X.509-SVID lifetime),
    /// "entry" (a SPIRE entry's own expiry) or "agent svid".
    pub kind: &'static str,
    pub name: String,
    pub subject: String,
    /// Where it was seen (account name, SPIRE entry id, agent).
    pub source: String,
    /// `exp`, unix seconds; None: never expires (or a TTL row).
    #[serde(serialize_with = "super::format::rfc3339::opt::serialize")]
    pub expires: Option<i64>,
    /// "svid ttl" rows: the entry's `x509_svid_ttl` in seconds; 0 means the
    /// SPIRE server's default.
    pub ttl_seconds: Option<i64>,
    /// Seconds left when the rows were built (the view counts down from `state.clock`).
    pub left_seconds: Option<i64>,
    pub status: &'static str,
    #[serde(skip)]
    thresholds: Thresholds,
    #[serde(skip)]
    search: String,
}

impl Searchable for ExpiryRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

pub fn status(expires: Option<i64>, now: i64, th: Thresholds) -> &'static str {
    match expires {
        None => "never",
        Some(e) if e <= now => "expired",
        Some(e) if e - now < th.critical => "critical",
        Some(e) if e - now < th.warn => "warning",
        Some(_) => "ok",
    }
}

/// Time left under which a row is "warning" / "critical" (`[doctor]
/// expiry_warn` / `expiry_critical`; 7 days and 1 day by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub warn: i64,
    pub critical: i64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds { warn: WEEK, critical: DAY }
    }
}

impl From<&warden_core::doctor::facts::Policy> for Thresholds {
    fn from(p: &warden_core::doctor::facts::Policy) -> Thresholds {
        Thresholds { warn: p.warn_secs, critical: p.critical_secs }
    }
}

fn mk(
    kind: &'static str,
    name: String,
    subject: String,
    source: String,
    expires: Option<i64>,
    now: i64,
    th: Thresholds,
) -> ExpiryRow {
    let search = format!("{kind} {name} {subject} {source}").to_lowercase();
    ExpiryRow {
        kind,
        name,
        subject,
        source,
        expires,
        ttl_seconds: None,
        left_seconds: expires.map(|e| e - now),
        status: status(expires, now, th),
        thresholds: th,
        search,
    }
}

/// The LEFT cell: time left, the TTL of a "svid ttl" row (0 is the SPIRE
/// server's default, never "0s"), or "never".
fn left(r: &ExpiryRow, now: i64) -> String {
    match (r.ttl_seconds, r.expires) {
        (Some(0), _) => "ttl server default".into(),
        (Some(t), _) => format!("ttl {}", format::duration(t)),
        (None, Some(e)) => format::expiry(e, now),
        (None, None) => "never".into(),
    }
}

/// The STATUS cell: an SVID with a TTL is rotated by its agent.
fn status_of(r: &ExpiryRow, now: i64) -> &'static str {
    if r.ttl_seconds.is_some() { "rotates" } else { status(r.expires, now, r.thresholds) }
}

/// What SPIRE says (SPIFFE mode): entries and agents from `spire-server`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpireFacts<'a> {
    pub entries: &'a [Entry],
    pub agents: &'a [Agent],
}

/// User JWTs come from the identities (live connections and the
/// `NatsIdentity` `status.jwt`); SPIRE entries are shown for the entries
/// of SPIFFE identities (by the identity's SPIFFE ID, else the `[naming]
/// spiffe_id` template), agents all.
pub fn build(
    naming: &Naming,
    ids: &[IdentityRow],
    accounts: &[AccountRow],
    spire: SpireFacts,
    servers: &[ServerRow],
    now: i64,
    th: Thresholds,
) -> Vec<ExpiryRow> {
    let mk = |kind, name, subject, source, expires| mk(kind, name, subject, source, expires, now, th);
    let mut rows = Vec::new();
    // The operators the servers trust (an expired operator keeps running
    // servers going, but none can restart) and the servers' certificates.
    let mut operators: BTreeMap<String, (String, i64, Vec<String>)> = BTreeMap::new();
    for s in servers {
        for token in &s.operator_jwts {
            let Ok(op) = warden_core::nats::jwt::decode_as::<warden_core::nats::jwt::Operator>(token) else { continue };
            let e = operators.entry(op.std.subject.clone()).or_insert((op.std.name.clone(), op.std.expires, vec![]));
            e.2.push(s.name.clone());
        }
        if let Some(na) = s.tls_cert_not_after {
            rows.push(mk("server tls", s.name.clone(), s.id.clone(), "VARZ tls_cert_not_after".into(), Some(na)));
        }
    }
    for (key, (name, exp, by)) in operators {
        rows.push(mk("operator", name, key, format!("trusted by {}", by.join(", ")), (exp > 0).then_some(exp)));
    }
    for a in accounts {
        rows.push(mk("account", a.name.clone(), a.key.clone(), "operator".into(), a.expires));
    }
    for i in ids {
        if i.user_key.is_empty() {
            continue;
        }
        let name = i.name().unwrap_or_else(|| i.user.clone());
        rows.push(mk("user", name, i.user_key.clone(), i.account.clone(), i.expires));
    }
    // SPIFFE ID -> identity name, from the joined identities first.
    let by_id: BTreeMap<&str, String> = ids
        .iter()
        .filter(|i| i.user_key.is_empty() && warden_core::identity::join::is_spiffe_id(&i.user))
        .filter_map(|i| Some((i.user.as_str(), i.name()?)))
        .collect();
    for e in spire.entries {
        let id = e.spiffe_id.uri();
        let Some(name) = by_id.get(id.as_str()).cloned().or_else(|| naming.parse_spiffe_id(&id).map(|n| n.to_string()))
        else {
            continue;
        };
        let source = format!("entry {}", e.id);
        let mut ttl = mk("svid ttl", name.clone(), id.clone(), source.clone(), None);
        ttl.ttl_seconds = Some(e.x509_svid_ttl.max(0));
        ttl.status = "rotates";
        rows.push(ttl);
        if e.expires_at > 0 {
            rows.push(mk("entry", name, id, source, Some(e.expires_at)));
        }
    }
    for a in spire.agents {
        let exp = (a.x509svid_expires_at > 0).then_some(a.x509svid_expires_at);
        let id = a.id.uri();
        let source = format!("agent {}", a.attestation_type);
        rows.push(mk("agent svid", id.clone(), a.x509svid_serial_number.clone(), source, exp));
    }
    rows.sort_by_key(|r| (r.expires.unwrap_or(i64::MAX), r.ttl_seconds.is_some(), r.kind, r.name.clone()));
    rows
}

pub fn columns() -> Vec<Column<ExpiryRow>> {
    vec![
        Column { title: "LEFT", width: 18, priority: 0, cut: Cut::End, cell: |r, c| left(r, c.now_unix) },
        Column { title: "STATUS", width: 7, priority: 0, cut: Cut::End, cell: |r, c| status_of(r, c.now_unix).into() },
        Column { title: "KIND", width: 10, priority: 1, cut: Cut::End, cell: |r, _| r.kind.into() },
        Column { title: "NAME", width: 24, priority: 0, cut: Cut::End, cell: |r, _| r.name.clone() },
        Column { title: "SOURCE", width: 20, priority: 2, cut: Cut::End, cell: |r, _| r.source.clone() },
        Column { title: "SUBJECT", width: 20, priority: 3, cut: Cut::Middle, cell: |r, _| r.subject.clone() },
    ]
}

impl TableRow for ExpiryRow {
    type Key = (&'static str, String, String);
    fn key(&self) -> Self::Key {
        (self.kind, self.subject.clone(), self.source.clone())
    }
    fn tone(&self, clock: &Clock) -> Tone {
        match status_of(self, clock.now_unix) {
            "expired" => Tone::Bad,
            "<24h" => Tone::Warn,
            _ => Tone::Normal,
        }
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn detail_title(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        vec![
            ("Kind", self.kind.into()),
            ("Name", self.name.clone()),
            ("Subject", self.subject.clone()),
            ("Source", self.source.clone()),
            ("Expires", left(self, clock.now_unix)),
            ("Status", status_of(self, clock.now_unix).into()),
        ]
    }
}
