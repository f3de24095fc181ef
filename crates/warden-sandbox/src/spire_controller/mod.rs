//! An emulation of spire-controller-manager's entry reconciler
//! (github.com/spiffe/spire-controller-manager, pkg/spireentry) over the
//! Kubernetes API double: it serves the ClusterSPIFFEIDs and
//! ClusterStaticEntries of its class, renders their entries into the
//! double's SPIRE server, and writes their status.
//!
//! - [`config`]: its configuration and the official chart's values;
//! - [`selection`]: label selectors, namespace labels;
//! - [`template`]: the Go text/template subset of ID templates;
//! - [`render`]: spec parsing and entry rendering;
//! - [`reconcile`]: one pass: declared entries, preference, stats;
//! - [`status`]: status writes (only on change).
//!
//! The controller owns the double's SPIRE entry list: each pass replaces it
//! with the entries it declares (the double has no way to read other
//! writers' entries back).

pub mod config;
pub mod reconcile;
pub mod render;
pub mod selection;
pub mod status;
pub mod template;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::Duration;

use kube_double::{KubeState, spire_entry};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ControllerConfig, node_uid};
pub use reconcile::{Plan, Snapshot, StaticStatus, Stats};
pub use render::Entry;

use reconcile::OwnerKind;

/// How long writes are left to settle before a pass (a burst of seeding
/// makes one pass, not hundreds).
const DEBOUNCE: Duration = Duration::from_millis(25);

/// Starts the controller task.
pub struct SpireController;

impl SpireController {
    /// Reconciles now, then after every write to the double (and every
    /// `gc_interval`) until the handle is dropped.
    pub fn spawn(state: KubeState, cfg: ControllerConfig) -> SpireControllerHandle {
        let (synced_tx, synced) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut changes = state.changes();
            let mut ctl = Controller::new(cfg);
            loop {
                changes.borrow_and_update();
                let rv = state.resource_version();
                ctl.pass(&state);
                synced_tx.send_replace(rv);
                tokio::select! {
                    r = changes.changed() => if r.is_err() { break },
                    _ = tokio::time::sleep(ctl.cfg.gc_interval) => {}
                }
                tokio::time::sleep(DEBOUNCE).await;
            }
        });
        SpireControllerHandle { task, synced }
    }
}

/// The running controller; dropping it stops the task.
pub struct SpireControllerHandle {
    task: JoinHandle<()>,
    synced: watch::Receiver<u64>,
}

impl SpireControllerHandle {
    /// The resourceVersion of the state the latest completed pass read: a
    /// write at `rv` has been reconciled once this is `>= rv`.
    pub fn synced(&self) -> watch::Receiver<u64> {
        self.synced.clone()
    }
}

impl Drop for SpireControllerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An entry as the SPIRE server holds it.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    entry: Entry,
    created_at: i64,
    revision: u64,
}

/// The reconciler's state between passes: the SPIRE server's entries.
pub struct Controller {
    pub cfg: ControllerConfig,
    current: HashMap<String, Stored>,
    published: Option<Vec<Value>>,
    ids: std::collections::hash_map::RandomState,
    id_seq: u64,
}

impl Controller {
    pub fn new(cfg: ControllerConfig) -> Controller {
        Controller { cfg, current: HashMap::new(), published: None, ids: Default::default(), id_seq: 0 }
    }

    /// What the controller reads.
    pub fn snapshot(k: &KubeState) -> Snapshot {
        Snapshot {
            cluster_spiffe_ids: k.list("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", None),
            cluster_static_entries: k.list("spire.spiffe.io/v1alpha1", "ClusterStaticEntry", None),
            namespaces: k.list("v1", "Namespace", None),
            pods: k.list("v1", "Pod", None),
            nodes: k.list("v1", "Node", None),
        }
    }

    /// One reconciliation: entries into the double's SPIRE server, status
    /// onto the served objects. Returns the plan (None: the pass was
    /// abandoned, as when a list fails to decode).
    pub fn pass(&mut self, k: &KubeState) -> Option<Plan> {
        let mut plan = match reconcile::plan(&self.cfg, &Self::snapshot(k)) {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(err, "spire-controller: reconcile abandoned");
                return None;
            }
        };
        let now = chrono::Utc::now().timestamp();
        let mut next: HashMap<String, Stored> = HashMap::new();
        for (key, (entry, owner)) in &plan.entries {
            let stored = match self.current.remove(key) {
                Some(mut cur) => {
                    if !cur.entry.same_fields(entry) {
                        cur.revision += 1;
                        cur.entry = entry.clone();
                    }
                    cur
                }
                None => {
                    // Created this pass: a static entry's `set` is true
                    // only then (`IncrementEntrySuccess` in createEntries).
                    if owner.kind == OwnerKind::ClusterStaticEntry {
                        plan.static_status.entry(owner.name.clone()).or_default().set = true;
                    }
                    Stored { id: self.new_id(), entry: entry.clone(), created_at: now, revision: 0 }
                }
            };
            next.insert(key.clone(), stored);
        }
        self.current = next;

        let mut entries: Vec<&Stored> = self.current.values().collect();
        entries.sort_by(|a, b| (&a.entry.spiffe_id, &a.id).cmp(&(&b.entry.spiffe_id, &b.id)));
        let json: Vec<Value> = entries.into_iter().map(to_json).collect();
        if self.published.as_ref() != Some(&json) {
            k.set_spire_entries(json.clone());
            self.published = Some(json);
        }
        for (name, stats) in &plan.stats {
            status::write_stats(k, name, *stats);
        }
        for (name, st) in &plan.static_status {
            status::write_static_status(k, name, *st);
        }
        Some(plan)
    }

    /// `<entryIDPrefix><uuid>`.
    fn new_id(&mut self) -> String {
        self.id_seq += 1;
        let a = self.ids.hash_one(self.id_seq);
        let b = self.ids.hash_one(!self.id_seq);
        let h = format!("{a:016x}{b:016x}");
        format!("{}{}-{}-4{}-a{}-{}", self.cfg.entry_id_prefix, &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    }
}

/// The protojson `spire-server entry show -output json` prints.
fn to_json(s: &Stored) -> Value {
    let e = &s.entry;
    let sels: Vec<String> = e.selectors.iter().map(|(t, v)| format!("{t}:{v}")).collect();
    let sel_refs: Vec<&str> = sels.iter().map(String::as_str).collect();
    let mut v = spire_entry(&s.id, &e.spiffe_id, &e.parent_id, &sel_refs);
    v["x509_svid_ttl"] = json!(e.x509_svid_ttl);
    v["jwt_svid_ttl"] = json!(e.jwt_svid_ttl);
    v["federates_with"] = json!(e.federates_with);
    v["dns_names"] = json!(e.dns_names);
    v["admin"] = json!(e.admin);
    v["downstream"] = json!(e.downstream);
    v["hint"] = json!(e.hint);
    v["store_svid"] = json!(e.store_svid);
    v["created_at"] = json!(s.created_at.to_string());
    v["revision_number"] = json!(s.revision.to_string());
    v
}
