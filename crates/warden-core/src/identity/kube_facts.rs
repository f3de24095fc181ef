//! What Kubernetes says about identities besides the `NatsIdentity`
//! records: the SPIRE registrations (ClusterSPIFFEIDs), each attributed to a
//! workload; and, for `warden doctor` in JWT mode only, which user JWT each
//! creds Secret holds (listed once by the creds label, only the JWT block
//! read: [`super::creds_secret`]). The console watches no Secret; actions
//! read one by name when they need it.

use crate::config::file::SpireSection;
use crate::spire::cluster_spiffe_id::ClusterSpiffeId;

/// What Kubernetes says besides the `NatsIdentity` records: the SPIRE
/// registrations (ClusterSPIFFEIDs) by workload.
#[derive(Debug, Clone, Default)]
pub struct KubeFacts {
    pub registrations: Vec<SpireRegistration>,
    /// Creds Secrets (empty when not listed or not readable).
    pub creds_secrets: Vec<super::creds_secret::CredsSecretFacts>,
}

/// A ClusterSPIFFEID attributed to one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SpireRegistration {
    /// The ClusterSPIFFEID's name.
    pub name: String,
    pub namespace: String,
    pub workload: String,
    /// Why the SPIRE controller makes no (or not every) entry of it
    /// ([`ClusterSpiffeId::controller_problem`]).
    pub problem: Option<String>,
}

impl SpireRegistration {
    /// The workload from `podSelector.matchLabels[workload_label]`; the
    /// namespace from `namespaceSelector.matchLabels["kubernetes.io/metadata.name"]`,
    /// else from the name `{namespace}-{workload}`.
    pub fn from_object(
        o: &kube::api::DynamicObject,
        workload_label: &str,
        spire: &SpireSection,
    ) -> Option<SpireRegistration> {
        let name = o.metadata.name.clone().unwrap_or_default();
        let spec = o.data.get("spec")?;
        let workload = spec.pointer("/podSelector/matchLabels")?.get(workload_label)?.as_str()?.to_string();
        let namespace = spec
            .pointer("/namespaceSelector/matchLabels")
            .and_then(|m| m.get("kubernetes.io/metadata.name"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| name.strip_suffix(&format!("-{workload}")).map(str::to_string))?;
        let problem = ClusterSpiffeId::from_object(o).controller_problem(spire);
        (!namespace.is_empty()).then_some(SpireRegistration { name, namespace, workload, problem })
    }
}
