//! The Violations view's rows: one per violation (the live list) and one
//! per (identity, subject, kind) group, with their columns.

use serde::Serialize;

use crate::app::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::violations::store::Group;
use warden_core::violations::{Violation, ViolationKind};

/// Minutes in a group's sparkline.
pub const SPARK_MINUTES: usize = 15;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViolationRow {
    #[serde(skip)]
    pub seq: u64,
    /// When warden received it (unix seconds).
    #[serde(serialize_with = "crate::app::format::rfc3339::serialize")]
    pub received: i64,
    /// The identity it was attributed to (`ns/wf`, or `user:ACC/name`,
    /// `client:name`, `addr:host` when no known identity matched).
    pub identity: String,
    pub known: bool,
    #[serde(flatten)]
    pub violation: Violation,
    #[serde(skip)]
    pub(super) search: String,
}

impl ViolationRow {
    pub fn new(seq: u64, received: i64, identity: String, violation: Violation) -> ViolationRow {
        let v = &violation;
        let search = [
            identity.as_str(),
            v.subject.as_deref().unwrap_or(""),
            v.kind.as_str(),
            v.server.as_deref().unwrap_or(""),
            v.user.as_deref().unwrap_or(""),
            v.account_name.as_deref().or(v.account.as_deref()).unwrap_or(""),
            v.client_name.as_deref().unwrap_or(""),
            v.cause.as_ref().map(|c| c.kind.as_str()).unwrap_or(""),
        ]
        .join(" ")
        .to_lowercase();
        ViolationRow { seq, received, known: is_known(&identity), identity, violation, search }
    }
}

/// A key from a known identity (not one of the attribution fallbacks).
pub fn is_known(identity: &str) -> bool {
    !(identity.starts_with("user:")
        || identity.starts_with("client:")
        || identity.starts_with("addr:")
        || identity == "unknown")
}

impl Searchable for ViolationRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

fn hms(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_default()
}

/// The diagnosis of a failed authentication (`auth_diagnosis`), in words.
pub fn cause_text(v: &Violation) -> String {
    v.cause.as_ref().map(|c| c.text()).unwrap_or_default()
}

fn account_of(v: &Violation) -> String {
    if unauthenticated_global(v) {
        return "-".into();
    }
    crate::app::format::principal(v.account_name.as_deref(), v.account.as_deref().unwrap_or_default())
}

/// A failed authentication reported in `$G`: the server's placeholder for
/// a client it never bound to an account (operator mode has no `$G` at
/// all), not the account the client belongs to.
fn unauthenticated_global(v: &Violation) -> bool {
    v.kind == ViolationKind::AuthFailed && v.account.as_deref() == Some("$G") && v.account_name.is_none()
}

pub fn live_columns() -> Vec<Column<ViolationRow>> {
    vec![
        Column { title: "TIME", width: 8, priority: 0, cut: Cut::End, cell: |r, _| hms(r.received) },
        Column { title: "KIND", width: 16, priority: 0, cut: Cut::End, cell: |r, _| r.violation.kind.as_str().into() },
        Column { title: "IDENTITY", width: 24, priority: 0, cut: Cut::Middle, cell: |r, _| r.identity.clone() },
        Column {
            title: "SUBJECT",
            width: 26,
            priority: 0,
            cut: Cut::Middle,
            cell: |r, _| r.violation.subject.clone().unwrap_or_else(|| "-".into()),
        },
        Column {
            title: "SERVER",
            width: 10,
            priority: 1,
            cut: Cut::End,
            cell: |r, _| r.violation.server.clone().unwrap_or_default(),
        },
        Column { title: "ACCOUNT", width: 10, priority: 2, cut: Cut::Middle, cell: |r, _| account_of(&r.violation) },
        Column {
            title: "CLIENT",
            width: 14,
            priority: 3,
            cut: Cut::End,
            cell: |r, _| r.violation.client_name.clone().unwrap_or_default(),
        },
        Column {
            title: "REASON",
            width: 20,
            priority: 3,
            cut: Cut::End,
            cell: |r, _| r.violation.reason.clone().unwrap_or_default(),
        },
        // Last, so the report prints the diagnosis whole.
        Column { title: "CAUSE", width: 30, priority: 1, cut: Cut::End, cell: |r, _| cause_text(&r.violation) },
    ]
}

impl TableRow for ViolationRow {
    type Key = u64;
    fn key(&self) -> u64 {
        self.seq
    }
    fn columns() -> Vec<Column<Self>> {
        live_columns()
    }
    fn detail_title(&self) -> String {
        format!("{} by {}", self.violation.kind.as_str(), self.identity)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        let v = &self.violation;
        let o = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
        vec![
            ("Kind", v.kind.as_str().into()),
            ("Identity", format!("{}{}", self.identity, if self.known { "" } else { " (no known identity)" })),
            ("Subject", o(&v.subject)),
            ("Queue", o(&v.queue)),
            ("Reason", o(&v.reason)),
            ("Cause", v.cause.as_ref().map(|c| c.text()).unwrap_or_else(|| "-".into())),
            ("User", o(&v.user)),
            (
                "Account",
                if unauthenticated_global(v) {
                    "$G: the server's placeholder (the client never authenticated)".into()
                } else {
                    o(&v.account)
                },
            ),
            ("Account name", o(&v.account_name)),
            ("Client name", o(&v.client_name)),
            ("Client address", o(&v.client_addr)),
            ("Client id", v.cid.map(|c| c.to_string()).unwrap_or_else(|| "-".into())),
            ("Server", o(&v.server)),
            ("Server id", o(&v.server_id)),
            ("Server time", o(&v.at)),
            ("Received", hms(self.received)),
            ("Keys", "i: permissions of the identity  +: grant  X: revoke".into()),
        ]
    }
}

/// One (identity, subject, kind) group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    pub identity: String,
    pub subject: String,
    pub kind: ViolationKind,
    pub count: u64,
    #[serde(serialize_with = "crate::app::format::rfc3339::serialize")]
    pub first_seen: i64,
    #[serde(serialize_with = "crate::app::format::rfc3339::serialize")]
    pub last_seen: i64,
    /// Per-minute counts, oldest first, ending with the current minute.
    pub per_minute: Vec<u32>,
    /// Of the latest violation in the group.
    pub server: String,
    pub user: String,
    pub account: String,
    pub client: String,
    /// The diagnosis of the latest auth failure in the group.
    pub cause: String,
    #[serde(skip)]
    spark: String,
    #[serde(skip)]
    pub(super) search: String,
}

impl GroupRow {
    /// About ten allocations per group: the grouped view rebuilds up to
    /// `group_capacity` of these at most once a second.
    pub fn from_group(g: &Group, now: i64) -> GroupRow {
        let minute = (now.max(0) as u64) / 60;
        let per_minute: Vec<u32> = (0..SPARK_MINUTES as u64)
            .rev()
            .map(|back| minute.checked_sub(back).map_or(0, |m| g.history.at(m)))
            .collect();
        let l = &g.last;
        let server = l.server.clone().unwrap_or_default();
        let mut search = String::with_capacity(g.key.identity.len() + g.key.subject.len() + server.len() + 24);
        for part in [g.key.identity.as_str(), g.key.subject.as_str(), g.key.kind.as_str(), server.as_str()] {
            search.push_str(part);
            search.push(' ');
        }
        search.make_ascii_lowercase();
        GroupRow {
            identity: g.key.identity.clone(),
            subject: g.key.subject.clone(),
            kind: g.key.kind,
            count: g.count,
            first_seen: g.first_seen as i64,
            last_seen: g.last_seen as i64,
            spark: sparkline(&per_minute),
            per_minute,
            server,
            user: l.user.clone().unwrap_or_default(),
            account: l.account_name.clone().or_else(|| l.account.clone()).unwrap_or_default(),
            client: l.client_name.clone().unwrap_or_default(),
            cause: cause_text(l),
            search,
        }
    }
}

/// `▁▂▅█` from counts (blank for a zero minute).
pub fn sparkline(v: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = v.iter().copied().max().unwrap_or(0);
    v.iter()
        .map(|&n| {
            if n == 0 || max == 0 {
                ' '
            } else {
                BARS[((u64::from(n) * 8).div_ceil(u64::from(max)) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

impl Searchable for GroupRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

pub fn group_columns() -> Vec<Column<GroupRow>> {
    vec![
        Column { title: "IDENTITY", width: 24, priority: 0, cut: Cut::Middle, cell: |r, _| r.identity.clone() },
        Column { title: "KIND", width: 16, priority: 0, cut: Cut::End, cell: |r, _| r.kind.as_str().into() },
        Column {
            title: "SUBJECT",
            width: 26,
            priority: 0,
            cut: Cut::Middle,
            cell: |r, _| if r.subject.is_empty() { "-".into() } else { r.subject.clone() },
        },
        Column { title: "COUNT", width: 7, priority: 0, cut: Cut::End, cell: |r, _| r.count.to_string() },
        Column { title: "LAST 15 MIN", width: 15, priority: 1, cut: Cut::End, cell: |r, _| r.spark.clone() },
        Column { title: "FIRST", width: 8, priority: 2, cut: Cut::End, cell: |r, _| hms(r.first_seen) },
        Column { title: "LAST", width: 8, priority: 1, cut: Cut::End, cell: |r, _| hms(r.last_seen) },
        Column { title: "SERVER", width: 10, priority: 3, cut: Cut::End, cell: |r, _| r.server.clone() },
    ]
}

impl TableRow for GroupRow {
    type Key = (String, String, ViolationKind);
    fn key(&self) -> Self::Key {
        (self.identity.clone(), self.subject.clone(), self.kind)
    }
    fn columns() -> Vec<Column<Self>> {
        group_columns()
    }
    fn detail_title(&self) -> String {
        format!("{} x {}", self.identity, self.kind.as_str())
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        vec![
            ("Identity", self.identity.clone()),
            ("Kind", self.kind.as_str().into()),
            ("Subject", if self.subject.is_empty() { "-".into() } else { self.subject.clone() }),
            ("Count", self.count.to_string()),
            ("First seen", hms(self.first_seen)),
            ("Last seen", hms(self.last_seen)),
            ("Per minute", self.per_minute.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")),
            ("Last server", self.server.clone()),
            ("Last user", self.user.clone()),
            ("Last account", self.account.clone()),
            ("Last client", self.client.clone()),
            ("Last cause", if self.cause.is_empty() { "-".into() } else { self.cause.clone() }),
            ("Keys", "i: permissions of the identity  +: grant  X: revoke".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0, 1, 2, 4]), " ▂▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
    }
}
