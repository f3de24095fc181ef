//! SPIRE views: registration entries and agents (from the spire-server CLI),
//! as table rows. The controller's objects are in `spire_objects`.

use serde::Serialize;

use super::format;
use super::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::spire::model::{Agent, Entry};

fn joined(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(",")
}

/// An entry's SVID TTL: 0 means the server's default (`default_x509_svid_ttl`
/// / `default_jwt_svid_ttl` of the server config; spire `pkg/server/api/entry`),
/// not zero seconds.
pub fn svid_ttl(secs: i64) -> String {
    if secs == 0 { "default".into() } else { format::duration(secs) }
}

fn when(unix: i64, clock: &Clock) -> String {
    if unix <= 0 { "never".into() } else { format::expiry(unix, clock.now_unix) }
}

/// A detail pane's time: RFC 3339 and relative.
fn when_long(unix: i64, clock: &Clock) -> String {
    if unix <= 0 { "never".into() } else { format::moment(unix, clock.now_unix) }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryRow {
    #[serde(flatten)]
    pub entry: Entry,
    #[serde(skip)]
    search: String,
}

impl EntryRow {
    pub fn new(entry: Entry) -> EntryRow {
        let search = format!(
            "{} {} {} {}",
            entry.id,
            entry.spiffe_id.uri(),
            entry.parent_id.uri(),
            joined(entry.selectors.iter().map(|s| s.to_string()))
        )
        .to_lowercase();
        EntryRow { entry, search }
    }
}

impl Searchable for EntryRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for EntryRow {
    type Key = String;
    fn key(&self) -> String {
        self.entry.id.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                title: "SPIFFE ID",
                width: 52,
                priority: 0,
                cut: Cut::Middle,
                cell: |r, _| r.entry.spiffe_id.uri(),
            },
            Column {
                title: "SELECTORS",
                width: 30,
                priority: 2,
                cut: Cut::End,
                cell: |r, _| joined(r.entry.selectors.iter().map(|s| s.to_string())),
            },
            Column {
                title: "X509 TTL",
                width: 8,
                priority: 1,
                cut: Cut::End,
                cell: |r, _| svid_ttl(r.entry.x509_svid_ttl),
            },
            Column {
                title: "JWT TTL",
                width: 7,
                priority: 3,
                cut: Cut::End,
                cell: |r, _| svid_ttl(r.entry.jwt_svid_ttl),
            },
            Column {
                title: "FLAGS",
                width: 6,
                priority: 2,
                cut: Cut::End,
                cell: |r, _| {
                    format!("{}{}", if r.entry.admin { "A" } else { "" }, if r.entry.downstream { "D" } else { "" })
                },
            },
            Column {
                title: "EXPIRES",
                width: 12,
                priority: 1,
                cut: Cut::End,
                cell: |r, c| when(r.entry.expires_at, c),
            },
            Column { title: "PARENT", width: 30, priority: 4, cut: Cut::Middle, cell: |r, _| r.entry.parent_id.uri() },
        ]
    }
    fn detail_title(&self) -> String {
        format!("entry {}", self.entry.id)
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        let e = &self.entry;
        let mut d = vec![
            ("ID", e.id.clone()),
            ("SPIFFE ID", e.spiffe_id.uri()),
            ("Parent", e.parent_id.uri()),
            ("X.509 SVID TTL", svid_ttl(e.x509_svid_ttl)),
            ("JWT SVID TTL", svid_ttl(e.jwt_svid_ttl)),
            ("Admin", e.admin.to_string()),
            ("Downstream", e.downstream.to_string()),
            ("Expires", when_long(e.expires_at, clock)),
            ("Revision", e.revision_number.to_string()),
            ("Hint", e.hint.clone()),
        ];
        d.extend(e.selectors.iter().map(|s| ("Selector", s.to_string())));
        d.extend(e.dns_names.iter().map(|n| ("DNS name", n.clone())));
        d.extend(e.federates_with.iter().map(|n| ("Federates with", n.clone())));
        d
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRow {
    #[serde(flatten)]
    pub agent: Agent,
    #[serde(skip)]
    search: String,
}

impl AgentRow {
    pub fn new(agent: Agent) -> AgentRow {
        let search =
            format!("{} {} {}", agent.id.uri(), agent.attestation_type, if agent.banned { "banned" } else { "" })
                .to_lowercase();
        AgentRow { agent, search }
    }
}

impl Searchable for AgentRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for AgentRow {
    type Key = String;
    fn key(&self) -> String {
        self.agent.id.uri()
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column { title: "AGENT", width: 54, priority: 0, cut: Cut::Middle, cell: |r, _| r.agent.id.uri() },
            Column {
                title: "ATTESTATION",
                width: 12,
                priority: 2,
                cut: Cut::End,
                cell: |r, _| r.agent.attestation_type.clone(),
            },
            Column {
                title: "SVID EXPIRES",
                width: 16,
                priority: 0,
                cut: Cut::End,
                cell: |r, c| when(r.agent.x509svid_expires_at, c),
            },
            Column {
                title: "BANNED",
                width: 6,
                priority: 1,
                cut: Cut::End,
                cell: |r, _| if r.agent.banned { "BANNED".into() } else { String::new() },
            },
            Column {
                title: "SERIAL",
                width: 20,
                priority: 3,
                cut: Cut::Middle,
                cell: |r, _| r.agent.x509svid_serial_number.clone(),
            },
        ]
    }
    fn detail_title(&self) -> String {
        format!("agent {}", self.agent.id.path)
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        let a = &self.agent;
        let mut d = vec![
            ("ID", a.id.uri()),
            ("Attestation", a.attestation_type.clone()),
            ("SVID serial", a.x509svid_serial_number.clone()),
            ("SVID expires", when_long(a.x509svid_expires_at, clock)),
            ("Banned", a.banned.to_string()),
            ("Can reattest", a.can_reattest.to_string()),
        ];
        d.extend(a.selectors.iter().map(|s| ("Selector", s.to_string())));
        d
    }
}
