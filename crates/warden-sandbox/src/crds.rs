//! The CustomResourceDefinitions warden relies on (`deploy/crds/`), and
//! their installation into the Kubernetes API double.

use anyhow::{Result, anyhow};
use kube_double::KubeState;

/// (file name, manifest) of every CRD in `deploy/crds/`.
pub const CRDS: [(&str, &str); 3] = [
    ("natsidentity.yaml", include_str!("../../../deploy/crds/natsidentity.yaml")),
    ("clusterspiffeid.yaml", include_str!("../../../deploy/crds/clusterspiffeid.yaml")),
    ("clusterstaticentry.yaml", include_str!("../../../deploy/crds/clusterstaticentry.yaml")),
];

/// Creates (or replaces) every CRD of [`CRDS`] in the double, as
/// `kubectl apply -f deploy/crds/` would.
pub fn install(k: &KubeState) -> Result<()> {
    for (file, text) in CRDS {
        k.apply_manifest(text).map_err(|e| anyhow!("installing {file}: {}", e.message))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_documents(text: &str) -> Vec<serde_json::Value> {
        use serde::Deserialize;
        serde_yaml::Deserializer::from_str(text).map(|d| serde_json::Value::deserialize(d).unwrap()).collect()
    }

    #[test]
    fn every_crd_parses_into_one_structural_definition() {
        for (file, text) in CRDS {
            let docs = parse_documents(text);
            assert_eq!(docs.len(), 1, "{file}");
            let d = &docs[0];
            assert_eq!(d["kind"], "CustomResourceDefinition", "{file}");
            let v = &d["spec"]["versions"][0];
            assert_eq!(v["subresources"]["status"], serde_json::json!({}), "{file}");
            assert_eq!(v["schema"]["openAPIV3Schema"]["type"], "object", "{file}");
        }
    }

    #[test]
    fn clusterspiffeid_schema_matches_the_upstream_types() {
        // api/v1alpha1/clusterspiffeid_types.go
        let d = &parse_documents(CRDS[1].1)[0];
        assert_eq!(d["spec"]["scope"], "Cluster");
        let s = &d["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let spec = s["spec"]["properties"].as_object().unwrap();
        let mut keys: Vec<&str> = spec.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "admin",
                "autoPopulateDNSNames",
                "className",
                "dnsNameTemplates",
                "downstream",
                "fallback",
                "federatesWith",
                "hint",
                "jwtTtl",
                "namespaceSelector",
                "podSelector",
                "spiffeIDTemplate",
                "ttl",
                "workloadSelectorTemplates"
            ]
        );
        assert_eq!(spec["ttl"]["type"], "string");
        assert_eq!(spec["podSelector"]["properties"]["matchLabels"]["additionalProperties"]["type"], "string");
        let stats = s["status"]["properties"]["stats"]["properties"].as_object().unwrap();
        assert_eq!(stats.len(), 7);
        assert!(stats.values().all(|f| f["type"] == "integer"));
    }
}
