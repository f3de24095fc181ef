//! The spire-controller-manager objects (watched): ClusterSPIFFEIDs with
//! their status stats and ClusterStaticEntries, as table rows, each with
//! whether the configured controller (`[spire]`) turns it into entries.

use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;

use super::table::{Clock, Column, Cut, Searchable, TableRow};
use warden_core::config::file::SpireSection;
use warden_core::spire::cluster_spiffe_id::{ClusterSpiffeId, ClusterStaticEntry};

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

fn or_default(ttl: &str) -> String {
    if ttl.is_empty() { "default".into() } else { ttl.to_string() }
}

/// `OK`, or `Drifted` when the controller makes no (or not every) entry.
fn state(problem: &Option<String>) -> &'static str {
    if problem.is_some() { "Drifted" } else { "OK" }
}

/// A ClusterSPIFFEID with its stats and what the controller does with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpiffeIdRow {
    #[serde(flatten)]
    pub object: ClusterSpiffeId,
    pub pod_selector_text: String,
    pub namespace_selector_text: String,
    /// Why the controller makes no (or not every) entry of it.
    pub problem: Option<String>,
    #[serde(skip)]
    search: String,
}

impl SpiffeIdRow {
    pub fn new(object: ClusterSpiffeId, spire: &SpireSection) -> SpiffeIdRow {
        let problem = object.controller_problem(spire);
        let pod_selector_text = selector_text(&object.pod_selector);
        let namespace_selector_text = selector_text(&object.namespace_selector);
        let search = format!(
            "{} {} {} {} {} {}",
            object.name,
            object.class_name,
            object.template,
            pod_selector_text,
            namespace_selector_text,
            problem.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        SpiffeIdRow { object, pod_selector_text, namespace_selector_text, problem, search }
    }

    pub fn from_object(o: &DynamicObject, spire: &SpireSection) -> SpiffeIdRow {
        SpiffeIdRow::new(ClusterSpiffeId::from_object(o), spire)
    }

    fn stat(&self, f: impl Fn(&warden_core::spire::cluster_spiffe_id::Stats) -> i64) -> String {
        self.object.stats.as_ref().map(|s| f(s).to_string()).unwrap_or_else(|| "-".into())
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
        self.object.name.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column { title: "NAME", width: 20, priority: 0, cut: Cut::End, cell: |r, _| r.object.name.clone() },
            Column { title: "STATE", width: 7, priority: 0, cut: Cut::End, cell: |r, _| state(&r.problem).into() },
            Column { title: "CLASS", width: 18, priority: 2, cut: Cut::End, cell: |r, _| r.object.class_name.clone() },
            Column { title: "PODS", width: 5, priority: 1, cut: Cut::End, cell: |r, _| r.stat(|s| s.pods_selected) },
            Column {
                title: "ENTRIES",
                width: 7,
                priority: 1,
                cut: Cut::End,
                cell: |r, _| r.stat(|s| s.entries_to_set),
            },
            Column {
                title: "FAILURES",
                width: 8,
                priority: 1,
                cut: Cut::End,
                cell: |r, _| r.stat(|s| s.entry_failures + s.pod_entry_render_failures),
            },
            Column { title: "MASKED", width: 6, priority: 3, cut: Cut::End, cell: |r, _| r.stat(|s| s.entries_masked) },
            Column {
                title: "FALLBACK",
                width: 8,
                priority: 4,
                cut: Cut::End,
                cell: |r, _| if r.object.fallback { "fallback".into() } else { String::new() },
            },
            Column {
                title: "NOTE",
                width: 40,
                priority: 2,
                cut: Cut::End,
                cell: |r, _| r.problem.clone().unwrap_or_default(),
            },
            Column {
                title: "POD SELECTOR",
                width: 30,
                priority: 3,
                cut: Cut::End,
                cell: |r, _| r.pod_selector_text.clone(),
            },
            Column { title: "TEMPLATE", width: 40, priority: 4, cut: Cut::End, cell: |r, _| r.object.template.clone() },
        ]
    }
    fn detail_title(&self) -> String {
        format!("ClusterSPIFFEID {}", self.object.name)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        let o = &self.object;
        let mut d = vec![
            ("Name", o.name.clone()),
            ("State", state(&self.problem).into()),
            ("Class", if o.class_name.is_empty() { "(none)".into() } else { o.class_name.clone() }),
            ("SPIFFE ID template", o.template.clone()),
            ("Pod selector", self.pod_selector_text.clone()),
            ("Namespace selector", self.namespace_selector_text.clone()),
            ("X.509 SVID TTL", or_default(&o.ttl)),
            ("JWT SVID TTL", or_default(&o.jwt_ttl)),
            ("Fallback", o.fallback.to_string()),
            ("Admin", o.admin.to_string()),
            ("Downstream", o.downstream.to_string()),
            ("Hint", o.hint.clone()),
        ];
        if let Some(p) = &self.problem {
            d.push(("Problem", p.clone()));
        }
        match &o.stats {
            None => d.push(("Stats", "none: no controller has reconciled it".into())),
            Some(s) => d.extend([
                ("Namespaces selected", s.namespaces_selected.to_string()),
                ("Namespaces ignored", s.namespaces_ignored.to_string()),
                ("Pods selected", s.pods_selected.to_string()),
                ("Entries to set", s.entries_to_set.to_string()),
                ("Entry failures", s.entry_failures.to_string()),
                ("Render failures", s.pod_entry_render_failures.to_string()),
                ("Entries masked", s.entries_masked.to_string()),
            ]),
        }
        d
    }
}

/// A ClusterStaticEntry and whether the controller set it in SPIRE.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StaticEntryRow {
    #[serde(flatten)]
    pub object: ClusterStaticEntry,
    pub problem: Option<String>,
    #[serde(skip)]
    search: String,
}

impl StaticEntryRow {
    pub fn from_object(o: &DynamicObject, spire: &SpireSection) -> StaticEntryRow {
        let object = ClusterStaticEntry::from_object(o);
        let problem = object.controller_problem(spire);
        let search = format!(
            "{} {} {} {} {}",
            object.name,
            object.class_name,
            object.spiffe_id,
            object.parent_id,
            object.selectors.join(",")
        )
        .to_lowercase();
        StaticEntryRow { object, problem, search }
    }
}

impl Searchable for StaticEntryRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

impl TableRow for StaticEntryRow {
    type Key = String;
    fn key(&self) -> String {
        self.object.name.clone()
    }
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column { title: "NAME", width: 20, priority: 0, cut: Cut::End, cell: |r, _| r.object.name.clone() },
            Column { title: "STATE", width: 7, priority: 0, cut: Cut::End, cell: |r, _| state(&r.problem).into() },
            Column {
                title: "SPIFFE ID",
                width: 44,
                priority: 0,
                cut: Cut::Middle,
                cell: |r, _| r.object.spiffe_id.clone(),
            },
            Column {
                title: "PARENT",
                width: 36,
                priority: 2,
                cut: Cut::Middle,
                cell: |r, _| r.object.parent_id.clone(),
            },
            Column {
                title: "SELECTORS",
                width: 30,
                priority: 2,
                cut: Cut::End,
                cell: |r, _| r.object.selectors.join(","),
            },
            Column {
                title: "X509 TTL",
                width: 8,
                priority: 3,
                cut: Cut::End,
                cell: |r, _| or_default(&r.object.x509_svid_ttl),
            },
            Column { title: "CLASS", width: 18, priority: 3, cut: Cut::End, cell: |r, _| r.object.class_name.clone() },
            Column {
                title: "NOTE",
                width: 36,
                priority: 1,
                cut: Cut::End,
                cell: |r, _| r.problem.clone().unwrap_or_default(),
            },
        ]
    }
    fn detail_title(&self) -> String {
        format!("ClusterStaticEntry {}", self.object.name)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        let o = &self.object;
        let flag = |b: Option<bool>| b.map_or_else(|| "-".to_string(), |b| b.to_string());
        let mut d = vec![
            ("Name", o.name.clone()),
            ("State", state(&self.problem).into()),
            ("Class", if o.class_name.is_empty() { "(none)".into() } else { o.class_name.clone() }),
            ("SPIFFE ID", o.spiffe_id.clone()),
            ("Parent", o.parent_id.clone()),
            ("X.509 SVID TTL", or_default(&o.x509_svid_ttl)),
            ("JWT SVID TTL", or_default(&o.jwt_svid_ttl)),
            ("Admin", o.admin.to_string()),
            ("Downstream", o.downstream.to_string()),
            ("Hint", o.hint.clone()),
            ("Rendered", flag(o.rendered)),
            ("Masked", flag(o.masked)),
            ("Set", flag(o.set)),
        ];
        if let Some(p) = &self.problem {
            d.push(("Problem", p.clone()));
        }
        d.extend(o.selectors.iter().map(|s| ("Selector", s.clone())));
        d.extend(o.dns_names.iter().map(|n| ("DNS name", n.clone())));
        d.extend(o.federates_with.iter().map(|n| ("Federates with", n.clone())));
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_spiffe_id_row_reads_spec_stats_and_class() {
        let mut o = DynamicObject::new("tent-dev-hn-digest", &warden_core::kube::resources::cluster_spiffe_id());
        o.data = serde_json::json!({
            "spec": {"className": "spire-server-spire",
                     "spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/hn-digest",
                     "podSelector": {"matchLabels": {"tentacular.io/workflow": "hn-digest"},
                                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}},
            "status": {"stats": {"podsSelected": 2, "entriesToSet": 2, "entryFailures": 1}}
        });
        let r = SpiffeIdRow::from_object(&o, &SpireSection::default());
        assert_eq!(r.object.stats.as_ref().unwrap().pods_selected, 2);
        assert_eq!(r.problem.as_deref(), Some("1 entries failed"));
        assert_eq!(r.pod_selector_text, "tentacular.io/workflow=hn-digest,tier In (a,b)");
        let garbage = DynamicObject::new("x", &warden_core::kube::resources::cluster_spiffe_id());
        let g = SpiffeIdRow::from_object(&garbage, &SpireSection::default());
        assert_eq!((g.stat(|s| s.pods_selected), state(&g.problem)), ("-".to_string(), "Drifted"));
    }
}
