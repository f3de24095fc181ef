//! The resource types the double serves: a fixed built-in set (core, apps,
//! rbac, apiextensions) plus any
//! CustomResourceDefinition stored in it (so `kubectl apply -f crd.yaml`
//! followed by objects of that kind works like on a real cluster).

use serde_json::{Value, json};

/// One served resource (one group/version/plural).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `/status` subresource: main-resource writes keep the stored
    /// status and `/status` writes change only the status.
    pub status: bool,
    /// For a kind from a CRD: that version's `schema.openAPIV3Schema`.
    pub schema: Option<Value>,
    /// For a kind from a CRD: its `additionalPrinterColumns` (defaulted to
    /// Age like the apiserver's CRD defaulting); None for built-ins.
    pub columns: Option<Vec<Value>>,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Pods get `log` and `exec`, used by discovery and routing.
    pub fn is_pod(&self) -> bool {
        self.group.is_empty() && self.plural == "pods"
    }
}

#[allow(clippy::too_many_arguments)]
fn def(
    group: &str,
    version: &str,
    plural: &str,
    singular: &str,
    kind: &str,
    namespaced: bool,
    short: &[&str],
    status: bool,
) -> ResourceDef {
    ResourceDef {
        group: group.into(),
        version: version.into(),
        plural: plural.into(),
        singular: singular.into(),
        kind: kind.into(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: Vec::new(),
        status,
        schema: None,
        columns: None,
    }
}

/// The resources every double serves.
pub fn builtins() -> Vec<ResourceDef> {
    let mut v = vec![
        def("", "v1", "namespaces", "namespace", "Namespace", false, &["ns"], true),
        def("", "v1", "pods", "pod", "Pod", true, &["po"], true),
        def("", "v1", "secrets", "secret", "Secret", true, &[], false),
        def("", "v1", "configmaps", "configmap", "ConfigMap", true, &["cm"], false),
        def("", "v1", "services", "service", "Service", true, &["svc"], true),
        def("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, &["sa"], false),
        def("apps", "v1", "deployments", "deployment", "Deployment", true, &["deploy"], true),
        def(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "customresourcedefinition",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            true,
        ),
        def("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, &[], false),
        def(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "clusterrolebinding",
            "ClusterRoleBinding",
            false,
            &[],
            false,
        ),
        def("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, &[], false),
        // Create-only: answered from the RBAC rules (see access_review.rs).
        def(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            "SelfSubjectAccessReview",
            false,
            &[],
            false,
        ),
        def("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, &[], false),
    ];
    for d in v.iter_mut() {
        if matches!(d.plural.as_str(), "pods" | "services" | "deployments" | "configmaps" | "secrets") {
            d.categories = vec!["all".into()];
        }
    }
    v
}

/// The resources a stored CRD object declares (one per served version).
pub fn from_crd(crd: &Value) -> Vec<ResourceDef> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let (Some(group), Some(plural), Some(kind)) =
        (spec["group"].as_str(), names["plural"].as_str(), names["kind"].as_str())
    else {
        return Vec::new();
    };
    let singular = names["singular"].as_str().map(str::to_string).unwrap_or_else(|| kind.to_lowercase());
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for ver in spec["versions"].as_array().into_iter().flatten() {
        let Some(name) = ver["name"].as_str() else {
            continue;
        };
        if ver["served"] == Value::Bool(false) {
            continue;
        }
        out.push(ResourceDef {
            group: group.into(),
            version: name.into(),
            plural: plural.into(),
            singular: singular.clone(),
            kind: kind.into(),
            namespaced,
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status: ver["subresources"]["status"].is_object(),
            schema: ver["schema"]["openAPIV3Schema"].is_object().then(|| ver["schema"]["openAPIV3Schema"].clone()),
            columns: Some(match ver["additionalPrinterColumns"].as_array() {
                Some(cols) if !cols.is_empty() => cols.clone(),
                // apiextensions v1 defaulting (SetDefaults_CustomResourceDefinitionSpec)
                _ => vec![json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})],
            }),
        });
    }
    out
}
