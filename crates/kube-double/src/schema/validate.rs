//! OpenAPI v3 validation of a custom resource against its structural
//! schema, with kube-openapi's wording (pkg/validation/validate: type.go,
//! formats.go, object_validator.go, slice_validator.go, values.go; messages
//! from pkg/validation/errors/schema.go) and apiextensions' mapping to
//! field errors (pkg/apiserver/validation/validation.go). `pattern` is not
//! checked: the double has no regex engine.

use serde_json::{Value, json};

use super::format;
use super::{Cause, FieldError, go_quote};

/// The child path as kube-openapi builds it (`a.b`, `a[0]`), without the
/// leading dot apiextensions trims.
fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// The JSON type name kube-openapi infers for a value.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_whole(v: &Value) -> bool {
    v.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn flag(schema: &Value, k: &str) -> bool {
    schema.get(k) == Some(&Value::Bool(true))
}

/// `%v` of a number bound (float64 in Go: 1 not 1.0).
fn num_text(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => v.to_string(),
    }
}

fn type_error(path: &str, ty: &str, found: &str) -> FieldError {
    FieldError {
        cause: Cause::TypeInvalid,
        field: path.to_string(),
        value: Some(json!(found)),
        detail: format!("{path} in body must be of type {ty}: {}", go_quote(found)),
    }
}

fn invalid(path: &str, value: Value, detail: String) -> FieldError {
    FieldError { cause: Cause::Invalid, field: path.to_string(), value: Some(value), detail }
}

/// Errors of `value` at `path` (dotted, "" for the root) against `schema`.
pub fn validate(schema: &Value, value: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk(schema, value, path, &mut errs, 0);
    errs
}

fn walk(schema: &Value, value: &Value, path: &str, errs: &mut Vec<FieldError>, depth: usize) {
    if !schema.is_object() || depth > 256 {
        return;
    }
    let ty = schema["type"].as_str().unwrap_or("");
    let int_or_string = flag(schema, "x-kubernetes-int-or-string");
    // type.go
    if value.is_null() {
        if !ty.is_empty() && !flag(schema, "nullable") {
            errs.push(type_error(path, ty, "null"));
        }
    } else if int_or_string {
        if !(value.is_string() || type_of(value) == "integer" || is_whole(value)) {
            errs.push(type_error(path, "integer,string", type_of(value)));
        }
    } else if !ty.is_empty() {
        let found = type_of(value);
        let ok = found == ty
            || (ty == "number" && found == "integer")
            || (ty == "integer" && found == "number" && is_whole(value));
        if !ok {
            errs.push(type_error(path, ty, found));
        }
    }
    match value {
        Value::String(s) => {
            // string validator (values.go) then format validator
            let n = s.chars().count() as u64;
            if let Some(max) = schema["maxLength"].as_u64()
                && n > max
            {
                let unit = if max == 1 { "byte" } else { "bytes" };
                errs.push(FieldError {
                    cause: Cause::TooLong,
                    field: path.to_string(),
                    value: None,
                    detail: format!("may not be more than {max} {unit}"),
                });
            }
            if let Some(min) = schema["minLength"].as_u64()
                && n < min
            {
                errs.push(invalid(path, value.clone(), format!("{path} in body should be at least {min} chars long")));
            }
            if let Some(f) = schema["format"].as_str()
                && format::check(f, s) == Some(false)
            {
                errs.push(FieldError {
                    cause: Cause::TypeInvalid,
                    field: path.to_string(),
                    value: Some(value.clone()),
                    detail: format!("{path} in body must be of type {f}: {}", go_quote(s)),
                });
            }
        }
        Value::Number(_) => {
            let x = value.as_f64().unwrap_or(0.0);
            if let Some(max) = schema.get("maximum").filter(|m| m.is_number()) {
                let m = max.as_f64().unwrap_or(f64::MAX);
                if flag(schema, "exclusiveMaximum") && x >= m {
                    errs.push(invalid(
                        path,
                        value.clone(),
                        format!("{path} in body should be less than {}", num_text(max)),
                    ));
                } else if x > m {
                    errs.push(invalid(
                        path,
                        value.clone(),
                        format!("{path} in body should be less than or equal to {}", num_text(max)),
                    ));
                }
            }
            if let Some(min) = schema.get("minimum").filter(|m| m.is_number()) {
                let m = min.as_f64().unwrap_or(f64::MIN);
                if flag(schema, "exclusiveMinimum") && x <= m {
                    errs.push(invalid(
                        path,
                        value.clone(),
                        format!("{path} in body should be greater than {}", num_text(min)),
                    ));
                } else if x < m {
                    errs.push(invalid(
                        path,
                        value.clone(),
                        format!("{path} in body should be greater than or equal to {}", num_text(min)),
                    ));
                }
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(min) = schema["minItems"].as_u64()
                && n < min
            {
                errs.push(invalid(path, json!(n), format!("{path} in body should have at least {min} items")));
            }
            if let Some(max) = schema["maxItems"].as_u64()
                && n > max
            {
                let unit = if max == 1 { "item" } else { "items" };
                errs.push(FieldError {
                    cause: Cause::TooMany,
                    field: path.to_string(),
                    value: Some(json!(n)),
                    detail: format!("must have at most {max} {unit}"),
                });
            }
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, it) in items.iter().enumerate() {
                    walk(item_schema, it, &format!("{path}[{i}]"), errs, depth + 1);
                }
            }
        }
        _ => {}
    }
    // common validator: enum
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.iter().any(|a| same(a, value))
    {
        let values: Vec<String> = allowed
            .iter()
            .map(|a| go_quote(a.as_str().map(str::to_string).unwrap_or_else(|| a.to_string()).as_str()))
            .collect();
        errs.push(FieldError {
            cause: Cause::NotSupported,
            field: path.to_string(),
            value: Some(value.clone()),
            detail: if values.is_empty() { String::new() } else { format!("supported values: {}", values.join(", ")) },
        });
    }
    // object validator
    if let Value::Object(map) = value {
        let props = schema["properties"].as_object();
        for (k, v) in map {
            if let Some(ps) = props.and_then(|p| p.get(k)) {
                walk(ps, v, &child(path, k), errs, depth + 1);
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                walk(ap, v, &child(path, k), errs, depth + 1);
            }
        }
        for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                errs.push(FieldError {
                    cause: Cause::Required,
                    field: child(path, r),
                    value: None,
                    detail: String::new(),
                });
            }
        }
    }
}

/// Enum membership: JSON equality, with 1 == 1.0.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["workload"], "properties": {
                "workload": {"type": "string", "minLength": 2, "maxLength": 5},
                "mode": {"type": "string", "enum": ["jwt", "spiffe"]},
                "n": {"type": "integer", "minimum": 1, "maximum": 3},
                "ratio": {"type": "number", "nullable": true},
                "port": {"x-kubernetes-int-or-string": true},
                "tags": {"type": "array", "maxItems": 2, "minItems": 1, "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "when": {"type": "string", "format": "date-time"},
                "big": {"type": "integer", "format": "int32"}
            }}
        }})
    }

    fn msgs(v: Value) -> Vec<String> {
        validate(&schema(), &v, "").iter().map(FieldError::message).collect()
    }

    #[test]
    fn valid_object_has_no_errors() {
        let v = json!({"spec": {"workload": "ab", "mode": "jwt", "n": 2, "ratio": null, "port": "http",
            "tags": ["a"], "labels": {"x": "y"}, "when": "2024-01-01T00:00:00Z", "big": 99999999999i64}});
        assert_eq!(msgs(v), Vec::<String>::new());
        assert!(msgs(json!({"spec": {"workload": "ab", "n": 2.0, "port": 80}})).is_empty());
    }

    #[test]
    fn wording_matches_kube_openapi() {
        let m = msgs(json!({"spec": {"mode": "x", "n": "2", "when": "", "tags": [1, "a", "b"],
            "labels": {"k": 5}, "workload": "toolong", "port": true}}));
        let want = [
            "spec.labels.k: Invalid value: \"integer\": spec.labels.k in body must be of type string: \"integer\"",
            "spec.mode: Unsupported value: \"x\": supported values: \"jwt\", \"spiffe\"",
            "spec.n: Invalid value: \"string\": spec.n in body must be of type integer: \"string\"",
            "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
            "spec.tags: Too many: 3: must have at most 2 items",
            "spec.tags[0]: Invalid value: \"integer\": spec.tags[0] in body must be of type string: \"integer\"",
            "spec.when: Invalid value: \"\": spec.when in body must be of type date-time: \"\"",
            "spec.workload: Too long: may not be more than 5 bytes",
        ];
        for w in want {
            assert!(m.contains(&w.to_string()), "missing {w}\nin {m:#?}");
        }
        assert_eq!(m.len(), want.len(), "{m:#?}");
        let m = msgs(json!({"spec": {"n": 0, "workload": "a", "tags": []}}));
        assert!(m.contains(&"spec.n: Invalid value: 0: spec.n in body should be greater than or equal to 1".into()));
        assert!(m.contains(
            &"spec.workload: Invalid value: \"a\": spec.workload in body should be at least 2 chars long".into()
        ));
        assert!(m.contains(&"spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items".into()));
        let m = msgs(json!({"spec": {}}));
        assert_eq!(m, ["spec.workload: Required value"]);
        let m = msgs(json!({"spec": {"workload": null}}));
        assert_eq!(
            m,
            ["spec.workload: Invalid value: \"null\": spec.workload in body must be of type string: \"null\""]
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(v in arb_json(), s in arb_json()) {
            let _ = validate(&schema(), &v, "");
            let _ = validate(&s, &v, "");
            let _ = validate(&v, &s, "x");
        }
    }

    pub fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "(type|object|string|integer|array|number|enum|items|properties|required|format|date-time|[a-z]{0,3})"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(
                    "(type|properties|items|required|enum|minimum|maxLength|nullable|additionalProperties|x-kubernetes-preserve-unknown-fields|spec|[a-z]{1,2})",
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
