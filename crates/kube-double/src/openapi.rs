//! Just enough OpenAPI v3 for kubectl: `/openapi/v3` lists one document per
//! group/version, and each document declares, per kind, a PATCH operation
//! accepting `fieldValidation`. kubectl then validates server-side
//! (`fieldValidation=Strict`) instead of downloading full schemas.

use serde_json::{Value, json};

use super::resources::ResourceDef;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

pub fn root(defs: &[ResourceDef]) -> Value {
    let mut paths = serde_json::Map::new();
    for d in defs {
        let p = gv_path(&d.group, &d.version);
        paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=0")}));
    }
    json!({"paths": paths})
}

pub fn group_version(defs: &[ResourceDef], group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for d in defs.iter().filter(|d| d.group == group && d.version == version) {
        let scope = if d.namespaced { "namespaces/{namespace}/" } else { "" };
        let item = format!("/{}/{scope}{}/{{name}}", gv_path(group, version), d.plural);
        let gvk = json!({"group": group, "version": version, "kind": d.kind});
        let param = json!({"name": "fieldValidation", "in": "query", "schema": {"type": "string"}});
        paths.insert(
            item,
            json!({"patch": {"x-kubernetes-group-version-kind": gvk, "parameters": [param],
                             "responses": {"200": {"description": "OK"}}}}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
