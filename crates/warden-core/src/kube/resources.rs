//! The Kubernetes resources warden reads and writes, as dynamic API
//! resources (no generated CRD types: the CRDs belong to SPIRE and warden).

use kube::core::{ApiResource, GroupVersionKind};

/// Everything warden watches, one panel state each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Watched {
    ClusterSpiffeIds,
    ClusterStaticEntries,
    NatsIdentities,
    Deployments,
    Pods,
    CredsSecrets,
    AuthzConfigMap,
    NatsPods,
}

impl Watched {
    pub const ALL: [Watched; 8] = [
        Watched::ClusterSpiffeIds,
        Watched::ClusterStaticEntries,
        Watched::NatsIdentities,
        Watched::Deployments,
        Watched::Pods,
        Watched::CredsSecrets,
        Watched::AuthzConfigMap,
        Watched::NatsPods,
    ];

    pub fn api_resource(self) -> ApiResource {
        match self {
            Watched::ClusterSpiffeIds => cluster_spiffe_id(),
            Watched::ClusterStaticEntries => ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("spire.spiffe.io", "v1alpha1", "ClusterStaticEntry"),
                "clusterstaticentries",
            ),
            Watched::NatsIdentities => nats_identity(),
            Watched::Deployments => {
                ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("apps", "v1", "Deployment"), "deployments")
            }
            Watched::Pods | Watched::NatsPods => {
                ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Pod"), "pods")
            }
            Watched::CredsSecrets => {
                ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets")
            }
            Watched::AuthzConfigMap => {
                ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "ConfigMap"), "configmaps")
            }
        }
    }

    /// `plural.group` as kubectl and RBAC messages name it.
    pub fn resource_name(self) -> String {
        let ar = self.api_resource();
        if ar.group.is_empty() { ar.plural } else { format!("{}.{}", ar.plural, ar.group) }
    }

    pub fn cluster_scoped(self) -> bool {
        matches!(self, Watched::ClusterSpiffeIds | Watched::ClusterStaticEntries)
    }
}

pub fn cluster_spiffe_id() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("spire.spiffe.io", "v1alpha1", "ClusterSPIFFEID"),
        "clusterspiffeids",
    )
}

pub fn nats_identity() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("warden.dev", "v1alpha1", "NatsIdentity"),
        "natsidentities",
    )
}
