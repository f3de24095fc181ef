//! Label selectors (`metav1.LabelSelectorAsSelector`), and which namespaces
//! and pods a ClusterSPIFFEID selects (`ListNamespaces` /
//! `ListNamespacePods`, pkg/k8sapi/helpers.go).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `metav1.LabelSelector`; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses a selector object; `null`/absent is `Ok(None)` (no selector:
    /// everything, as in `ParseClusterSPIFFEIDSpec`).
    pub fn parse(v: &Value) -> Result<Option<LabelSelector>, String> {
        if v.is_null() {
            return Ok(None);
        }
        let obj = v.as_object().ok_or("a label selector must be an object")?;
        let mut reqs = Vec::new();
        if let Some(ml) = obj.get("matchLabels").filter(|m| !m.is_null()) {
            for (k, val) in ml.as_object().ok_or("matchLabels must be an object")? {
                let val = val.as_str().ok_or_else(|| format!("matchLabels[{k}] must be a string"))?;
                reqs.push(Requirement::In(k.clone(), vec![val.to_string()]));
            }
        }
        if let Some(me) = obj.get("matchExpressions").filter(|m| !m.is_null()) {
            for e in me.as_array().ok_or("matchExpressions must be an array")? {
                let key = e["key"].as_str().filter(|k| !k.is_empty()).ok_or("a requirement needs a key")?.to_string();
                let values: Vec<String> = match &e["values"] {
                    Value::Null => Vec::new(),
                    Value::Array(a) => a
                        .iter()
                        .map(|s| s.as_str().map(str::to_string).ok_or("values must be strings"))
                        .collect::<Result<_, _>>()?,
                    _ => return Err("values must be an array".into()),
                };
                let op = e["operator"].as_str().unwrap_or("");
                let req = match op {
                    "In" | "NotIn" if values.is_empty() => {
                        return Err(format!("{key}: values must be non-empty for operator {op}"));
                    }
                    "Exists" | "DoesNotExist" if !values.is_empty() => {
                        return Err(format!("{key}: values must be empty for operator {op}"));
                    }
                    "In" => Requirement::In(key, values),
                    "NotIn" => Requirement::NotIn(key, values),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::DoesNotExist(key),
                    other => return Err(format!("{other:?} is not a valid label selector operator")),
                };
                reqs.push(req);
            }
        }
        Ok(Some(LabelSelector { reqs }))
    }

    /// Whether `labels` (an object of strings, or null) satisfy every requirement.
    pub fn matches(&self, labels: &Value) -> bool {
        let empty = Map::new();
        let labels = labels.as_object().unwrap_or(&empty);
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.reqs.iter().all(|r| match r {
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

/// Whether an optional selector (None: everything) matches.
pub fn selects(sel: Option<&LabelSelector>, labels: &Value) -> bool {
    sel.is_none_or(|s| s.matches(labels))
}

/// A namespace's labels as the apiserver keeps them: it always sets
/// `kubernetes.io/metadata.name` to the name (the double does not yet).
pub fn namespace_labels(ns: &Value) -> Value {
    let mut labels = ns["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    if let Some(name) = ns["metadata"]["name"].as_str() {
        labels.entry("kubernetes.io/metadata.name").or_insert_with(|| Value::from(name));
    }
    Value::Object(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(v: Value) -> LabelSelector {
        LabelSelector::parse(&v).unwrap().unwrap()
    }

    #[test]
    fn match_labels_and_expressions() {
        let l = json!({"app": "a", "tier": "web"});
        assert!(sel(json!({"matchLabels": {"app": "a"}})).matches(&l));
        assert!(!sel(json!({"matchLabels": {"app": "b"}})).matches(&l));
        assert!(!sel(json!({"matchLabels": {"app": "a", "x": "y"}})).matches(&l));
        let ex =
            |op: &str, vals: Value| sel(json!({"matchExpressions": [{"key": "tier", "operator": op, "values": vals}]}));
        assert!(ex("In", json!(["db", "web"])).matches(&l));
        assert!(!ex("In", json!(["db"])).matches(&l));
        assert!(ex("NotIn", json!(["db"])).matches(&l));
        assert!(!ex("NotIn", json!(["web"])).matches(&l));
        assert!(ex("NotIn", json!(["web"])).matches(&json!({"app": "a"})), "NotIn matches an absent key");
        assert!(ex("Exists", json!([])).matches(&l));
        assert!(!ex("Exists", json!(null)).matches(&json!({})));
        assert!(ex("DoesNotExist", json!(null)).matches(&json!({"app": "a"})));
        assert!(!ex("DoesNotExist", json!(null)).matches(&l));
        assert!(sel(json!({})).matches(&json!(null)), "the empty selector matches everything");
        assert_eq!(LabelSelector::parse(&json!(null)).unwrap(), None);
    }

    #[test]
    fn invalid_selectors_are_errors() {
        for bad in [
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Like", "values": ["x"]}]}),
            json!({"matchExpressions": [{"operator": "Exists"}]}),
            json!({"matchLabels": {"a": 1}}),
            json!("app=a"),
        ] {
            assert!(LabelSelector::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_carry_their_name_label() {
        let l = namespace_labels(&json!({"metadata": {"name": "tent-dev", "labels": {"x": "y"}}}));
        assert_eq!(l, json!({"x": "y", "kubernetes.io/metadata.name": "tent-dev"}));
    }
}
