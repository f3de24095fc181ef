//! SPIRE views: registration entries and agents (from the spire-server CLI)
//! and ClusterSPIFFEIDs (watched), as table rows.

use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;

use super::format;
use super::table::{Clock, Column, Searchable, TableRow};
use warden_core::spire::model::{Agent, Entry};

fn joined(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(",")
}

fn when(unix: i64, clock: &Clock) -> String {
    if unix <= 0 { "never".into() } else { format::expiry(unix, clock.now_unix) }
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
            Column { title: "SPIFFE ID", width: 52, priority: 0, cell: |r, _| r.entry.spiffe_id.uri() },
            Column {
                title: "SELECTORS",
                width: 30,
                priority: 2,
                cell: |r, _| joined(r.entry.selectors.iter().map(|s| s.to_string())),
            },
            Column { title: "X509 TTL", width: 8, priority: 1, cell: |r, _| format::duration(r.entry.x509_svid_ttl) },
            Column { title: "JWT TTL", width: 7, priority: 3, cell: |r, _| format::duration(r.entry.jwt_svid_ttl) },
            Column {
                title: "FLAGS",
                width: 6,
                priority: 2,
                cell: |r, _| {
                    format!("{}{}", if r.entry.admin { "A" } else { "" }, if r.entry.downstream { "D" } else { "" })
                },
            },
            Column { title: "EXPIRES", width: 12, priority: 1, cell: |r, c| when(r.entry.expires_at, c) },
            Column { title: "PARENT", width: 30, priority: 4, cell: |r, _| r.entry.parent_id.uri() },
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
            ("X.509 SVID TTL", format::duration(e.x509_svid_ttl)),
            ("JWT SVID TTL", format::duration(e.jwt_svid_ttl)),
            ("Admin", e.admin.to_string()),
            ("Downstream", e.downstream.to_string()),
            ("Expires", when(e.expires_at, clock)),
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
            Column { title: "AGENT", width: 54, priority: 0, cell: |r, _| r.agent.id.uri() },
            Column { title: "ATTESTATION", width: 12, priority: 2, cell: |r, _| r.agent.attestation_type.clone() },
            Column { title: "SVID EXPIRES", width: 16, priority: 0, cell: |r, c| when(r.agent.x509svid_expires_at, c) },
            Column {
                title: "BANNED",
                width: 6,
                priority: 1,
                cell: |r, _| if r.agent.banned { "BANNED".into() } else { String::new() },
            },
            Column { title: "SERIAL", width: 20, priority: 3, cell: |r, _| r.agent.x509svid_serial_number.clone() },
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
            ("SVID expires", when(a.x509svid_expires_at, clock)),
            ("Banned", a.banned.to_string()),
            ("Can reattest", a.can_reattest.to_string()),
        ];
        d.extend(a.selectors.iter().map(|s| ("Selector", s.to_string())));
        d
    }
}

/// A ClusterSPIFFEID (spire-controller-manager) with its status stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpiffeIdRow {
    pub name: String,
    pub template: String,
    pub pod_selector: String,
    pub namespace_selector: String,
    pub ttl: String,
    pub pods_selected: i64,
    pub entries_to_set: i64,
    pub entry_failures: i64,
    pub render_failures: i64,
    pub entries_masked: i64,
    #[serde(skip)]
    search: String,
}

fn selector_text(v: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(Value::Object(m)) = v.get("matchLabels") {
        parts.extend(m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())));
    }
    if let Some(Value::Array(exprs)) = v.get("matchExpressions") {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let op = e.get("operator").and_then(Value::as_str).unwrap_or_default();
            let vals: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            parts.push(format!("{key} {op} ({})", vals.join(",")));
        }
    }
    parts.join(",")
}

impl SpiffeIdRow {
    pub fn from_object(o: &DynamicObject) -> SpiffeIdRow {
        let spec = o.data.get("spec").cloned().unwrap_or(Value::Null);
        let stats = o.data.pointer("/status/stats").cloned().unwrap_or(Value::Null);
        let num = |k: &str| stats.get(k).and_then(Value::as_i64).unwrap_or(0);
        let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut r = SpiffeIdRow {
            name: o.metadata.name.clone().unwrap_or_default(),
            template: s("spiffeIDTemplate"),
            pod_selector: spec.get("podSelector").map(selector_text).unwrap_or_default(),
            namespace_selector: spec.get("namespaceSelector").map(selector_text).unwrap_or_default(),
            ttl: s("ttl"),
            pods_selected: num("podsSelected"),
            entries_to_set: num("entriesToSet"),
            entry_failures: num("entryFailures"),
            render_failures: num("podEntryRenderFailures"),
            entries_masked: num("entriesMasked"),
            search: String::new(),
        };
        r.search = format!("{} {} {} {}", r.name, r.template, r.pod_selector, r.namespace_selector).to_lowercase();
        r
    }
}

impl Searchable for SpiffeIdRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for SpiffeIdRow {
    type Key = String;
    fn key(&self) -> String {
        self.name.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column { title: "NAME", width: 20, priority: 0, cell: |r, _| r.name.clone() },
            Column { title: "PODS", width: 5, priority: 1, cell: |r, _| r.pods_selected.to_string() },
            Column { title: "ENTRIES", width: 7, priority: 1, cell: |r, _| r.entries_to_set.to_string() },
            Column {
                title: "FAILURES",
                width: 8,
                priority: 0,
                cell: |r, _| (r.entry_failures + r.render_failures).to_string(),
            },
            Column { title: "POD SELECTOR", width: 30, priority: 2, cell: |r, _| r.pod_selector.clone() },
            Column { title: "TEMPLATE", width: 40, priority: 3, cell: |r, _| r.template.clone() },
        ]
    }
    fn detail_title(&self) -> String {
        format!("ClusterSPIFFEID {}", self.name)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        vec![
            ("Name", self.name.clone()),
            ("SPIFFE ID template", self.template.clone()),
            ("Pod selector", self.pod_selector.clone()),
            ("Namespace selector", self.namespace_selector.clone()),
            ("TTL", self.ttl.clone()),
            ("Pods selected", self.pods_selected.to_string()),
            ("Entries to set", self.entries_to_set.to_string()),
            ("Entry failures", self.entry_failures.to_string()),
            ("Render failures", self.render_failures.to_string()),
            ("Entries masked", self.entries_masked.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_spiffe_id_row_reads_spec_and_stats() {
        let mut o = DynamicObject::new("tent-dev-hn-digest", &warden_core::kube::resources::cluster_spiffe_id());
        o.data = serde_json::json!({
            "spec": {"spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/hn-digest",
                     "podSelector": {"matchLabels": {"tentacular.io/workflow": "hn-digest"},
                                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}},
            "status": {"stats": {"podsSelected": 2, "entriesToSet": 2, "entryFailures": 1}}
        });
        let r = SpiffeIdRow::from_object(&o);
        assert_eq!(r.pods_selected, 2);
        assert_eq!(r.entry_failures, 1);
        assert_eq!(r.pod_selector, "tentacular.io/workflow=hn-digest,tier In (a,b)");
        let garbage = DynamicObject::new("x", &warden_core::kube::resources::cluster_spiffe_id());
        assert_eq!(SpiffeIdRow::from_object(&garbage).pods_selected, 0);
    }
}
