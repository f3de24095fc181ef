//! Writing ClusterSPIFFEID / ClusterStaticEntry status, only when it
//! changed (pkg/spireentry/reconciler.go: `if Status == NextStatus
//! continue`), so the controller's own writes never feed a loop.

use kube_double::KubeState;
use serde_json::{Value, json};

use super::reconcile::{StaticStatus, Stats};

const API: &str = "spire.spiffe.io/v1alpha1";

/// Sets `status.stats` of the ClusterSPIFFEID `name` if it differs.
/// Returns whether it wrote.
pub fn write_stats(k: &KubeState, name: &str, next: Stats) -> bool {
    write(k, "ClusterSPIFFEID", name, |cur| {
        (Stats::from_json(&cur["stats"]) != next).then(|| json!({"stats": next.to_json()}))
    })
}

/// Sets the status of the ClusterStaticEntry `name` if it differs.
pub fn write_static_status(k: &KubeState, name: &str, next: StaticStatus) -> bool {
    write(k, "ClusterStaticEntry", name, |cur| (StaticStatus::from_json(cur) != next).then(|| next.to_json()))
}

/// Reads the object afresh and replaces its status with what `next`
/// returns for the current one (None: unchanged). The double's upsert
/// writes a changed status through the status subresource path.
fn write(k: &KubeState, kind: &str, name: &str, next: impl FnOnce(&Value) -> Option<Value>) -> bool {
    let Some(mut obj) = k.get(API, kind, "", name) else { return false };
    let Some(status) = next(&obj["status"]) else { return false };
    obj["status"] = status;
    match k.upsert(obj) {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(kind, name, err = ?e, "failed to update status");
            false
        }
    }
}
