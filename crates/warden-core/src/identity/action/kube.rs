//! The Kubernetes side every action shares, whatever the mode: the client
//! an action writes with, and the workload's ClusterSPIFFEID (revoke removes
//! it in both modes).

use anyhow::{Context, Result};
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use crate::config::file::KubeSection;
use crate::identity::naming::IdentityName;
use crate::kube::access::{self, Need};
use crate::kube::errors::is_not_found;
use crate::kube::resources::cluster_spiffe_id;

/// A Kubernetes connection for the Kubernetes parts of an identity.
#[derive(Clone)]
pub struct KubeCtx {
    pub client: kube::Client,
    pub section: KubeSection,
}

/// The ClusterSPIFFEID warden keeps for a workload: `<ns>.<wf>` (both are
/// DNS labels, so the name is unambiguous and a valid DNS subdomain).
pub fn cluster_spiffe_id_name(name: &IdentityName) -> String {
    format!("{}.{}", name.namespace, name.workload)
}

/// Whether a ClusterSPIFFEID spec selects exactly this workload: its pod
/// selector's `matchLabels[workload_label]` is the workload and its namespace
/// selector names the namespace (`kubernetes.io/metadata.name`).
pub fn selects_workload(spec: &Value, workload_label: &str, name: &IdentityName) -> bool {
    spec["podSelector"]["matchLabels"][workload_label].as_str() == Some(name.workload.as_str())
        && spec["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
            == Some(name.namespace.as_str())
}

/// The names of the workload's ClusterSPIFFEIDs: the one named
/// [`cluster_spiffe_id_name`] (`{ns}.{wf}`) when present, else any whose
/// selectors pick exactly this workload ([`selects_workload`]), so objects
/// named by older conventions (`{ns}-{wf}`) are found too.
pub async fn find_cluster_spiffe_ids(kube: &KubeCtx, name: &IdentityName) -> Result<Vec<String>> {
    let api: Api<DynamicObject> = Api::all_with(kube.client.clone(), &cluster_spiffe_id());
    let oname = cluster_spiffe_id_name(name);
    if api.get_opt(&oname).await.with_context(|| format!("reading ClusterSPIFFEID {oname}"))?.is_some() {
        return Ok(vec![oname]);
    }
    let list = api.list(&Default::default()).await.context("listing ClusterSPIFFEIDs")?;
    let mut names: Vec<String> = list
        .items
        .iter()
        .filter(|o| o.data.get("spec").is_some_and(|sp| selects_workload(sp, &kube.section.workload_label, name)))
        .filter_map(|o| o.metadata.name.clone())
        .collect();
    names.sort();
    Ok(names)
}

/// Deletes the workload's ClusterSPIFFEIDs (see [`find_cluster_spiffe_ids`]);
/// none left is "already gone". Both modes' revoke use it.
pub async fn delete_cluster_spiffe_ids(kube: &KubeCtx, name: &IdentityName) -> Result<String> {
    let api: Api<DynamicObject> = Api::all_with(kube.client.clone(), &cluster_spiffe_id());
    let found = find_cluster_spiffe_ids(kube, name).await?;
    if found.is_empty() {
        return Ok(format!("ClusterSPIFFEID {} already gone", cluster_spiffe_id_name(name)));
    }
    let mut done = Vec::new();
    for oname in found {
        match api.delete(&oname, &Default::default()).await {
            Ok(_) => done.push(format!("ClusterSPIFFEID {oname} deleted")),
            Err(e) if is_not_found(&e) => done.push(format!("ClusterSPIFFEID {oname} already gone")),
            Err(e) => return Err(e).with_context(|| format!("deleting ClusterSPIFFEID {oname}")),
        }
    }
    Ok(done.join("; "))
}

/// Asks the apiserver whether every permission in `needs` is granted,
/// before an action writes anything. `Err` names each refused verb and
/// resource. When the review API cannot be asked (an old or partial API
/// server), nothing is known and the action goes on: its writes still meet
/// the real authorizer.
pub async fn preflight(kube: &KubeCtx, needs: &[Need]) -> std::result::Result<(), String> {
    match access::refused(&kube.client, needs).await {
        Ok(refused) if refused.is_empty() => Ok(()),
        Ok(refused) => Err(format!(
            "forbidden, nothing was changed: the Kubernetes user may not {} (see deploy/rbac/warden-operator.yaml)",
            refused.join("; ")
        )),
        Err(e) => {
            tracing::warn!("access review unavailable, not checked before writing: {e}");
            Ok(())
        }
    }
}
