//! Parsing ClusterSPIFFEID / ClusterStaticEntry specs and rendering SPIRE
//! entries from them (api/v1alpha1/clusterspiffeid_webhook.go
//! `ParseClusterSPIFFEIDSpec`, pkg/spireentry/entries.go `renderPodEntry`,
//! `renderStaticEntry`).

use serde_json::Value;

use super::config::ControllerConfig;
use super::selection::LabelSelector;
use super::template::{Template, TemplateData};

/// One registration entry (the fields the controller sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub spiffe_id: String,
    pub parent_id: String,
    /// (type, value), in rendering order.
    pub selectors: Vec<(String, String)>,
    /// Seconds; 0 = the server's default.
    pub x509_svid_ttl: i64,
    pub jwt_svid_ttl: i64,
    pub federates_with: Vec<String>,
    pub dns_names: Vec<String>,
    pub admin: bool,
    pub downstream: bool,
    pub hint: String,
    pub store_svid: bool,
}

impl Entry {
    /// SPIFFE ID, parent ID and sorted selectors: entries with the same key
    /// are the same entry (`makeEntryKey`, pkg/spireentry/reconciler.go).
    pub fn key(&self) -> String {
        let mut sels = self.selectors.clone();
        sels.sort();
        let mut k = format!("{}\n{}", self.spiffe_id, self.parent_id);
        for (t, v) in sels {
            k.push('\n');
            k.push_str(&t);
            k.push(':');
            k.push_str(&v);
        }
        k
    }

    /// Whether updating `self` to `other` changes anything
    /// (`getOutdatedEntryFields`: sets compared unordered).
    pub fn same_fields(&self, other: &Entry) -> bool {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        self.x509_svid_ttl == other.x509_svid_ttl
            && self.jwt_svid_ttl == other.jwt_svid_ttl
            && sorted(&self.federates_with) == sorted(&other.federates_with)
            && self.admin == other.admin
            && self.downstream == other.downstream
            && sorted(&self.dns_names) == sorted(&other.dns_names)
            && self.hint == other.hint
            && self.store_svid == other.store_svid
    }
}

/// Splits `spiffe://td/path` into (trust domain, path) if it is a valid
/// SPIFFE ID (go-spiffe `spiffeid.FromString` rules).
pub fn parse_spiffe_id(id: &str) -> Result<(String, String), String> {
    let rest = id.strip_prefix("spiffe://").ok_or_else(|| format!("{id:?}: scheme is missing or invalid"))?;
    let (td, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    valid_trust_domain(td).map_err(|e| format!("{id:?}: {e}"))?;
    if !path.is_empty() {
        for seg in path[1..].split('/') {
            if seg.is_empty() {
                return Err(format!("{id:?}: path cannot contain empty segments"));
            }
            if seg == "." || seg == ".." {
                return Err(format!("{id:?}: path cannot contain dot segments"));
            }
            if !seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
                return Err(format!(
                    "{id:?}: path segment characters are limited to letters, numbers, dots, dashes, and underscores"
                ));
            }
        }
    }
    Ok((td.to_string(), path.to_string()))
}

fn valid_trust_domain(td: &str) -> Result<(), String> {
    if td.is_empty() {
        return Err("trust domain is missing".into());
    }
    if !td.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')) {
        return Err(
            "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores".into()
        );
    }
    Ok(())
}

/// `spiffeid.TrustDomainFromString`: a name, or a SPIFFE ID whose trust domain is taken.
fn trust_domain_from_string(s: &str) -> Result<String, String> {
    if s.contains(":/") {
        return parse_spiffe_id(s).map(|(td, _)| td);
    }
    valid_trust_domain(s).map(|_| s.to_string())
}

/// A Go `time.ParseDuration` string (as `metav1.Duration` holds it) in
/// whole seconds (the entry API's TTL unit; truncated like `d / time.Second`).
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let err = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(err());
        }
        let n: f64 = num.parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        nanos += n * scale;
        rest = &rest[unit_len..];
    }
    if nanos > i64::MAX as f64 {
        return Err(err());
    }
    let secs = (nanos as i64) / 1_000_000_000;
    Ok(if neg { -secs } else { secs })
}

/// An optional duration field ("" / absent: 0).
fn duration_field(v: &Value, name: &str) -> Result<i64, String> {
    match v {
        Value::Null => Ok(0),
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => parse_go_duration(s).map_err(|e| format!("{name}: {e}")),
        _ => Err(format!("{name}: not a duration string")),
    }
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => {
            a.iter().map(|s| s.as_str().map(str::to_string).ok_or_else(|| format!("{name}: not strings"))).collect()
        }
        _ => Err(format!("{name}: not an array")),
    }
}

/// Decodes the typed fields (what failing `json.Unmarshal` of the list
/// would reject: durations that do not parse, wrong types).
pub fn decode_durations(spec: &Value, fields: &[&str]) -> Result<(), String> {
    fields.iter().try_for_each(|f| duration_field(&spec[*f], f).map(drop))
}

/// A parsed and validated ClusterSPIFFEID spec.
#[derive(Debug, Clone)]
pub struct ParsedSpec {
    pub spiffe_id: Template,
    pub namespace_selector: Option<LabelSelector>,
    pub pod_selector: Option<LabelSelector>,
    pub ttl: i64,
    pub jwt_ttl: i64,
    pub federates_with: Vec<String>,
    pub dns_names: Vec<Template>,
    pub workload_selectors: Vec<Template>,
    pub admin: bool,
    pub downstream: bool,
    pub auto_populate_dns_names: bool,
    pub hint: String,
}

/// `ParseClusterSPIFFEIDSpec`: an error makes the controller skip the object.
pub fn parse_spec(spec: &Value) -> Result<ParsedSpec, String> {
    let tmpl = spec["spiffeIDTemplate"].as_str().unwrap_or("");
    if tmpl.is_empty() {
        return Err("empty SPIFFEID template".into());
    }
    let spiffe_id = Template::parse(tmpl).map_err(|e| format!("invalid SPIFFEID template: {e}"))?;
    let namespace_selector = LabelSelector::parse(&spec["namespaceSelector"])?;
    let pod_selector = LabelSelector::parse(&spec["podSelector"])?;
    let federates_with = strings(&spec["federatesWith"], "federatesWith")?
        .iter()
        .map(|s| trust_domain_from_string(s).map_err(|e| format!("invalid federatesWith value: {e}")))
        .collect::<Result<_, _>>()?;
    let templates = |name: &str| -> Result<Vec<Template>, String> {
        strings(&spec[name], name)?
            .iter()
            .map(|t| Template::parse(t).map_err(|e| format!("invalid {name} value: {e}")))
            .collect()
    };
    Ok(ParsedSpec {
        spiffe_id,
        namespace_selector,
        pod_selector,
        ttl: duration_field(&spec["ttl"], "ttl")?,
        jwt_ttl: duration_field(&spec["jwtTtl"], "jwtTtl")?,
        federates_with,
        dns_names: templates("dnsNameTemplates")?,
        workload_selectors: templates("workloadSelectorTemplates")?,
        admin: spec["admin"].as_bool().unwrap_or(false),
        downstream: spec["downstream"].as_bool().unwrap_or(false),
        auto_populate_dns_names: spec["autoPopulateDNSNames"].as_bool().unwrap_or(false),
        hint: spec["hint"].as_str().unwrap_or("").to_string(),
    })
}

/// `parseSelector`: `type:value`, both non-empty.
pub fn parse_selector(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        None => Err(format!("{s:?}: expected at least one colon separate the type from the value")),
        Some(("", _)) => Err(format!("{s:?}: type cannot be empty")),
        Some((_, "")) => Err(format!("{s:?}: value cannot be empty")),
        Some((t, v)) => Ok((t.to_string(), v.to_string())),
    }
}

/// A rendered SPIFFE ID, which must be in the controller's trust domain.
fn render_spiffe_id(t: &Template, data: &TemplateData, trust_domain: &str) -> Result<String, String> {
    let id = t.execute(data)?;
    let (td, _) = parse_spiffe_id(&id).map_err(|e| format!("invalid SPIFFE ID: {e}"))?;
    if td != trust_domain {
        return Err(format!("invalid SPIFFE ID: expected trust domain {trust_domain:?} but got {td:?}"));
    }
    Ok(id)
}

/// `renderPodEntry`: the entry `spec` declares for `pod` on `node`. (The
/// double has no Endpoints, so `autoPopulateDNSNames` adds nothing.)
pub fn render_pod_entry(
    cfg: &ControllerConfig,
    parent: &Template,
    spec: &ParsedSpec,
    pod: &Value,
    node: &Value,
) -> Result<Entry, String> {
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let mut selectors = vec![("k8s".to_string(), format!("pod-uid:{uid}"))];
    let mut data = TemplateData {
        trust_domain: &cfg.trust_domain,
        cluster_name: &cfg.cluster_name,
        cluster_domain: &cfg.cluster_domain,
        pod: None,
        node: Some(node),
    };
    let parent_id =
        render_spiffe_id(parent, &data, &cfg.trust_domain).map_err(|e| format!("failed to render parent ID: {e}"))?;
    data.pod = Some(pod);
    let spiffe_id = render_spiffe_id(&spec.spiffe_id, &data, &cfg.trust_domain)
        .map_err(|e| format!("failed to render SPIFFE ID: {e}"))?;
    let mut dns_names: Vec<String> = Vec::new();
    for t in &spec.dns_names {
        let name = t.execute(&data).map_err(|e| format!("failed to render DNS name: {e}"))?;
        if !dns_names.contains(&name) {
            dns_names.push(name);
        }
    }
    for t in &spec.workload_selectors {
        let rendered = t.execute(&data).map_err(|e| format!("failed to render workload selector: {e}"))?;
        selectors.push(parse_selector(&rendered).map_err(|e| format!("invalid workload selector: {e}"))?);
    }
    Ok(Entry {
        spiffe_id,
        parent_id,
        selectors,
        x509_svid_ttl: spec.ttl,
        jwt_svid_ttl: spec.jwt_ttl,
        federates_with: spec.federates_with.clone(),
        dns_names,
        admin: spec.admin,
        downstream: spec.downstream,
        hint: spec.hint.clone(),
        store_svid: false,
    })
}

/// `renderStaticEntry`: a ClusterStaticEntry's spec as an entry.
pub fn render_static_entry(spec: &Value) -> Result<Entry, String> {
    let id = |name: &str| -> Result<String, String> {
        let s = spec[name].as_str().unwrap_or("");
        parse_spiffe_id(s).map(|_| s.to_string()).map_err(|e| format!("failed to parse {name}: {e}"))
    };
    let selectors = strings(&spec["selectors"], "selectors")?
        .iter()
        .map(|s| parse_selector(s))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("failed to parse Selectors: {e}"))?;
    let federates_with = strings(&spec["federatesWith"], "federatesWith")?
        .iter()
        .map(|s| trust_domain_from_string(s).map_err(|e| format!("invalid federatesWith value: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Entry {
        spiffe_id: id("spiffeID")?,
        parent_id: id("parentID")?,
        selectors,
        x509_svid_ttl: duration_field(&spec["x509SVIDTTL"], "x509SVIDTTL")?,
        jwt_svid_ttl: duration_field(&spec["jwtSVIDTTL"], "jwtSVIDTTL")?,
        federates_with,
        dns_names: strings(&spec["dnsNames"], "dnsNames")?,
        admin: spec["admin"].as_bool().unwrap_or(false),
        downstream: spec["downstream"].as_bool().unwrap_or(false),
        hint: spec["hint"].as_str().unwrap_or("").to_string(),
        store_svid: spec["storeSVID"].as_bool().unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h").unwrap(), 3600);
        assert_eq!(parse_go_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_go_duration("1.5h").unwrap(), 5400);
        assert_eq!(parse_go_duration("300ms").unwrap(), 0);
        assert_eq!(parse_go_duration("90s").unwrap(), 90);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        for bad in ["", "1", "h", "1d", "1h x", "..1s", "-"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn spiffe_ids_follow_go_spiffe() {
        assert_eq!(parse_spiffe_id("spiffe://td/ns/a").unwrap(), ("td".into(), "/ns/a".into()));
        assert!(parse_spiffe_id("spiffe://td").is_ok());
        for bad in [
            "http://td/x",
            "spiffe://TD/x",
            "spiffe:///x",
            "spiffe://td/a//b",
            "spiffe://td/a/",
            "spiffe://td/./a",
            "spiffe://td/a b",
            "spiffe://td/<no value>",
        ] {
            assert!(parse_spiffe_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pod_entry_like_render_pod_entry() {
        let cfg = ControllerConfig::chart_default("td");
        let parent = Template::parse(&cfg.parent_id_template).unwrap();
        let spec = parse_spec(&json!({
            "spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}",
            "ttl": "1h", "jwtTtl": "5m", "federatesWith": ["other.org"], "admin": true, "hint": "h",
            "dnsNameTemplates": ["{{ .PodMeta.Name }}.svc", "{{ .PodMeta.Name }}.svc"],
            "workloadSelectorTemplates": ["k8s:ns:{{ .PodMeta.Namespace }}"]
        }))
        .unwrap();
        let pod = json!({"metadata": {"name": "p", "namespace": "n", "uid": "u1"}, "spec": {"serviceAccountName": "sa", "nodeName": "node-a"}});
        let node = json!({"metadata": {"name": "node-a", "uid": "nu"}});
        let e = render_pod_entry(&cfg, &parent, &spec, &pod, &node).unwrap();
        assert_eq!(e.spiffe_id, "spiffe://td/ns/n/sa/sa");
        assert_eq!(e.parent_id, "spiffe://td/spire/agent/k8s_psat/example-cluster/nu");
        assert_eq!(e.selectors, [("k8s".into(), "pod-uid:u1".into()), ("k8s".into(), "ns:n".into())]);
        assert_eq!((e.x509_svid_ttl, e.jwt_svid_ttl), (3600, 300));
        assert_eq!(e.dns_names, ["p.svc"]);
        assert_eq!(e.federates_with, ["other.org"]);
        assert!(e.admin && !e.downstream);
        // Another trust domain, or a missing label making an invalid ID: render failures.
        for t in ["spiffe://other/x", "spiffe://td/{{ .PodMeta.Labels.none }}", "{{ .PodMeta.Name }}"] {
            let s = parse_spec(&json!({"spiffeIDTemplate": t})).unwrap();
            assert!(render_pod_entry(&cfg, &parent, &s, &pod, &node).is_err(), "{t}");
        }
        let s = parse_spec(&json!({"spiffeIDTemplate": "spiffe://td/x", "workloadSelectorTemplates": ["novalue:"]}))
            .unwrap();
        assert!(render_pod_entry(&cfg, &parent, &s, &pod, &node).is_err());
    }

    #[test]
    fn invalid_specs_are_rejected_like_parse_cluster_spiffe_id_spec() {
        for bad in [
            json!({}),
            json!({"spiffeIDTemplate": "{{ .PodMeta.Name"}),
            json!({"spiffeIDTemplate": "spiffe://td/x", "ttl": "forever"}),
            json!({"spiffeIDTemplate": "spiffe://td/x", "federatesWith": ["Bad TD"]}),
            json!({"spiffeIDTemplate": "spiffe://td/x", "podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}),
            json!({"spiffeIDTemplate": "spiffe://td/x", "dnsNameTemplates": ["{{"]}),
        ] {
            assert!(parse_spec(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn static_entries_like_render_static_entry() {
        let e = render_static_entry(&json!({"spiffeID": "spiffe://td/s", "parentID": "spiffe://td/p",
            "selectors": ["unix:uid:0"], "x509SVIDTTL": "2h", "storeSVID": true}))
        .unwrap();
        assert_eq!(e.selectors, [("unix".into(), "uid:0".into())]);
        assert_eq!(e.x509_svid_ttl, 7200);
        assert!(e.store_svid);
        assert!(render_static_entry(&json!({"spiffeID": "x", "parentID": "spiffe://td/p", "selectors": []})).is_err());
        assert!(
            render_static_entry(
                &json!({"spiffeID": "spiffe://td/s", "parentID": "spiffe://td/p", "selectors": ["nocolon"]})
            )
            .is_err()
        );
    }
}
