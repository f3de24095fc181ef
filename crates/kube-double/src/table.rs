//! `application/json;as=Table;g=meta.k8s.io;v=v1`: what kubectl get asks
//! for so the server picks the columns (Name, Age; pods add Ready, Status,
//! Restarts; custom resources their CRD's additionalPrinterColumns, after
//! apiextensions-apiserver pkg/registry/customresource/tableconvertor).

use serde_json::{Value, json};

use super::resources::ResourceDef;

fn column(name: &str, ty: &str, format: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": 0})
}

/// Age like apimachinery's `duration.HumanDuration` ("45s", "3m12s", "5d").
pub fn human_age(secs: i64) -> String {
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    match secs {
        s if s < -1 => "<invalid>".into(),
        s if s < 0 => "0s".into(),
        s if s < 120 => format!("{s}s"),
        s if s < 600 => match s % 60 {
            0 => format!("{m}m"),
            r => format!("{m}m{r}s"),
        },
        s if s < 3 * 3600 => format!("{m}m"),
        s if s < 8 * 3600 => match m % 60 {
            0 => format!("{h}h"),
            r => format!("{h}h{r}m"),
        },
        s if s < 48 * 3600 => format!("{h}h"),
        s if s < 8 * 86_400 => match h % 24 {
            0 => format!("{d}d"),
            r => format!("{d}d{r}h"),
        },
        s if s < 2 * 365 * 86_400 => format!("{d}d"),
        s if s < 8 * 365 * 86_400 => match d % 365 {
            0 => format!("{}y", d / 365),
            r => format!("{}y{r}d", d / 365),
        },
        _ => format!("{}y", d / 365),
    }
}

/// Seconds since an RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` timestamp.
fn age_of(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days-from-civil (H. Hinnant), inverse of util::rfc3339.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some((super::util::now_nanos() / 1_000_000_000) as i64 - t)
}

fn pod_cells(o: &Value) -> Vec<Value> {
    let cs = o["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(cs.len(), |c| c.len());
    let ready = cs.iter().filter(|c| c["ready"] == json!(true)).count();
    let restarts: i64 = cs.iter().map(|c| c["restartCount"].as_i64().unwrap_or(0)).sum();
    vec![json!(format!("{ready}/{total}")), o["status"]["phase"].clone(), json!(restarts)]
}

/// One step of a simple JSONPath (`.a.b[0].c`, `.metadata.labels.app\.io`,
/// `['key']`).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses the simple JSONPath CRD printer columns use; None if it is
/// anything fancier (filters, wildcards, ranges).
fn parse_path(p: &str) -> Option<Vec<Step>> {
    let p = p.trim();
    let p = p.strip_prefix('{').and_then(|q| q.strip_suffix('}')).unwrap_or(p);
    let p = p.strip_prefix('$').unwrap_or(p);
    let mut steps = Vec::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&n) = chars.peek() {
                    match n {
                        '\\' => {
                            chars.next();
                            key.push(chars.next()?);
                        }
                        '.' | '[' => break,
                        _ => {
                            key.push(n);
                            chars.next();
                        }
                    }
                }
                if key.is_empty() || key == "*" {
                    return None;
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut inner = String::new();
                loop {
                    match chars.next()? {
                        ']' => break,
                        c => inner.push(c),
                    }
                }
                let quoted = inner.strip_prefix('\'').and_then(|q| q.strip_suffix('\''));
                match quoted {
                    Some(k) => steps.push(Step::Key(k.to_string())),
                    None => steps.push(Step::Index(inner.trim().parse().ok()?)),
                }
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// The value at a simple JSONPath, if present.
pub fn eval<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for s in parse_path(path)? {
        cur = match s {
            Step::Key(k) => cur.as_object()?.get(&k)?,
            Step::Index(i) => cur.as_array()?.get(i)?,
        };
    }
    Some(cur)
}

/// One cell of a CRD column (tableconvertor.go): a missing value is null
/// (kubectl prints `<none>`); `string` columns print the value; `date`
/// is a human age; other types keep their JSON value when it fits.
fn crd_cell(ty: &str, v: Option<&Value>) -> Value {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match ty {
        "string" => match v {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
        "integer" => v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).map_or(Value::Null, |n| json!(n)),
        "number" => v.as_f64().map_or(Value::Null, |n| json!(n)),
        "boolean" => v.as_bool().map_or(Value::Null, |b| json!(b)),
        "date" => match v.as_str() {
            Some(s) => json!(age_of(s).map_or_else(|| "<invalid>".to_string(), human_age)),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

fn crd_table(cols: &[Value], items: &[Value], meta: Value, include_object: bool) -> Value {
    let mut defs = vec![json!({"name": "Name", "type": "string", "format": "name",
        "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        "priority": 0})];
    for c in cols {
        let path = c["jsonPath"].as_str().unwrap_or("");
        let desc = match c["description"].as_str() {
            Some(d) if !d.is_empty() => d.to_string(),
            _ => format!("Custom resource definition column (in JSONPath format): {path}"),
        };
        defs.push(json!({"name": c["name"], "type": c["type"], "format": c["format"].as_str().unwrap_or(""),
            "description": desc, "priority": c["priority"].as_i64().unwrap_or(0)}));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            for c in cols {
                let v = eval(o, c["jsonPath"].as_str().unwrap_or(""));
                cells.push(crd_cell(c["type"].as_str().unwrap_or("string"), v));
            }
            json!({"cells": cells, "object": row_object(o, include_object)})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs, "rows": rows})
}

fn row_object(o: &Value, include_object: bool) -> Value {
    if include_object {
        o.clone()
    } else {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]})
    }
}

pub fn table(def: &ResourceDef, items: &[Value], meta: Value, include_object: bool) -> Value {
    if let Some(cols) = &def.columns {
        return crd_table(cols, items, meta, include_object);
    }
    let mut cols = vec![column("Name", "string", "name")];
    if def.is_pod() {
        cols.push(column("Ready", "string", ""));
        cols.push(column("Status", "string", ""));
        cols.push(column("Restarts", "integer", ""));
    }
    cols.push(column("Age", "string", ""));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            if def.is_pod() {
                cells.extend(pod_cells(o));
            }
            let age = o["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(age_of)
                .map_or_else(|| "<unknown>".to_string(), human_age);
            cells.push(json!(age));
            json!({"cells": cells, "object": row_object(o, include_object)})
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_jsonpath() {
        let o = json!({"spec": {"a": [{"c": 1}, {"c": "two"}]}, "metadata": {"labels": {"app.io/x": "y"}}});
        assert_eq!(eval(&o, ".spec.a[1].c"), Some(&json!("two")));
        assert_eq!(eval(&o, "{.spec.a[0].c}"), Some(&json!(1)));
        assert_eq!(eval(&o, ".metadata.labels.app\\.io/x"), Some(&json!("y")));
        assert_eq!(eval(&o, ".metadata.labels['app.io/x']"), Some(&json!("y")));
        assert_eq!(eval(&o, ".spec.a[5].c"), None);
        assert_eq!(eval(&o, ".spec.missing"), None);
        for bad in ["", ".", "spec", ".spec[x]", ".spec.a[*]", ".spec.a[0"] {
            assert!(parse_path(bad).is_none() || bad.is_empty(), "{bad}");
        }
        assert_eq!(crd_cell("string", Some(&json!(3))), json!("3"));
        assert_eq!(crd_cell("integer", Some(&json!(3.0))), json!(3));
        assert_eq!(crd_cell("boolean", Some(&json!("x"))), Value::Null);
        assert_eq!(crd_cell("date", Some(&json!("nope"))), json!("<invalid>"));
        assert_eq!(crd_cell("string", None), Value::Null);
    }

    #[test]
    fn crd_columns_and_priority() {
        let cols = vec![
            json!({"name": "Phase", "type": "string", "jsonPath": ".status.phase"}),
            json!({"name": "Wide", "type": "integer", "jsonPath": ".spec.n", "priority": 1}),
        ];
        let t = crd_table(&cols, &[json!({"metadata": {"name": "a"}, "spec": {"n": 2}})], json!({}), false);
        assert_eq!(t["columnDefinitions"][2]["priority"], 1);
        assert_eq!(t["rows"][0]["cells"], json!(["a", null, 2]));
    }

    proptest::proptest! {
        #[test]
        fn jsonpath_never_panics(p in ".{0,20}") {
            let _ = eval(&json!({"a": [1]}), &p);
        }
    }

    #[test]
    fn ages() {
        assert_eq!(human_age(5), "5s");
        assert_eq!(human_age(192), "3m12s");
        assert_eq!(human_age(4 * 3600 + 60), "4h1m");
        assert_eq!(human_age(3 * 86_400), "3d");
        let now = (super::super::util::now_nanos() / 1_000_000_000) as i64;
        let a = age_of(&super::super::util::rfc3339(now - 30)).unwrap();
        assert!((30..=31).contains(&a));
        assert_eq!(age_of("garbage"), None);
        assert_eq!(age_of("2024-xx-01T00:00:00Z"), None);
    }
}
