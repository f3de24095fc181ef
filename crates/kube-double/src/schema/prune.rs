//! Pruning of fields a structural schema does not know, after
//! apiextensions-apiserver pkg/apiserver/schema/pruning/algorithm.go
//! (PruneWithOptions with the root treated as an embedded resource, paths
//! recorded as `a.b[0].c` like UnknownFieldPathOptions), plus
//! pkg/apiserver/schema/defaulting/prunenulls.go: a null in an object field
//! whose schema is neither nullable nor defaulted is dropped.

use serde_json::Value;

const META: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Prunes `obj` (a whole custom resource) in place; returns the paths of
/// the removed unknown fields, sorted.
pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    walk(obj, Some(schema), true, &mut path, &mut out, 0);
    out.sort();
    out
}

fn flag(s: Option<&Value>, k: &str) -> bool {
    s.is_some_and(|s| s.get(k) == Some(&Value::Bool(true)))
}

fn sub<'a>(s: Option<&'a Value>, k: &str) -> Option<&'a Value> {
    s.and_then(|s| s.get(k)).filter(|v| v.is_object())
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn walk(x: &mut Value, s: Option<&Value>, embedded: bool, path: &mut String, out: &mut Vec<String>, depth: usize) {
    if depth > 256 {
        return;
    }
    let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
    let embedded = embedded || flag(s, "x-kubernetes-embedded-resource");
    let len = path.len();
    match x {
        Value::Object(map) => {
            let props = sub(s, "properties");
            let additional = sub(s, "additionalProperties");
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if embedded && META.contains(&k.as_str()) {
                    continue;
                }
                let known = props.and_then(|p| p.get(&k)).or(additional);
                match known {
                    Some(ks) => {
                        if map.get(&k).is_some_and(Value::is_null)
                            && !flag(Some(ks), "nullable")
                            && ks.get("default").is_none()
                        {
                            map.remove(&k);
                            continue;
                        }
                        push_key(path, &k);
                        if let Some(v) = map.get_mut(&k) {
                            walk(v, Some(ks), false, path, out, depth + 1);
                        }
                        path.truncate(len);
                    }
                    None if preserve => {}
                    None => {
                        // the root's own apiVersion/kind/metadata are never
                        // recorded (handled by the embedded check above)
                        push_key(path, &k);
                        out.push(path.clone());
                        path.truncate(len);
                        map.remove(&k);
                    }
                }
            }
        }
        Value::Array(items) => {
            let item_schema = sub(s, "items");
            for (i, v) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                if s.is_some() && item_schema.is_none() && preserve {
                    // skipPrune of items without a schema: nothing to do
                } else {
                    walk(v, item_schema, false, path, out, depth + 1);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_unknown_keeps_preserved() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "a": {"type": "string"},
                "list": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                         "properties": {"inner": {"type": "object", "properties": {}}}},
                "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"k": {"type": "string"}}}},
                "opt": {"type": "string"},
                "nul": {"type": "string", "nullable": true}
            }}
        }});
        let mut obj = json!({
            "apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "whatever": 1},
            "spec": {"a": "1", "foo": 2, "list": [{"n": 1, "bad": 2}], "free": {"any": 1, "inner": {"gone": 1}},
                     "m": {"x": {"k": "v", "drop": 1}}, "opt": null, "nul": null},
            "extra": true
        });
        let unknown = prune(&mut obj, &schema);
        assert_eq!(unknown, ["extra", "spec.foo", "spec.free.inner.gone", "spec.list[0].bad", "spec.m.x.drop"]);
        assert_eq!(
            obj,
            json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a", "whatever": 1},
                "spec": {"a": "1", "list": [{"n": 1}], "free": {"any": 1, "inner": {}}, "m": {"x": {"k": "v"}}, "nul": null}})
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_is_idempotent(
            v in super::super::validate::tests::arb_json(), s in super::super::validate::tests::arb_json()
        ) {
            let mut a = v.clone();
            prune(&mut a, &s);
            let mut b = a.clone();
            let again = prune(&mut b, &s);
            proptest::prop_assert!(again.is_empty());
            proptest::prop_assert_eq!(a, b);
        }
    }
}
