//! ClusterSPIFFEID and ClusterStaticEntry objects (spire-controller-manager
//! `api/v1alpha1`) as warden reads them, and whether the controller
//! configured in `[spire]` turns one into SPIRE entries.
//!
//! Upstream behaviour (spire-controller-manager `pkg/spireentry/reconciler.go`
//! and `api/v1alpha1/clusterspiffeid_types.go`): the controller lists only
//! objects of its class (`spec.className`, or no class when `watchClassless`),
//! writes `status.stats` when it reconciles one, and a `fallback` object
//! applies to a pod only when no other object selects it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::file::SpireSection;

/// `status.stats` of a ClusterSPIFFEID (`ClusterSPIFFEIDStats`,
/// api/v1alpha1/clusterspiffeid_types.go), in its wire names; an absent or
/// non-integer field reads as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Stats {
    #[serde(deserialize_with = "lenient_int")]
    pub namespaces_selected: i64,
    #[serde(deserialize_with = "lenient_int")]
    pub namespaces_ignored: i64,
    #[serde(deserialize_with = "lenient_int")]
    pub pods_selected: i64,
    #[serde(deserialize_with = "lenient_int")]
    pub pod_entry_render_failures: i64,
    #[serde(deserialize_with = "lenient_int")]
    pub entries_masked: i64,
    #[serde(deserialize_with = "lenient_int")]
    pub entries_to_set: i64,
    #[serde(deserialize_with = "lenient_int")]
    pub entry_failures: i64,
}

fn lenient_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(Value::deserialize(d)?.as_i64().unwrap_or(0))
}

impl Stats {
    /// The stats in `status.stats` (absent: all 0).
    pub fn from_json(v: &Value) -> Stats {
        Stats::deserialize(v).unwrap_or_default()
    }

    pub fn to_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The fields of a ClusterSPIFFEID warden shows and checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterSpiffeId {
    pub name: String,
    pub class_name: String,
    pub template: String,
    pub pod_selector: Value,
    pub namespace_selector: Value,
    /// `ttl` / `jwtTtl` as written (Go durations); empty: the server default.
    pub ttl: String,
    pub jwt_ttl: String,
    pub fallback: bool,
    pub admin: bool,
    pub downstream: bool,
    pub hint: String,
    /// None: the controller never wrote a status.
    pub stats: Option<Stats>,
}

impl ClusterSpiffeId {
    /// From the object's `metadata.name`, `spec` and `status`; never fails.
    pub fn from_parts(name: &str, spec: &Value, status: &Value) -> ClusterSpiffeId {
        let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let b = |k: &str| spec.get(k).and_then(Value::as_bool).unwrap_or(false);
        let stats = status.get("stats").filter(|v| v.is_object()).map(Stats::from_json);
        ClusterSpiffeId {
            name: name.to_string(),
            class_name: s("className"),
            template: s("spiffeIDTemplate"),
            pod_selector: spec.get("podSelector").cloned().unwrap_or(Value::Null),
            namespace_selector: spec.get("namespaceSelector").cloned().unwrap_or(Value::Null),
            ttl: s("ttl"),
            jwt_ttl: s("jwtTtl"),
            fallback: b("fallback"),
            admin: b("admin"),
            downstream: b("downstream"),
            hint: s("hint"),
            stats,
        }
    }

    pub fn from_object(o: &kube::api::DynamicObject) -> ClusterSpiffeId {
        let null = Value::Null;
        ClusterSpiffeId::from_parts(
            o.metadata.name.as_deref().unwrap_or_default(),
            o.data.get("spec").unwrap_or(&null),
            o.data.get("status").unwrap_or(&null),
        )
    }

    /// Why this object produces no (or not all its) SPIRE entries, if it
    /// does not: a class the configured controller does not serve, no
    /// status from any controller, or stats showing failed or masked entries.
    pub fn controller_problem(&self, spire: &SpireSection) -> Option<String> {
        if !spire.serves(&self.class_name) {
            let class = if self.class_name.is_empty() {
                "no className".to_string()
            } else {
                format!("className {:?}", self.class_name)
            };
            let served = if spire.watch_classless {
                format!("{:?} or no class", spire.class_name)
            } else {
                format!("{:?} only", spire.class_name)
            };
            return Some(format!("{class}: the SPIRE controller serves {served}, so no entry is made"));
        }
        let Some(st) = &self.stats else {
            // The controller writes the status only when it differs from
            // the empty one (reconciler.go), so no status is also what a
            // reconciled object that selects no pod looks like: no entries.
            return Some(format!(
                "not reconciled or selects no pod: no SPIRE controller of class {:?} wrote its status (no entries)",
                self.class_name
            ));
        };
        let mut why = Vec::new();
        if st.entry_failures > 0 {
            why.push(format!("{} entries failed", st.entry_failures));
        }
        if st.pod_entry_render_failures > 0 {
            why.push(format!("{} pods failed to render", st.pod_entry_render_failures));
        }
        if st.entries_masked > 0 {
            why.push(format!("{} entries masked by another ClusterSPIFFEID", st.entries_masked));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// A ClusterStaticEntry: one registration entry declared as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterStaticEntry {
    pub name: String,
    pub class_name: String,
    pub spiffe_id: String,
    pub parent_id: String,
    pub selectors: Vec<String>,
    pub x509_svid_ttl: String,
    pub jwt_svid_ttl: String,
    pub federates_with: Vec<String>,
    pub dns_names: Vec<String>,
    pub hint: String,
    pub admin: bool,
    pub downstream: bool,
    /// `status.rendered` / `masked` / `set` (`ClusterStaticEntryStatus`);
    /// None: no status yet.
    pub rendered: Option<bool>,
    pub masked: Option<bool>,
    pub set: Option<bool>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

impl ClusterStaticEntry {
    pub fn from_parts(name: &str, spec: &Value, status: &Value) -> ClusterStaticEntry {
        let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let flag = |k: &str| status.get(k).and_then(Value::as_bool);
        ClusterStaticEntry {
            name: name.to_string(),
            class_name: s("className"),
            spiffe_id: s("spiffeID"),
            parent_id: s("parentID"),
            selectors: strings(spec.get("selectors")),
            x509_svid_ttl: s("x509SVIDTTL"),
            jwt_svid_ttl: s("jwtSVIDTTL"),
            federates_with: strings(spec.get("federatesWith")),
            dns_names: strings(spec.get("dnsNames")),
            hint: s("hint"),
            admin: spec.get("admin").and_then(Value::as_bool).unwrap_or(false),
            downstream: spec.get("downstream").and_then(Value::as_bool).unwrap_or(false),
            rendered: flag("rendered"),
            masked: flag("masked"),
            set: flag("set"),
        }
    }

    pub fn from_object(o: &kube::api::DynamicObject) -> ClusterStaticEntry {
        let null = Value::Null;
        ClusterStaticEntry::from_parts(
            o.metadata.name.as_deref().unwrap_or_default(),
            o.data.get("spec").unwrap_or(&null),
            o.data.get("status").unwrap_or(&null),
        )
    }

    /// Why the entry is not in SPIRE as declared, if it is not. `set` is
    /// no evidence either way: the controller reports it true only on the
    /// reconcile that created or changed the entry (spire-controller-manager
    /// `pkg/spireentry/by.go`: `IncrementEntrySuccess` on create only; the
    /// next status starts from false).
    pub fn controller_problem(&self, spire: &SpireSection) -> Option<String> {
        if !spire.serves(&self.class_name) {
            return Some(format!("className {:?} is not served by the SPIRE controller", self.class_name));
        }
        match (self.rendered, self.masked) {
            (None, None) => Some("not reconciled by any SPIRE controller yet".into()),
            (Some(false), _) => Some("failed to render".into()),
            (_, Some(true)) => Some("masked by another entry".into()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spire() -> SpireSection {
        SpireSection::default()
    }

    #[test]
    fn class_and_stats_decide_the_problem() {
        let ok = ClusterSpiffeId::from_parts(
            "a",
            &json!({"className": "spire-server-spire", "fallback": true}),
            &json!({"stats": {"podsSelected": 1, "entriesToSet": 1}}),
        );
        assert!(ok.fallback);
        assert_eq!(ok.controller_problem(&spire()), None);
        let classless = ClusterSpiffeId::from_parts("b", &json!({}), &json!({}));
        let why = classless.controller_problem(&spire()).unwrap();
        assert!(why.contains("no className") && why.contains("\"spire-server-spire\" only"), "{why}");
        let served = SpireSection { watch_classless: true, ..spire() };
        assert!(classless.controller_problem(&served).unwrap().starts_with("not reconciled"));
        let other = ClusterSpiffeId::from_parts("c", &json!({"className": "x"}), &json!({}));
        assert!(other.controller_problem(&spire()).unwrap().contains("className \"x\""));
        let masked = ClusterSpiffeId::from_parts(
            "d",
            &json!({"className": "spire-server-spire"}),
            &json!({"stats": {"entriesMasked": 2, "entryFailures": 1}}),
        );
        assert_eq!(
            masked.controller_problem(&spire()).as_deref(),
            Some("1 entries failed, 2 entries masked by another ClusterSPIFFEID")
        );
    }

    #[test]
    fn garbage_reads_as_empty() {
        let g = ClusterSpiffeId::from_parts("", &json!(5), &json!("x"));
        assert_eq!((g.stats, g.template.as_str()), (None, ""));
        let e = ClusterStaticEntry::from_parts("e", &json!({"selectors": [1, "k8s:ns:a"]}), &json!(null));
        assert_eq!(e.selectors, ["k8s:ns:a"]);
        assert_eq!(
            e.controller_problem(&spire()).as_deref(),
            Some("className \"\" is not served by the SPIRE controller")
        );
    }
}
