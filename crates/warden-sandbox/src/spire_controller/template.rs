//! The subset of Go `text/template` that ClusterSPIFFEID templates use
//! (pkg/spireentry/entries.go renders them over `templateData`):
//! `{{ .TrustDomain }}`, `{{ .ClusterName }}`, `{{ .ClusterDomain }}`,
//! string fields of `.PodMeta`, `.PodSpec`, `.NodeMeta`, `.NodeSpec`,
//! `{{ .PodMeta.Labels.k }}`, `{{ index .PodMeta.Labels "k" }}` (also
//! Annotations), trim markers and comments.
//!
//! As in Go, a syntax error fails [`Template::parse`] (the controller then
//! treats the whole spec as invalid); a construct Go accepts but this
//! subset does not (pipelines, `if`, `printf` ...) or a field that cannot be
//! evaluated fails [`Template::execute`] (a render failure).

use serde_json::Value;

/// What a template is executed over.
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    pub trust_domain: &'a str,
    pub cluster_name: &'a str,
    pub cluster_domain: &'a str,
    /// The pod object (absent while the parent ID is rendered).
    pub pod: Option<&'a Value>,
    /// The node object.
    pub node: Option<&'a Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Field(Vec<String>),
    Index(Vec<String>, String),
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

const GO_FUNCS: &[&str] = &[
    "and", "call", "html", "js", "len", "not", "or", "print", "printf", "println", "slice", "urlquery", "eq", "ne",
    "lt", "le", "gt", "ge",
];
const GO_KEYWORDS: &[&str] =
    &["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil", "true", "false"];

impl Template {
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut nodes = Vec::new();
        let mut rest = src;
        let mut trim_next = false;
        while let Some(open) = rest.find("{{") {
            let mut text = &rest[..open];
            if trim_next {
                text = text.trim_start();
            }
            let after = &rest[open + 2..];
            let trim_left = after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
            if trim_left {
                text = text.trim_end();
            }
            if !text.is_empty() {
                nodes.push(Node::Text(text.to_string()));
            }
            let body_start = if trim_left { 2 } else { 0 };
            let close = find_close(&after[body_start..]).ok_or("unclosed action")?;
            let mut body = &after[body_start..body_start + close];
            trim_next = body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-");
            if trim_next {
                body = &body[..body.len() - 1];
            }
            if let Some(n) = action(body.trim())? {
                nodes.push(n);
            }
            rest = &after[body_start + close + 2..];
        }
        let text = if trim_next { rest.trim_start() } else { rest };
        if !text.is_empty() {
            nodes.push(Node::Text(text.to_string()));
        }
        Ok(Template { nodes })
    }

    pub fn execute(&self, data: &TemplateData) -> Result<String, String> {
        let mut out = String::new();
        for n in &self.nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Field(path) => out.push_str(&field(data, path)?),
                Node::Index(path, key) => {
                    let map = map_field(data, path)?;
                    out.push_str(map.and_then(|m| m.get(key)).and_then(Value::as_str).unwrap_or(""));
                }
                Node::Unsupported(what) => return Err(format!("unsupported in this template subset: {what}")),
            }
        }
        Ok(out)
    }
}

/// Offset of the `}}` closing an action, skipping string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\n' {
                        return None;
                    }
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Debug, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Ident(String),
    Str(String),
    Other(String),
}

fn tokens(body: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            let mut j = i + 1;
            let b = body.as_bytes();
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if j >= b.len() {
                return Err("unterminated quoted string".into());
            }
            let s: String = serde_json::from_str(&body[i..=j]).map_err(|e| format!("bad string literal: {e}"))?;
            out.push(Tok::Str(s));
            while chars.peek().is_some_and(|&(k, _)| k <= j) {
                chars.next();
            }
        } else if c == '`' {
            let end = body[i + 1..].find('`').ok_or("unterminated raw string")? + i + 1;
            out.push(Tok::Str(body[i + 1..end].to_string()));
            while chars.peek().is_some_and(|&(k, _)| k <= end) {
                chars.next();
            }
        } else if c == '.' || c.is_alphabetic() || c == '_' {
            let mut j = i;
            while let Some(&(k, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '.' {
                    j = k + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let word = &body[i..j];
            if let Some(path) = word.strip_prefix('.') {
                let parts: Vec<String> =
                    if path.is_empty() { Vec::new() } else { path.split('.').map(String::from).collect() };
                if parts.iter().any(|p| p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit())) {
                    return Err(format!("bad field {word:?}"));
                }
                out.push(Tok::Field(parts));
            } else {
                out.push(Tok::Ident(word.to_string()));
            }
        } else {
            let mut j = i + c.len_utf8();
            chars.next();
            while let Some(&(k, d)) = chars.peek() {
                if d.is_whitespace() || d == '"' || d == '.' || d.is_alphanumeric() {
                    break;
                }
                j = k + d.len_utf8();
                chars.next();
            }
            out.push(Tok::Other(body[i..j].to_string()));
        }
    }
    Ok(out)
}

fn action(body: &str) -> Result<Option<Node>, String> {
    if let Some(c) = body.strip_prefix("/*") {
        return if c.ends_with("*/") { Ok(None) } else { Err("unterminated comment".into()) };
    }
    let toks = tokens(body)?;
    match toks.as_slice() {
        [] => Err("missing value for command".into()),
        [Tok::Field(p)] if p.is_empty() => Ok(Some(Node::Unsupported("printing the whole data `.`".into()))),
        [Tok::Field(p)] => Ok(Some(Node::Field(p.clone()))),
        [Tok::Ident(f), Tok::Field(p), Tok::Str(k)] if f == "index" && !p.is_empty() => {
            Ok(Some(Node::Index(p.clone(), k.clone())))
        }
        [Tok::Ident(f), ..] if f == "index" || GO_FUNCS.contains(&f.as_str()) || GO_KEYWORDS.contains(&f.as_str()) => {
            Ok(Some(Node::Unsupported(format!("{{{{ {body} }}}}"))))
        }
        [Tok::Ident(f), ..] => Err(format!("function {f:?} not defined")),
        _ if toks.iter().any(|t| matches!(t, Tok::Other(o) if o.starts_with('|') || o.starts_with('$') || o.starts_with('(') || o.starts_with(':'))) => {
            Ok(Some(Node::Unsupported(format!("{{{{ {body} }}}}"))))
        }
        [Tok::Str(_)] => Ok(Some(Node::Unsupported("a literal action".into()))),
        _ => Err(format!("unexpected {body:?} in command")),
    }
}

/// JSON name of a supported string field of ObjectMeta / PodSpec / NodeSpec.
fn json_name(root: &str, go: &str) -> Option<&'static str> {
    let meta = [
        ("Name", "name"),
        ("Namespace", "namespace"),
        ("UID", "uid"),
        ("GenerateName", "generateName"),
        ("ResourceVersion", "resourceVersion"),
    ];
    let pod_spec = [
        ("ServiceAccountName", "serviceAccountName"),
        ("NodeName", "nodeName"),
        ("Hostname", "hostname"),
        ("Subdomain", "subdomain"),
        ("SchedulerName", "schedulerName"),
        ("PriorityClassName", "priorityClassName"),
    ];
    let node_spec = [("PodCIDR", "podCIDR"), ("ProviderID", "providerID")];
    let table: &[(&str, &'static str)] = match root {
        "PodMeta" | "NodeMeta" => &meta,
        "PodSpec" => &pod_spec,
        "NodeSpec" => &node_spec,
        _ => &[],
    };
    table.iter().find(|(g, _)| *g == go).map(|(_, j)| *j)
}

/// The object part behind `.PodMeta` etc.; Err for an unknown root or a
/// nil one (Go: "nil pointer evaluating").
fn root<'a>(data: &TemplateData<'a>, name: &str) -> Result<&'a Value, String> {
    let (obj, part) = match name {
        "PodMeta" => (data.pod, "metadata"),
        "PodSpec" => (data.pod, "spec"),
        "NodeMeta" => (data.node, "metadata"),
        "NodeSpec" => (data.node, "spec"),
        other => return Err(format!("can't evaluate field {other}")),
    };
    obj.map(|o| &o[part]).ok_or_else(|| format!("nil pointer evaluating .{name}"))
}

fn field(data: &TemplateData, path: &[String]) -> Result<String, String> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["TrustDomain"] => Ok(data.trust_domain.to_string()),
        ["ClusterName"] => Ok(data.cluster_name.to_string()),
        ["ClusterDomain"] => Ok(data.cluster_domain.to_string()),
        [r @ ("PodMeta" | "NodeMeta"), m @ ("Labels" | "Annotations"), key] => {
            let map = root(data, r)?[m.to_lowercase()].as_object();
            Ok(map.and_then(|m| m.get(*key)).and_then(Value::as_str).unwrap_or("<no value>").to_string())
        }
        [r, f] => {
            let obj = root(data, r)?;
            let j = json_name(r, f).ok_or_else(|| format!("unsupported field .{r}.{f}"))?;
            Ok(obj[j].as_str().unwrap_or("").to_string())
        }
        _ => Err(format!("unsupported field .{}", p.join("."))),
    }
}

fn map_field<'a>(
    data: &TemplateData<'a>,
    path: &[String],
) -> Result<Option<&'a serde_json::Map<String, Value>>, String> {
    match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [r @ ("PodMeta" | "NodeMeta"), m @ ("Labels" | "Annotations")] => {
            Ok(root(data, r)?[m.to_lowercase()].as_object())
        }
        _ => Err(format!("index of unsupported value .{}", path.join("."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"metadata": {"name": "p-1", "namespace": "tent-dev", "uid": "u-1",
                            "labels": {"app": "web", "tentacular.io/workflow": "hn"}, "annotations": {"a": "b"}},
               "spec": {"serviceAccountName": "sa", "nodeName": "node-a"}})
    }

    fn render(t: &str) -> Result<String, String> {
        let (p, n) = (pod(), json!({"metadata": {"name": "node-a", "uid": "n-uid"}}));
        let data = TemplateData {
            trust_domain: "td",
            cluster_name: "c",
            cluster_domain: "cluster.local",
            pod: Some(&p),
            node: Some(&n),
        };
        Template::parse(t)?.execute(&data)
    }

    #[test]
    fn upstream_templates_render() {
        assert_eq!(
            render("spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}")
                .unwrap(),
            "spiffe://td/ns/tent-dev/sa/sa"
        );
        assert_eq!(
            render("spiffe://{{ .TrustDomain }}/spire/agent/k8s_psat/{{ .ClusterName }}/{{ .NodeMeta.UID }}").unwrap(),
            "spiffe://td/spire/agent/k8s_psat/c/n-uid"
        );
        assert_eq!(render(r#"{{ index .PodMeta.Labels "tentacular.io/workflow" }}"#).unwrap(), "hn");
        assert_eq!(render(r#"{{index .PodMeta.Annotations "a"}}/{{ index .PodMeta.Labels "nope" }}."#).unwrap(), "b/.");
        assert_eq!(render("{{ .PodMeta.Labels.app }}:{{ .PodMeta.Labels.none }}").unwrap(), "web:<no value>");
        assert_eq!(
            render("{{ .PodMeta.Name }}.{{ .PodMeta.UID }}.{{ .PodSpec.NodeName }}.{{ .ClusterDomain }}").unwrap(),
            "p-1.u-1.node-a.cluster.local"
        );
        assert_eq!(render("a  {{- .ClusterName -}}  b{{/* note */}}").unwrap(), "acb");
        assert_eq!(render("no actions").unwrap(), "no actions");
    }

    #[test]
    fn unsupported_or_failing_templates_fail_at_execution() {
        for t in [
            "{{ .Nope }}",
            "{{ .PodMeta.Finalizers }}",
            "{{ .PodMeta }}",
            "{{ . }}",
            "{{ .PodMeta.Name | printf \"%s\" }}",
            "{{ printf \"%s\" .PodMeta.Name }}",
            "{{ if .PodMeta.Name }}x{{ end }}",
            "{{ index .PodSpec \"x\" }}",
            "{{ $x := 1 }}",
            "{{ \"lit\" }}",
        ] {
            assert!(Template::parse(t).is_ok(), "{t} parses (Go accepts it)");
            assert!(render(t).is_err(), "{t} should fail to execute");
        }
        let data = TemplateData { trust_domain: "td", cluster_name: "", cluster_domain: "", pod: None, node: None };
        assert!(Template::parse("{{ .PodMeta.Name }}").unwrap().execute(&data).is_err(), "nil pod");
    }

    #[test]
    fn garbage_is_a_parse_error_never_a_panic() {
        for t in [
            "{{",
            "{{ .PodMeta.Name",
            "{{ }}",
            "{{ \"unterminated }}",
            "{{ foo }}",
            "{{ .1a }}",
            "{{/* x }}",
            "{{ .a.. }}",
            "{{ index }}x{{",
        ] {
            assert!(Template::parse(t).is_err(), "{t:?} should not parse");
        }
        // Anything at all: parse and execute never panic.
        let junk = [
            "}}{{",
            "{{{{}}}}",
            "{{-}}",
            "{{- -}}",
            "{{ ü.ß }}",
            "{{ .PodMeta.Labels.a.b }}",
            "{{`x`}}",
            "\u{0}{{.TrustDomain}}",
        ];
        for t in junk {
            let _ = render(t);
        }
    }
}
