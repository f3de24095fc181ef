//! Account subject mappings (`nats.mappings` of an account JWT: jwt v2
//! `v2/account_claims.go` `Mapping map[Subject][]WeightedMapping`,
//! `WeightedMapping{subject, weight, cluster}`, weight 0 = 100), applied by
//! nats-server to a client's publish *before* the publish permission check
//! (`server/parser.go`: `selectMappedSubject` then `processInboundMsg`).
//!
//! How the server uses them (`server/accounts.go` `AddWeightedMappings`,
//! `selectMappedSubject`): destinations whose weights total under 100 get
//! the source itself for the rest (unless the source is listed, meaning
//! loss); cluster-scoped destinations replace the others in that cluster; a
//! destination is picked at random by weight. Destination tokens `$N` and
//! `{{wildcard(N)}}` take the source's N-th `*`, a trailing `>` the rest
//! (`server/subject_transform.go`); the other functions (partition, split,
//! slice, left, right, random) are not evaluated here.

use serde::Serialize;
use serde_json::{Map, Value};

use super::subject;

/// One destination of a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    pub subject: String,
    /// 1..=100 (the JWT's 0 means 100).
    pub weight: u8,
    /// Only in this cluster, when set.
    pub cluster: String,
    /// Added by the server for weights under 100: the source itself.
    pub implicit: bool,
}

/// One mapping: publishes matching `source` go to one of `destinations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    pub source: String,
    pub destinations: Vec<Destination>,
}

impl Mapping {
    pub fn weighted(&self) -> bool {
        self.destinations.iter().filter(|d| d.cluster.is_empty()).count() > 1
    }

    pub fn cluster_scoped(&self) -> bool {
        self.destinations.iter().any(|d| !d.cluster.is_empty())
    }

    /// `src -> dst (60%) | src (40%, implicit) | dst2 [cluster east]`.
    pub fn describe(&self) -> String {
        let dests: Vec<String> = self
            .destinations
            .iter()
            .map(|d| {
                let mut s = d.subject.clone();
                let mut notes = Vec::new();
                if d.weight != 100 {
                    notes.push(format!("{}%", d.weight));
                }
                if d.implicit {
                    notes.push("unmapped".to_string());
                }
                if !notes.is_empty() {
                    s.push_str(&format!(" ({})", notes.join(", ")));
                }
                if !d.cluster.is_empty() {
                    s.push_str(&format!(" [cluster {}]", d.cluster));
                }
                s
            })
            .collect();
        format!("{} -> {}", self.source, dests.join(" | "))
    }
}

/// The mappings of an account's `nats` object (kept as written in `extra`).
/// Entries that are not of the JWT's shape are skipped, never fatal.
pub fn from_account_extra(extra: &Map<String, Value>) -> Vec<Mapping> {
    let Some(Value::Object(m)) = extra.get("mappings") else { return Vec::new() };
    let mut out: Vec<Mapping> = m
        .iter()
        .filter(|(src, _)| subject::is_valid_pattern(src))
        .filter_map(|(src, v)| {
            let list = v.as_array()?;
            let mut dests: Vec<Destination> = list
                .iter()
                .filter_map(|d| {
                    let subject = d.get("subject")?.as_str()?.to_string();
                    let w = d.get("weight").and_then(Value::as_u64).unwrap_or(0);
                    let weight = if w == 0 { 100 } else { u8::try_from(w).ok().filter(|w| *w <= 100)? };
                    let cluster = d.get("cluster").and_then(Value::as_str).unwrap_or("").to_string();
                    Some(Destination { subject, weight, cluster, implicit: false })
                })
                .collect();
            if dests.len() != list.len() || refused(&dests) {
                return None;
            }
            add_implicit(src, &mut dests);
            Some(Mapping { source: src.clone(), destinations: dests })
        })
        .collect();
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

/// The server's "auto add in original at weight difference", per cluster
/// (not when the source is itself a destination: "they want loss").
fn add_implicit(src: &str, dests: &mut Vec<Destination>) {
    if dests.iter().any(|d| d.subject == src) {
        return;
    }
    let mut clusters: Vec<String> = dests.iter().map(|d| d.cluster.clone()).collect();
    clusters.push(String::new());
    clusters.sort();
    clusters.dedup();
    for c in clusters {
        let total: u32 = dests.iter().filter(|d| d.cluster == c).map(|d| d.weight as u32).sum();
        if total < 100 {
            let weight = (100 - total) as u8;
            dests.push(Destination { subject: src.to_string(), weight, cluster: c, implicit: true });
        }
    }
}

/// A weight over 100, alone or per cluster in total: the server refuses
/// the mapping (`AddWeightedMappings`), so it does not apply.
fn refused(dests: &[Destination]) -> bool {
    let mut totals = std::collections::BTreeMap::<&str, u32>::new();
    for d in dests {
        *totals.entry(&d.cluster).or_default() += d.weight as u32;
    }
    totals.values().any(|t| *t > 100)
}

/// Where a publish to `subject` may go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// No mapping matches: the subject itself.
    Unmapped,
    /// This mapping matches; each destination with the subject it gives
    /// (`None`: a transform function not evaluated here).
    Mapped { mapping: Mapping, subjects: Vec<(Destination, Option<String>)>, ambiguous: bool },
}

/// The mapping nats-server applies to a publish of the literal `subj`.
/// Several matching sources: the server takes the first in its load order
/// (Go map order), so the answer is flagged `ambiguous`; this takes an exact
/// source first, then the first by name.
pub fn select(mappings: &[Mapping], subj: &str) -> Outcome {
    let matching: Vec<&Mapping> = mappings.iter().filter(|m| subject::matches(&m.source, subj)).collect();
    let Some(m) = matching.iter().find(|m| m.source == subj).or(matching.first()).copied() else {
        return Outcome::Unmapped;
    };
    // The implicit destination is the source "transform-tokenized": the subject itself.
    let to = |d: &Destination| if d.implicit { Some(subj.to_string()) } else { transform(&m.source, &d.subject, subj) };
    let subjects = m.destinations.iter().map(|d| (d.clone(), to(d))).collect();
    Outcome::Mapped { mapping: m.clone(), subjects, ambiguous: matching.len() > 1 }
}

/// `subj` (matched by `source`) transformed to `dest`; `None` when `dest`
/// uses a function other than `wildcard` / `$N`, or is malformed.
pub fn transform(source: &str, dest: &str, subj: &str) -> Option<String> {
    let stoks: Vec<&str> = source.split('.').collect();
    let toks: Vec<&str> = subj.split('.').collect();
    // Values of the source's `*` tokens, 1-based.
    let wild: Vec<&str> = stoks.iter().zip(&toks).filter(|(s, _)| **s == "*").map(|(_, t)| *t).collect();
    let mut out = Vec::new();
    for d in dest.split('.') {
        if d == ">" {
            let rest = toks.get(stoks.len().saturating_sub(1)..)?;
            out.extend(rest.iter().map(|s| s.to_string()));
        } else if let Some(n) = placeholder(d) {
            out.push(wild.get(n.checked_sub(1)?)?.to_string());
        } else if d.contains("{{") {
            return None;
        } else {
            out.push(d.to_string());
        }
    }
    Some(out.join("."))
}

/// `$N` or `{{wildcard(N)}}` (any case, spaces allowed).
fn placeholder(tok: &str) -> Option<usize> {
    if let Some(n) = tok.strip_prefix('$') {
        return n.parse().ok();
    }
    let inner = tok.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let lower = inner.to_ascii_lowercase();
    let args = lower.strip_prefix("wildcard")?.trim().strip_prefix('(')?.strip_suffix(')')?;
    args.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(v: Value) -> Vec<Mapping> {
        from_account_extra(v.as_object().unwrap())
    }

    #[test]
    fn plain_weighted_and_cluster_mappings() {
        let m = parse(json!({"mappings": {
            "orders.new": [{"subject": "orders.v2.new"}],
            "canary.*": [{"subject": "canary.v2.$1", "weight": 20}],
            "geo.>": [{"subject": "east.geo.>", "cluster": "east"}],
            "bad": "nope",
            "a..b": [{"subject": "x"}]
        }}));
        assert_eq!(m.len(), 3);
        let canary = m.iter().find(|x| x.source == "canary.*").unwrap();
        assert!(canary.weighted());
        assert_eq!(canary.describe(), "canary.* -> canary.v2.$1 (20%) | canary.* (80%, unmapped)");
        let geo = m.iter().find(|x| x.source == "geo.>").unwrap();
        assert!(geo.cluster_scoped());
        assert_eq!(geo.describe(), "geo.> -> east.geo.> [cluster east] | geo.> (unmapped)");
        match select(&m, "orders.new") {
            Outcome::Mapped { subjects, ambiguous, .. } => {
                assert!(!ambiguous);
                assert_eq!(subjects[0].1.as_deref(), Some("orders.v2.new"));
            }
            o => panic!("{o:?}"),
        }
        match select(&m, "canary.x") {
            Outcome::Mapped { subjects, .. } => {
                let s: Vec<_> = subjects.iter().map(|(_, s)| s.clone().unwrap()).collect();
                assert_eq!(s, ["canary.v2.x", "canary.x"]);
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(select(&m, "orders.old"), Outcome::Unmapped);
    }

    #[test]
    fn transforms() {
        assert_eq!(transform("a.*.*", "b.$2.$1", "a.x.y").as_deref(), Some("b.y.x"));
        assert_eq!(transform("a.*.>", "b.{{ Wildcard(1) }}.>", "a.x.y.z").as_deref(), Some("b.x.y.z"));
        assert_eq!(transform("a.*", "b.{{partition(3,1)}}", "a.x"), None);
        assert_eq!(transform("a.*", "b.$3", "a.x"), None);
        assert_eq!(transform("a.*", "b.$0", "a.x"), None);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(v in "[a-z$*>.{}()0-9 ]{0,24}", s in "[a-z.*>]{0,16}") {
            let m = parse(json!({"mappings": {v.clone(): [{"subject": v.clone(), "weight": 300}], "x": [{}]}}));
            let _ = select(&m, &s);
            let _ = transform(&s, &v, &s);
        }
    }
}
