//! `application/json;as=Table;g=meta.k8s.io;v=v1`: what kubectl get asks
//! for so the server picks the columns (Name, Age; pods add Ready, Status,
//! Restarts).

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

pub fn table(def: &ResourceDef, items: &[Value], meta: Value, include_object: bool) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

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
