//! `application/json;as=Table;g=meta.k8s.io;v=v1`: what kubectl get asks
//! for so the server picks the columns (Name, Age; pods add Ready, Status,
//! Restarts).

use serde_json::{Value, json};

use super::resources::ResourceDef;

fn column(name: &str, ty: &str, format: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": 0})
}

fn pod_cells(o: &Value) -> Vec<Value> {
    let cs = o["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(cs.len(), |c| c.len());
    let ready = cs.iter().filter(|c| c["ready"] == json!(true)).count();
    let restarts: i64 = cs.iter().map(|c| c["restartCount"].as_i64().unwrap_or(0)).sum();
    vec![json!(format!("{ready}/{total}")), o["status"]["phase"].clone(), json!(restarts)]
}

pub fn table(def: &ResourceDef, items: &[Value], meta: Value, include_object: bool) -> Value {
    let mut cols = vec![column("Name", "string", "name")];
    if def.is_pod() {
        cols.push(column("Ready", "string", ""));
        cols.push(column("Status", "string", ""));
        cols.push(column("Restarts", "integer", ""));
    }
    cols.push(column("Age", "string", "date"));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            if def.is_pod() {
                cells.extend(pod_cells(o));
            }
            cells.push(o["metadata"]["creationTimestamp"].clone());
            let object = if include_object {
                o.clone()
            } else {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": o["metadata"]})
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": cols,
        "rows": rows,
    })
}
