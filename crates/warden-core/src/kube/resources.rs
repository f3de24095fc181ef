//! The Kubernetes resources warden reads and writes, as dynamic API
//! resources (no generated CRD types: the CRDs belong to SPIRE and warden).

use kube::core::{ApiResource, GroupVersionKind};

/// Everything warden watches, one store each, and each read by a view.
/// No Secret and no pod is watched here: the minted JWT is in the
/// NatsIdentity status, a creds Secret is read by name when an action needs
/// it, and the NATS pods are watched by the violation feed with its label
/// selector (least privilege: `deploy/rbac/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Watched {
    ClusterSpiffeIds,
    ClusterStaticEntries,
    NatsIdentities,
    AuthzConfigMap,
}

impl Watched {
    pub const ALL: [Watched; 4] =
        [Watched::ClusterSpiffeIds, Watched::ClusterStaticEntries, Watched::NatsIdentities, Watched::AuthzConfigMap];

    pub fn api_resource(self) -> ApiResource {
        match self {
            Watched::ClusterSpiffeIds => cluster_spiffe_id(),
            Watched::ClusterStaticEntries => ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("spire.spiffe.io", "v1alpha1", "ClusterStaticEntry"),
                "clusterstaticentries",
            ),
            Watched::NatsIdentities => nats_identity(),
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

/// Core Secrets (a creds Secret, read or written by name).
pub fn secret() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets")
}

pub fn nats_identity() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("warden.dev", "v1alpha1", "NatsIdentity"),
        "natsidentities",
    )
}
