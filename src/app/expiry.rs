//! The Expiry view: every user and account JWT (and the JWTs in credentials
//! Secrets) sorted by time left, with thresholds expired / <24h / <7d.

use serde::Serialize;

use super::accounts::AccountRow;
use super::format;
use super::identities::IdentityRow;
use super::table::{Clock, Column, Searchable, TableRow};
use warden_core::nats::jwt;

pub const DAY: i64 = 24 * 3600;
pub const WEEK: i64 = 7 * DAY;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiryRow {
    /// "user", "account" or "creds".
    pub kind: &'static str,
    pub name: String,
    pub subject: String,
    /// Where it was seen (account name, Secret namespace/name).
    pub source: String,
    /// `exp`, unix seconds; None: never expires.
    pub expires: Option<i64>,
    /// Seconds left when the rows were built (the view counts down from `state.clock`).
    pub left_seconds: Option<i64>,
    pub status: &'static str,
    #[serde(skip)]
    search: String,
}

impl Searchable for ExpiryRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

pub fn status(expires: Option<i64>, now: i64) -> &'static str {
    match expires {
        None => "never",
        Some(e) if e <= now => "expired",
        Some(e) if e - now < DAY => "<24h",
        Some(e) if e - now < WEEK => "<7d",
        Some(_) => "ok",
    }
}

fn mk(kind: &'static str, name: String, subject: String, source: String, expires: Option<i64>, now: i64) -> ExpiryRow {
    let search = format!("{kind} {name} {subject} {source}").to_lowercase();
    ExpiryRow {
        kind,
        name,
        subject,
        source,
        expires,
        left_seconds: expires.map(|e| e - now),
        status: status(expires, now),
        search,
    }
}

/// `(namespace/name, jwt)` of each credentials Secret.
pub fn build(ids: &[IdentityRow], accounts: &[AccountRow], creds: &[(String, String)], now: i64) -> Vec<ExpiryRow> {
    let mut rows = Vec::new();
    for a in accounts {
        rows.push(mk("account", a.name.clone(), a.key.clone(), "operator".into(), a.expires, now));
    }
    for i in ids {
        if i.user_key.is_empty() {
            continue;
        }
        let name = i.name().unwrap_or_else(|| i.user.clone());
        rows.push(mk("user", name, i.user_key.clone(), i.account.clone(), i.expires, now));
    }
    for (secret, token) in creds {
        if let Ok(u) = jwt::decode_as::<jwt::User>(token) {
            let exp = (u.std.expires > 0).then_some(u.std.expires);
            rows.push(mk("creds", u.std.name.clone(), u.std.subject.clone(), format!("secret {secret}"), exp, now));
        }
    }
    rows.sort_by_key(|r| (r.expires.unwrap_or(i64::MAX), r.kind, r.name.clone()));
    rows
}

pub fn columns() -> Vec<Column<ExpiryRow>> {
    vec![
        Column {
            title: "LEFT",
            width: 18,
            priority: 0,
            cell: |r, c| r.expires.map(|e| format::expiry(e, c.now_unix)).unwrap_or_else(|| "never".into()),
        },
        Column { title: "STATUS", width: 7, priority: 0, cell: |r, c| status(r.expires, c.now_unix).into() },
        Column { title: "KIND", width: 7, priority: 1, cell: |r, _| r.kind.into() },
        Column { title: "NAME", width: 24, priority: 0, cell: |r, _| r.name.clone() },
        Column { title: "SOURCE", width: 20, priority: 2, cell: |r, _| r.source.clone() },
        Column { title: "SUBJECT", width: 20, priority: 3, cell: |r, _| r.subject.clone() },
    ]
}

impl TableRow for ExpiryRow {
    type Key = (&'static str, String, String);
    fn key(&self) -> Self::Key {
        (self.kind, self.subject.clone(), self.source.clone())
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
            ("Expires", self.expires.map(|e| format::expiry(e, clock.now_unix)).unwrap_or_else(|| "never".into())),
            ("Status", status(self.expires, clock.now_unix).into()),
        ]
    }
}
