//! One reconciliation pass over a snapshot of the cluster: which entries
//! the served objects declare, which one wins for each entry key, and the
//! stats each object gets (pkg/spireentry/reconciler.go `reconcile`,
//! `addClusterSPIFFEIDEntriesState`, `addClusterStaticEntryEntriesState`,
//! `sortDeclaredEntriesByPreference`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::config::{ControllerConfig, node_uid};
use super::render::{Entry, decode_durations, parse_spec, render_pod_entry, render_static_entry};
use super::selection::{namespace_labels, selects};
use super::template::Template;

/// What the controller reads from the API.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub cluster_spiffe_ids: Vec<Value>,
    pub cluster_static_entries: Vec<Value>,
    pub namespaces: Vec<Value>,
    pub pods: Vec<Value>,
    pub nodes: Vec<Value>,
}

/// `ClusterSPIFFEIDStats` (api/v1alpha1/clusterspiffeid_types.go): the
/// same wire type warden reads.
pub use warden_core::spire::cluster_spiffe_id::Stats;

/// `ClusterStaticEntryStatus` (api/v1alpha1/clusterstaticentry_types.go).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaticStatus {
    pub rendered: bool,
    pub masked: bool,
    pub set: bool,
}

impl StaticStatus {
    pub fn to_json(self) -> Value {
        json!({"rendered": self.rendered, "masked": self.masked, "set": self.set})
    }
    pub fn from_json(v: &Value) -> StaticStatus {
        let b = |k: &str| v[k].as_bool().unwrap_or(false);
        StaticStatus { rendered: b("rendered"), masked: b("masked"), set: b("set") }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    ClusterSpiffeId,
    ClusterStaticEntry,
}

/// The object that declared an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    pub name: String,
    created: String,
    deleting: Option<String>,
    uid: String,
}

impl Owner {
    fn of(kind: OwnerKind, obj: &Value) -> Owner {
        let m = &obj["metadata"];
        let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
        Owner {
            kind,
            name: s("name"),
            created: s("creationTimestamp"),
            deleting: m["deletionTimestamp"].as_str().map(str::to_string),
            uid: s("uid"),
        }
    }
}

/// `objectCmp`: older first; not-deleting before deleting, later deletion
/// first; then by UID.
fn preference(a: &Owner, b: &Owner) -> Ordering {
    a.created
        .cmp(&b.created)
        .then_with(|| match (&a.deleting, &b.deleting) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (Some(x), Some(y)) => y.cmp(x),
        })
        .then_with(|| a.uid.cmp(&b.uid))
}

/// The outcome of a pass.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Entry key -> the entry to set and who declared it (the preferred one).
    pub entries: BTreeMap<String, (Entry, Owner)>,
    /// Next `status.stats` of every served ClusterSPIFFEID, by name.
    pub stats: BTreeMap<String, Stats>,
    /// Next status of every served ClusterStaticEntry, by name (`set` is
    /// filled in when the entry is written).
    pub static_status: BTreeMap<String, StaticStatus>,
}

fn spec_class(obj: &Value) -> &str {
    obj["spec"]["className"].as_str().unwrap_or("")
}

/// One pass. Err: a list did not decode (a duration that does not parse
/// fails the typed List call, and the real controller then does nothing
/// this round, for every class).
pub fn plan(cfg: &ControllerConfig, snap: &Snapshot) -> Result<Plan, String> {
    for o in &snap.cluster_spiffe_ids {
        decode_durations(&o["spec"], &["ttl", "jwtTtl"]).map_err(|e| format!("listing ClusterSPIFFEIDs: {e}"))?;
    }
    for o in &snap.cluster_static_entries {
        decode_durations(&o["spec"], &["x509SVIDTTL", "jwtSVIDTTL"])
            .map_err(|e| format!("listing ClusterStaticEntries: {e}"))?;
    }
    let parent = Template::parse(&cfg.parent_id_template).map_err(|e| format!("parentIDTemplate: {e}"))?;
    let mut plan = Plan::default();
    let mut declared: BTreeMap<String, Vec<(Entry, Owner)>> = BTreeMap::new();
    let mut declare = |e: Entry, o: Owner| declared.entry(e.key()).or_default().push((e, o));

    if cfg.reconcile_cluster_static_entries {
        for obj in snap.cluster_static_entries.iter().filter(|o| cfg.serves(spec_class(o))) {
            let owner = Owner::of(OwnerKind::ClusterStaticEntry, obj);
            let mut st = StaticStatus::default();
            match render_static_entry(&obj["spec"]) {
                Ok(e) => {
                    st.rendered = true;
                    declare(e, owner.clone());
                }
                Err(err) => tracing::warn!(name = owner.name, err, "failed to render ClusterStaticEntry"),
            }
            plan.static_status.insert(owner.name, st);
        }
    }

    if cfg.reconcile_cluster_spiffe_ids {
        let mut served: Vec<&Value> = snap.cluster_spiffe_ids.iter().filter(|o| cfg.serves(spec_class(o))).collect();
        // Fallback ones last (stable).
        served.sort_by_key(|o| o["spec"]["fallback"].as_bool().unwrap_or(false));
        let mut with_non_fallback: HashSet<String> = HashSet::new();
        for obj in served {
            let owner = Owner::of(OwnerKind::ClusterSpiffeId, obj);
            let fallback = obj["spec"]["fallback"].as_bool().unwrap_or(false);
            let mut st = Stats::default();
            let spec = match parse_spec(&obj["spec"]) {
                Ok(s) => s,
                Err(err) => {
                    tracing::warn!(name = owner.name, err, "failed to parse ClusterSPIFFEID spec");
                    plan.stats.insert(owner.name, st);
                    continue;
                }
            };
            for ns in
                snap.namespaces.iter().filter(|ns| selects(spec.namespace_selector.as_ref(), &namespace_labels(ns)))
            {
                st.namespaces_selected += 1;
                let ns_name = ns["metadata"]["name"].as_str().unwrap_or("");
                if cfg.ignores(ns_name) {
                    st.namespaces_ignored += 1;
                    continue;
                }
                let pods = snap.pods.iter().filter(|p| {
                    p["metadata"]["namespace"].as_str() == Some(ns_name)
                        && selects(spec.pod_selector.as_ref(), &p["metadata"]["labels"])
                });
                for pod in pods {
                    st.pods_selected += 1;
                    let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
                    if fallback && with_non_fallback.contains(&uid) {
                        continue;
                    }
                    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or("");
                    let node = node_for(cfg, snap, node_name);
                    let rendered = match &node {
                        Some(node) => render_pod_entry(cfg, &parent, &spec, pod, node),
                        None => Err(format!("node {node_name} not found in cache")),
                    };
                    match rendered {
                        Ok(e) => {
                            declare(e, owner.clone());
                            if !fallback {
                                with_non_fallback.insert(uid);
                            }
                        }
                        Err(err) => {
                            tracing::debug!(name = owner.name, err, "failed to render entry");
                            st.pod_entry_render_failures += 1;
                        }
                    }
                }
            }
            plan.stats.insert(owner.name, st);
        }
    }

    for (key, mut ds) in declared {
        ds.sort_by(|a, b| preference(&a.1, &b.1));
        for (i, (_, o)) in ds.iter().enumerate() {
            match (o.kind, i) {
                (OwnerKind::ClusterSpiffeId, 0) => plan.stats.entry(o.name.clone()).or_default().entries_to_set += 1,
                (OwnerKind::ClusterSpiffeId, _) => plan.stats.entry(o.name.clone()).or_default().entries_masked += 1,
                (OwnerKind::ClusterStaticEntry, 0) => {}
                (OwnerKind::ClusterStaticEntry, _) => {
                    plan.static_status.entry(o.name.clone()).or_default().masked = true
                }
            }
        }
        let first = ds.swap_remove(0);
        plan.entries.insert(key, first);
    }
    Ok(plan)
}

fn node_for(cfg: &ControllerConfig, snap: &Snapshot, name: &str) -> Option<Value> {
    if let Some(n) = snap.nodes.iter().find(|n| n["metadata"]["name"].as_str() == Some(name)) {
        return Some(n.clone());
    }
    (cfg.derive_node_uids && !name.is_empty()).then(|| json!({"metadata": {"name": name, "uid": node_uid(name)}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csid(name: &str, created: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": created}, "spec": spec})
    }

    fn ns(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    fn pod(ns: &str, name: &str, app: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": ns, "uid": format!("{ns}-{name}"), "labels": {"app": app}},
               "spec": {"nodeName": "node-a", "serviceAccountName": "default"}, "status": {"phase": "Running"}})
    }

    fn cfg() -> ControllerConfig {
        ControllerConfig::chart_default("td")
    }

    fn world(csids: Vec<Value>) -> Snapshot {
        Snapshot {
            cluster_spiffe_ids: csids,
            namespaces: vec![
                ns("a", json!({"team": "x"})),
                ns("b", json!({"team": "y"})),
                ns("kube-system", json!({})),
            ],
            pods: vec![
                pod("a", "p1", "web"),
                pod("a", "p2", "db"),
                pod("b", "p3", "web"),
                pod("kube-system", "dns", "web"),
            ],
            ..Snapshot::default()
        }
    }

    const CLASS: &str = "spire-server-spire";
    const BY_POD: &str = "spiffe://td/ns/{{ .PodMeta.Namespace }}/pod/{{ .PodMeta.Name }}";

    #[test]
    fn class_filtering_like_reconcile_class() {
        let s = world(vec![
            csid("mine", "t1", json!({"className": CLASS, "spiffeIDTemplate": BY_POD})),
            csid("classless", "t1", json!({"spiffeIDTemplate": BY_POD})),
            csid("theirs", "t1", json!({"className": "other", "spiffeIDTemplate": BY_POD})),
        ]);
        let p = plan(&cfg(), &s).unwrap();
        assert_eq!(p.stats.keys().collect::<Vec<_>>(), ["mine"]);
        assert_eq!(p.entries.len(), 3, "p1, p2, p3; kube-system is ignored");
        let st = p.stats["mine"];
        assert_eq!((st.namespaces_selected, st.namespaces_ignored, st.pods_selected, st.entries_to_set), (3, 1, 3, 3));
        let p = plan(&ControllerConfig { watch_classless: true, ..cfg() }, &s).unwrap();
        assert_eq!(p.stats.keys().collect::<Vec<_>>(), ["classless", "mine"]);
    }

    #[test]
    fn selection_by_namespace_and_pod_selectors() {
        let s = world(vec![csid(
            "c",
            "t1",
            json!({"className": CLASS, "spiffeIDTemplate": BY_POD,
            "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["x"]}]},
            "podSelector": {"matchLabels": {"app": "web"}}}),
        )]);
        let p = plan(&cfg(), &s).unwrap();
        let ids: Vec<&str> = p.entries.values().map(|(e, _)| e.spiffe_id.as_str()).collect();
        assert_eq!(ids, ["spiffe://td/ns/a/pod/p1"]);
        assert_eq!(
            p.stats["c"],
            Stats { namespaces_selected: 1, pods_selected: 1, entries_to_set: 1, ..Stats::default() }
        );
        let (e, _) = p.entries.values().next().unwrap();
        assert_eq!(e.selectors, [("k8s".to_string(), "pod-uid:a-p1".to_string())]);
        assert_eq!(e.parent_id, format!("spiffe://td/spire/agent/k8s_psat/example-cluster/{}", node_uid("node-a")));
    }

    #[test]
    fn duplicates_are_masked_by_the_older_object() {
        let spec =
            json!({"className": CLASS, "spiffeIDTemplate": BY_POD, "podSelector": {"matchLabels": {"app": "web"}}});
        let s = world(vec![
            csid("newer", "2026-01-02T00:00:00Z", spec.clone()),
            csid("older", "2026-01-01T00:00:00Z", spec),
        ]);
        let p = plan(&cfg(), &s).unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!((p.stats["older"].entries_to_set, p.stats["older"].entries_masked), (2, 0));
        assert_eq!((p.stats["newer"].entries_to_set, p.stats["newer"].entries_masked), (0, 2));
        assert!(p.entries.values().all(|(_, o)| o.name == "older"));
    }

    #[test]
    fn fallback_applies_only_to_pods_no_other_id_selects() {
        let s = world(vec![
            csid(
                "fb",
                "t0",
                json!({"className": CLASS, "fallback": true, "spiffeIDTemplate": "spiffe://td/fallback/{{ .PodMeta.Name }}"}),
            ),
            csid(
                "web",
                "t1",
                json!({"className": CLASS, "spiffeIDTemplate": BY_POD, "podSelector": {"matchLabels": {"app": "web"}}}),
            ),
        ]);
        let p = plan(&cfg(), &s).unwrap();
        let mut ids: Vec<&str> = p.entries.values().map(|(e, _)| e.spiffe_id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["spiffe://td/fallback/p2", "spiffe://td/ns/a/pod/p1", "spiffe://td/ns/b/pod/p3"]);
        assert_eq!(p.stats["fb"].pods_selected, 3, "skipped pods still count as selected");
        assert_eq!(p.stats["fb"].entries_to_set, 1);
    }

    #[test]
    fn render_failures_and_invalid_specs() {
        let mut s = world(vec![
            csid("bad-field", "t1", json!({"className": CLASS, "spiffeIDTemplate": "spiffe://td/{{ .PodMeta.Nope }}"})),
            csid("bad-syntax", "t1", json!({"className": CLASS, "spiffeIDTemplate": "spiffe://td/{{ .PodMeta.Name"})),
        ]);
        s.pods.push(json!({"metadata": {"name": "unscheduled", "namespace": "a", "uid": "u9"}, "spec": {}}));
        let p = plan(&cfg(), &s).unwrap();
        assert_eq!(p.stats["bad-field"].pod_entry_render_failures, 4);
        assert_eq!(p.stats["bad-syntax"], Stats::default(), "a spec error skips the object (no stats)");
        assert!(p.entries.is_empty());
        // A pod on a node the API does not know, without derived node UIDs.
        let s = world(vec![csid("c", "t1", json!({"className": CLASS, "spiffeIDTemplate": BY_POD}))]);
        let p = plan(&ControllerConfig { derive_node_uids: false, ..cfg() }, &s).unwrap();
        assert_eq!(p.stats["c"].pod_entry_render_failures, 3);
        // An undecodable duration in any object stops the whole pass.
        let s = world(vec![csid("x", "t1", json!({"className": "other", "spiffeIDTemplate": BY_POD, "ttl": "1 day"}))]);
        assert!(plan(&cfg(), &s).is_err());
    }

    #[test]
    fn static_entries_of_the_class_become_entries() {
        let mut s = world(vec![]);
        let st = |name: &str, class: &str, created: &str| {
            json!({"metadata": {"name": name, "uid": name, "creationTimestamp": created},
                   "spec": {"className": class, "spiffeID": "spiffe://td/static", "parentID": "spiffe://td/p", "selectors": ["unix:uid:0"]}})
        };
        s.cluster_static_entries = vec![st("s1", CLASS, "t1"), st("s2", CLASS, "t2"), st("s3", "other", "t0")];
        s.cluster_static_entries.push(json!({"metadata": {"name": "broken"}, "spec": {"className": CLASS, "spiffeID": "x", "parentID": "y", "selectors": []}}));
        let p = plan(&cfg(), &s).unwrap();
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries.values().next().unwrap().1.name, "s1");
        assert_eq!(p.static_status["s1"], StaticStatus { rendered: true, masked: false, set: false });
        assert_eq!(p.static_status["s2"], StaticStatus { rendered: true, masked: true, set: false });
        assert_eq!(p.static_status["broken"], StaticStatus::default());
        assert!(!p.static_status.contains_key("s3"));
    }
}
