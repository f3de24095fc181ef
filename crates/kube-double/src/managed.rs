//! `metadata.managedFields` and server-side apply, a reading of
//! structured-merge-diff (merge/update.go: Update and Apply) as the
//! apiserver uses it (apimachinery pkg/util/managedfields/internal:
//! stripmeta.go for the fields never tracked, managedfields.go for the
//! manager identity, conflict.go for the 409). Without per-kind schemas
//! every JSON object is a granular map and every list is atomic (what a
//! CRD list without `x-kubernetes-list-type` is).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::schema::go_quote;

/// A field path as fieldsV1 keys (`f:spec`, `f:ttl`).
pub type Path = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub set: BTreeSet<Path>,
}

impl Entry {
    /// BuildManagerIdentifier: appliers are one manager whatever the
    /// apiVersion; updaters are one per apiVersion.
    fn same_manager(&self, manager: &str, operation: &str, api_version: &str, subresource: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// conflict.go printManager.
    fn printed(&self) -> String {
        let mut s = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {}", go_quote(&self.subresource));
        }
        if self.operation == "Update" {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }
}

/// stripmeta.go: apiVersion, kind and these metadata fields are never owned.
fn stripped(path: &[String]) -> bool {
    match path {
        [a] => a == "f:apiVersion" || a == "f:kind",
        [m, f, ..] if m == "f:metadata" => matches!(
            f.as_str(),
            "f:name"
                | "f:namespace"
                | "f:creationTimestamp"
                | "f:selfLink"
                | "f:uid"
                | "f:clusterName"
                | "f:generation"
                | "f:managedFields"
                | "f:resourceVersion"
                | "f:deletionTimestamp"
        ),
        _ => false,
    }
}

/// Leaves (scalars, lists, empty maps) with their values, and the
/// non-empty maps, of an object.
pub fn fields(v: &Value) -> (BTreeMap<Path, Value>, BTreeSet<Path>) {
    let mut leaves = BTreeMap::new();
    let mut maps = BTreeSet::new();
    let mut path = Vec::new();
    if let Value::Object(m) = v {
        for (k, c) in m {
            path.push(format!("f:{k}"));
            collect(c, &mut path, &mut leaves, &mut maps, 0);
            path.pop();
        }
    }
    (leaves, maps)
}

fn collect(v: &Value, path: &mut Path, leaves: &mut BTreeMap<Path, Value>, maps: &mut BTreeSet<Path>, depth: usize) {
    if stripped(path) {
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() && depth < 128 => {
            if path.as_slice() != ["f:metadata"] {
                maps.insert(path.clone());
            }
            for (k, c) in m {
                path.push(format!("f:{k}"));
                collect(c, path, leaves, maps, depth + 1);
                path.pop();
            }
        }
        other => {
            leaves.insert(path.clone(), other.clone());
        }
    }
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = cur.as_object()?.get(seg.strip_prefix("f:")?)?;
    }
    Some(cur)
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut cur = v;
    for seg in parents {
        let Some(next) = seg.strip_prefix("f:").and_then(|k| cur.as_object_mut()?.get_mut(k)) else { return };
        cur = next;
    }
    if let (Some(m), Some(k)) = (cur.as_object_mut(), last.strip_prefix("f:")) {
        m.remove(k);
    }
}

/// `.spec.ttl`, as fieldpath.Path prints.
pub fn path_string(path: &[String]) -> String {
    path.iter().map(|s| format!(".{}", s.strip_prefix("f:").unwrap_or(s))).collect()
}

fn decode(node: &Value, prefix: &mut Path, set: &mut BTreeSet<Path>, depth: usize) {
    let Some(m) = node.as_object() else { return };
    if depth > 128 {
        return;
    }
    for (k, c) in m {
        if k == "." {
            if !prefix.is_empty() {
                set.insert(prefix.clone());
            }
            continue;
        }
        prefix.push(k.clone());
        if c.as_object().is_some_and(Map::is_empty) {
            set.insert(prefix.clone());
        } else {
            decode(c, prefix, set, depth + 1);
        }
        prefix.pop();
    }
}

/// The FieldsV1 encoding of a set: nested `f:` keys, `{}` for a member
/// leaf, `".": {}` for a member that also has members below it.
pub fn encode(set: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in set {
        let mut cur = &mut root;
        for seg in p {
            let next = cur.entry(seg.clone()).or_insert_with(|| json!({}));
            if !next.is_object() {
                *next = json!({});
            }
            cur = next.as_object_mut().expect("object just ensured");
        }
    }
    // mark members that have children
    for p in set {
        let mut cur = &mut root;
        for seg in p {
            cur = cur.get_mut(seg).and_then(Value::as_object_mut).expect("inserted above");
        }
        if !cur.is_empty() && !cur.contains_key(".") {
            cur.insert(".".into(), json!({}));
        }
    }
    Value::Object(root)
}

pub fn parse_entries(obj: &Value) -> Vec<Entry> {
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or("").to_string();
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e.is_object())
        .map(|e| {
            let mut set = BTreeSet::new();
            decode(&e["fieldsV1"], &mut Vec::new(), &mut set, 0);
            Entry {
                manager: s(e, "manager"),
                operation: s(e, "operation"),
                api_version: s(e, "apiVersion"),
                time: s(e, "time"),
                subresource: s(e, "subresource"),
                set,
            }
        })
        .collect()
}

pub fn write_entries(obj: &mut Value, entries: Vec<Entry>) {
    if !obj.is_object() {
        return;
    }
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": encode(&e.set),
            });
            if !e.subresource.is_empty() {
                v["subresource"] = json!(e.subresource);
            }
            v
        })
        .collect();
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        if list.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Records an Update by `manager`: fields it added or changed become its
/// own (and no longer anyone else's), removed fields are nobody's.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    now: &str,
) {
    let empty = json!({});
    let (old_leaves, old_maps) = fields(old.unwrap_or(&empty));
    let (new_leaves, new_maps) = fields(new);
    let mut changed: BTreeSet<Path> = BTreeSet::new();
    for (p, v) in &new_leaves {
        if old_leaves.get(p) != Some(v) {
            changed.insert(p.clone());
        }
    }
    for p in &new_maps {
        if !old_maps.contains(p) {
            changed.insert(p.clone());
        }
    }
    let removed: BTreeSet<Path> = old_leaves
        .keys()
        .chain(old_maps.iter())
        .filter(|p| !new_leaves.contains_key(*p) && !new_maps.contains(*p))
        .cloned()
        .collect();
    let mut entries = parse_entries(new);
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        e.set.retain(|p| !removed.contains(p));
        if !e.same_manager(manager, "Update", api_version, subresource) {
            e.set.retain(|p| !changed.contains(p));
        }
    }
    match entries.iter_mut().find(|e| e.same_manager(manager, "Update", api_version, subresource)) {
        Some(e) => {
            e.set.extend(changed);
            e.time = now.to_string();
        }
        None => entries.push(Entry {
            manager: manager.into(),
            operation: "Update".into(),
            api_version: api_version.into(),
            time: now.into(),
            subresource: subresource.into(),
            set: changed,
        }),
    }
    write_entries(new, entries);
}

/// Deep merge of an applied configuration into the live object: maps
/// merge key by key, anything else is replaced.
fn merge(live: &mut Value, config: &Value, depth: usize) {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if depth < 128 => {
            for (k, cv) in c {
                match l.get_mut(k) {
                    Some(lv) if lv.is_object() && cv.is_object() => merge(lv, cv, depth + 1),
                    _ => {
                        l.insert(k.clone(), cv.clone());
                    }
                }
            }
        }
        (l, c) => *l = c.clone(),
    }
}

/// Server-side apply of `config` by `manager` onto `live` (an empty object
/// when creating). The applied fields become the manager's; fields it
/// applied before and omits now are removed unless someone else owns them;
/// changing a field another manager owns is a 409 unless `force`, which
/// takes it over.
pub fn apply(
    live: &Value,
    config: &Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApiError> {
    if !config.is_object() {
        return Err(ApiError::bad_request("the apply configuration must be an object"));
    }
    let mut entries = parse_entries(live);
    let (config_leaves, _) = fields(config);
    let me = |e: &Entry| e.same_manager(manager, "Apply", api_version, subresource);
    let mut conflicts: Vec<(usize, Path)> = Vec::new();
    for (p, v) in &config_leaves {
        if lookup(live, p).is_some_and(|lv| lv != v) {
            for (i, e) in entries.iter().enumerate() {
                if !me(e) && e.set.contains(p) {
                    conflicts.push((i, p.clone()));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&entries, &conflicts));
        }
        for (i, p) in &conflicts {
            entries[*i].set.retain(|q| !q.starts_with(p));
        }
    }
    let mut out = live.clone();
    merge(&mut out, config, 0);
    let config_set: BTreeSet<Path> = config_leaves.into_keys().collect();
    let previous = entries.iter().find(|e| me(e)).map(|e| e.set.clone()).unwrap_or_default();
    for p in previous.difference(&config_set) {
        let shared = entries.iter().any(|e| !me(e) && e.set.contains(p));
        if !shared && !config_set.iter().any(|c| c.starts_with(p)) {
            remove_path(&mut out, p);
        }
    }
    match entries.iter_mut().find(|e| me(e)) {
        Some(e) => {
            e.set = config_set;
            e.api_version = api_version.into();
            e.time = now.into();
        }
        None => entries.push(Entry {
            manager: manager.into(),
            operation: "Apply".into(),
            api_version: api_version.into(),
            time: now.into(),
            subresource: subresource.into(),
            set: config_set,
        }),
    }
    write_entries(&mut out, entries);
    Ok(out)
}

/// conflict.go NewConflictError / getConflictMessage.
fn conflict_error(entries: &[Entry], conflicts: &[(usize, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", entries[*i].printed()),
                   "field": path_string(p)})
        })
        .collect();
    let message = if let [(i, p)] = conflicts {
        format!("Apply failed with 1 conflict: conflict with {}: {}", entries[*i].printed(), path_string(p))
    } else {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, p) in conflicts {
            by.entry(entries[*i].printed()).or_default().push(path_string(p));
        }
        let mut lines = Vec::new();
        for (m, paths) in by {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
    };
    ApiError { details: Some(json!({"causes": causes})), ..ApiError::new(409, "Conflict", message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AV: &str = "warden.dev/v1alpha1";

    fn obj(spec: Value) -> Value {
        json!({"apiVersion": AV, "kind": "NatsIdentity", "metadata": {"name": "x", "namespace": "d", "uid": "u"}, "spec": spec})
    }

    #[test]
    fn fields_v1_round_trip() {
        let set: BTreeSet<Path> = [
            vec!["f:spec".to_string()],
            vec!["f:spec".to_string(), "f:ttl".to_string()],
            vec!["f:metadata".to_string(), "f:labels".to_string(), "f:app".to_string()],
        ]
        .into();
        let enc = encode(&set);
        assert_eq!(enc, json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {".": {}, "f:ttl": {}}}));
        let mut back = BTreeSet::new();
        decode(&enc, &mut Vec::new(), &mut back, 0);
        assert_eq!(back, set);
    }

    #[test]
    fn update_takes_changed_fields() {
        let mut new = obj(json!({"workload": "w", "tags": ["a", "b"]}));
        record_update(None, &mut new, "kubectl-client-side-apply", AV, "", "t0");
        let e = &parse_entries(&new)[0];
        assert_eq!((e.manager.as_str(), e.operation.as_str()), ("kubectl-client-side-apply", "Update"));
        assert_eq!(
            new["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:spec": {".": {}, "f:tags": {}, "f:workload": {}}}),
            "lists are atomic; name/uid are never owned"
        );
        // another updater changing one field takes just that one
        let old = new.clone();
        new["spec"]["workload"] = json!("v");
        record_update(Some(&old), &mut new, "ctl", AV, "", "t1");
        let es = parse_entries(&new);
        assert_eq!(es.len(), 2);
        assert!(!es[0].set.contains(&vec!["f:spec".to_string(), "f:workload".to_string()]));
        assert_eq!(es[1].set.len(), 1);
    }

    #[test]
    fn apply_conflicts_force_and_removal() {
        let mut live = obj(json!({"workload": "w", "ttl": "1h"}));
        record_update(None, &mut live, "kubectl-client-side-apply", AV, "", "t0");
        let cfg = json!({"spec": {"ttl": "2h"}});
        let err = apply(&live, &cfg, "a", AV, "", false, "t1").unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using warden.dev/v1alpha1: .spec.ttl"
        );
        assert_eq!(err.status()["details"]["causes"][0]["field"], ".spec.ttl");
        // the same value is shared, not a conflict
        let same = apply(&live, &json!({"spec": {"ttl": "1h", "mode": "jwt"}}), "a", AV, "", false, "t1").unwrap();
        assert_eq!(same["spec"]["mode"], "jwt");
        let forced = apply(&live, &cfg, "a", AV, "", true, "t1").unwrap();
        assert_eq!(forced["spec"]["ttl"], "2h");
        let es = parse_entries(&forced);
        let mine: BTreeSet<Path> =
            [vec!["f:spec".to_string()], vec!["f:spec".to_string(), "f:workload".to_string()]].into();
        assert_eq!(es[0].set, mine);
        assert_eq!(es[1].operation, "Apply");
        // b applies the same field: conflict with the applier a
        let err = apply(&forced, &json!({"spec": {"ttl": "3h"}}), "b", AV, "", false, "t2").unwrap_err();
        assert_eq!(err.message, "Apply failed with 1 conflict: conflict with \"a\": .spec.ttl");
        // a omits ttl now: removed, since nobody else owns it
        let after = apply(&forced, &json!({"spec": {"mode": "jwt"}}), "a", AV, "", false, "t3").unwrap();
        assert!(after["spec"].get("ttl").is_none(), "{after}");
        assert_eq!(after["spec"]["workload"], "w");
        // two conflicts, two managers
        let err =
            apply(&after, &json!({"spec": {"mode": "spiffe", "workload": "z"}}), "c", AV, "", false, "t4").unwrap_err();
        assert!(
            err.message.starts_with("Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.mode\n"),
            "{}",
            err.message
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(a in super::super::schema::validate::tests::arb_json(),
                        b in super::super::schema::validate::tests::arb_json(), force: bool) {
            let mut x = a.clone();
            record_update(Some(&b), &mut x, "m", AV, "", "t");
            let _ = apply(&x, &b, "n", AV, "", force, "t");
            let _ = parse_entries(&a);
        }
    }
}
