//! What Kubernetes says about identities besides the `NatsIdentity`
//! records: the JWTs in creds Secrets and the SPIRE registrations
//! (ClusterSPIFFEIDs), each attributed to a workload.

/// What Kubernetes says besides the `NatsIdentity` records: the JWTs in
/// creds Secrets (seeds are stripped before they get here) and the SPIRE
/// registrations (ClusterSPIFFEIDs) by workload.
#[derive(Debug, Clone, Default)]
pub struct KubeFacts {
    pub creds: Vec<CredsJwt>,
    pub registrations: Vec<SpireRegistration>,
}

/// The JWT inside one creds Secret, and the workload it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct CredsJwt {
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
    pub workload: String,
    pub jwt: String,
}

/// A ClusterSPIFFEID attributed to one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SpireRegistration {
    /// The ClusterSPIFFEID's name.
    pub name: String,
    pub namespace: String,
    pub workload: String,
}

impl CredsJwt {
    /// From a stripped creds Secret: the workload is the value of
    /// `creds_label` (key of `key=value` or bare key), else the Secret name
    /// without `-nats-creds`.
    pub fn from_object(o: &kube::api::DynamicObject, creds_label: &str) -> Option<CredsJwt> {
        let jwt = o.data.get("jwt")?.as_str()?.to_string();
        let name = o.metadata.name.clone().unwrap_or_default();
        let key = creds_label.split('=').next().unwrap_or(creds_label);
        let workload = o
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| name.strip_suffix("-nats-creds").map(str::to_string))?;
        Some(CredsJwt { namespace: o.metadata.namespace.clone().unwrap_or_default(), name, workload, jwt })
    }
}

impl SpireRegistration {
    /// The workload from `podSelector.matchLabels[workload_label]`; the
    /// namespace from `namespaceSelector.matchLabels["kubernetes.io/metadata.name"]`,
    /// else from the name `{namespace}-{workload}`.
    pub fn from_object(o: &kube::api::DynamicObject, workload_label: &str) -> Option<SpireRegistration> {
        let name = o.metadata.name.clone().unwrap_or_default();
        let spec = o.data.get("spec")?;
        let workload = spec.pointer("/podSelector/matchLabels")?.get(workload_label)?.as_str()?.to_string();
        let namespace = spec
            .pointer("/namespaceSelector/matchLabels")
            .and_then(|m| m.get("kubernetes.io/metadata.name"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| name.strip_suffix(&format!("-{workload}")).map(str::to_string))?;
        (!namespace.is_empty()).then_some(SpireRegistration { name, namespace, workload })
    }
}
