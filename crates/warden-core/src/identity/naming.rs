//! Identity naming: `NAMESPACE/WORKLOAD` and the configurable templates that
//! derive an identity's SPIFFE ID, NATS user and subject scope from it
//! (brief section 1), plus the reverse (SPIFFE ID -> identity).
//!
//! Placeholders: `{trust_domain}`, `{namespace}`, `{workload}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::naming::{DEFAULT_TRUST_DOMAIN, NamingConfig, NamingSection};

/// Why a name or a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("expected NAMESPACE/WORKLOAD, got {0:?}")]
    Shape(String),
    #[error("{what} {value:?} is not a DNS-1123 label: {why}")]
    Label { what: &'static str, value: String, why: &'static str },
    #[error("trust domain {0:?} is invalid (lowercase letters, digits, '.', '-', '_')")]
    TrustDomain(String),
    #[error("template {template:?}: {why}")]
    Template { template: String, why: String },
}

/// Checks a Kubernetes DNS-1123 label: 1-63 characters of `[a-z0-9-]`,
/// starting and ending with an alphanumeric.
pub fn validate_dns1123_label(what: &'static str, value: &str) -> Result<(), NameError> {
    let err = |why| Err(NameError::Label { what, value: value.to_string(), why });
    if value.is_empty() {
        return err("empty");
    }
    if value.len() > 63 {
        return err("longer than 63 characters");
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return err("only lowercase letters, digits and '-' are allowed");
    }
    let first = value.as_bytes()[0];
    let last = value.as_bytes()[value.len() - 1];
    if first == b'-' || last == b'-' {
        return err("must start and end with a letter or digit");
    }
    Ok(())
}

/// Checks a SPIFFE trust domain name (SPIFFE-ID spec: lowercase letters,
/// digits, `.`, `-`, `_`; at most 255 bytes).
pub fn validate_trust_domain(td: &str) -> Result<(), NameError> {
    let ok = !td.is_empty()
        && td.len() <= 255
        && td.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(NameError::TrustDomain(td.to_string())) }
}

/// One identity: a workload ("tentacle") in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdentityName {
    pub namespace: String,
    pub workload: String,
}

impl IdentityName {
    /// Both parts validated as DNS-1123 labels.
    pub fn new(namespace: &str, workload: &str) -> Result<Self, NameError> {
        validate_dns1123_label("namespace", namespace)?;
        validate_dns1123_label("workload", workload)?;
        Ok(IdentityName { namespace: namespace.to_string(), workload: workload.to_string() })
    }

    /// Parses `NAMESPACE/WORKLOAD`.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(ns), Some(wl), None) => Self::new(ns, wl),
            _ => Err(NameError::Shape(s.to_string())),
        }
    }
}

impl FromStr for IdentityName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::parse(s)
    }
}

impl fmt::Display for IdentityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.workload)
    }
}

/// A placeholder in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    TrustDomain,
    Namespace,
    Workload,
}

impl Var {
    fn from_name(s: &str) -> Option<Var> {
        match s {
            "trust_domain" => Some(Var::TrustDomain),
            "namespace" => Some(Var::Namespace),
            "workload" => Some(Var::Workload),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(Var),
}

/// A parsed template such as `spiffe://{trust_domain}/ns/{namespace}/wf/{workload}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// What a template match captured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Captures {
    pub trust_domain: Option<String>,
    pub namespace: Option<String>,
    pub workload: Option<String>,
}

impl Template {
    /// Parses a template; `{{` and `}}` are not supported (no NATS subject,
    /// user or SPIFFE ID needs braces). Two placeholders side by side are
    /// refused: the reverse match would be ambiguous.
    pub fn parse(source: &str) -> Result<Template, NameError> {
        let bad = |why: &str| NameError::Template { template: source.to_string(), why: why.to_string() };
        let mut pieces = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    pieces.push(Piece::Lit(rest.to_string()));
                    rest = "";
                }
                Some(i) if rest.as_bytes()[i] == b'}' => return Err(bad("unmatched '}'")),
                Some(i) => {
                    if i > 0 {
                        pieces.push(Piece::Lit(rest[..i].to_string()));
                    }
                    let after = &rest[i + 1..];
                    let end = after.find('}').ok_or_else(|| bad("unclosed '{'"))?;
                    let name = &after[..end];
                    let var = Var::from_name(name).ok_or_else(|| {
                        bad(&format!("unknown placeholder {{{name}}} (known: trust_domain, namespace, workload)"))
                    })?;
                    if matches!(pieces.last(), Some(Piece::Var(_))) {
                        return Err(bad("two placeholders need a separator between them"));
                    }
                    pieces.push(Piece::Var(var));
                    rest = &after[end + 1..];
                }
            }
        }
        Ok(Template { source: source.to_string(), pieces })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    fn uses(&self, v: Var) -> bool {
        self.pieces.contains(&Piece::Var(v))
    }

    /// Renders the template. `trust_domain` is only read when the template uses it.
    pub fn render(&self, trust_domain: &str, name: &IdentityName) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(Var::TrustDomain) => out.push_str(trust_domain),
                Piece::Var(Var::Namespace) => out.push_str(&name.namespace),
                Piece::Var(Var::Workload) => out.push_str(&name.workload),
            }
        }
        out
    }

    /// The template in the SPIRE controller manager's Go-template syntax
    /// (ClusterSPIFFEID `spiffeIDTemplate`): `{{ .TrustDomain }}`,
    /// `{{ .PodMeta.Namespace }}`, and the workload as the value of
    /// `workload_label` on the pod.
    pub fn render_spire(&self, workload_label: &str) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(Var::TrustDomain) => out.push_str("{{ .TrustDomain }}"),
                Piece::Var(Var::Namespace) => out.push_str("{{ .PodMeta.Namespace }}"),
                Piece::Var(Var::Workload) => {
                    out.push_str("{{ index .PodMeta.Labels ");
                    out.push_str(&serde_json::to_string(workload_label).unwrap_or_default());
                    out.push_str(" }}");
                }
            }
        }
        out
    }

    /// Matches `s` against the template. Captures must be valid (DNS-1123
    /// labels for namespace/workload, a trust-domain name), and a placeholder
    /// used twice must capture the same text both times.
    pub fn capture(&self, s: &str) -> Option<Captures> {
        let mut caps = Captures::default();
        if match_pieces(&self.pieces, s, &mut caps) { Some(caps) } else { None }
    }
}

fn valid_capture(v: Var, s: &str) -> bool {
    match v {
        Var::TrustDomain => validate_trust_domain(s).is_ok(),
        Var::Namespace => validate_dns1123_label("namespace", s).is_ok(),
        Var::Workload => validate_dns1123_label("workload", s).is_ok(),
    }
}

fn slot(caps: &mut Captures, v: Var) -> &mut Option<String> {
    match v {
        Var::TrustDomain => &mut caps.trust_domain,
        Var::Namespace => &mut caps.namespace,
        Var::Workload => &mut caps.workload,
    }
}

/// Backtracking match; templates are a handful of pieces and inputs are
/// short (SPIFFE IDs are bounded by the caller), so this stays cheap.
fn match_pieces(pieces: &[Piece], s: &str, caps: &mut Captures) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Lit(l), rest)) => s.starts_with(l.as_str()) && match_pieces(rest, &s[l.len()..], caps),
        Some((Piece::Var(v), rest)) => {
            // Candidate ends: every char boundary (the next piece is a literal or the end).
            let ends: Vec<usize> = match rest.first() {
                None => vec![s.len()],
                Some(Piece::Lit(l)) => s.match_indices(l.as_str()).map(|(i, _)| i).collect(),
                Some(Piece::Var(_)) => return false, // refused by Template::parse
            };
            for end in ends {
                let cand = &s[..end];
                if !valid_capture(*v, cand) {
                    continue;
                }
                let prev = slot(caps, *v).clone();
                if let Some(p) = &prev
                    && p != cand
                {
                    continue;
                }
                *slot(caps, *v) = Some(cand.to_string());
                if match_pieces(rest, &s[end..], caps) {
                    return true;
                }
                *slot(caps, *v) = prev;
            }
            false
        }
    }
}

/// The subjects an identity gets by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub publish_allow: Vec<String>,
    pub subscribe_allow: Vec<String>,
}

/// Compiled naming templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    pub trust_domain: String,
    spiffe_id: Template,
    nats_user: Template,
    subject_scope: Template,
    extra_subscribe: Vec<String>,
}

/// The `[naming]` defaults (the brief's templates).
impl Default for Naming {
    fn default() -> Naming {
        Naming::from_section(&NamingSection::default()).expect("the default naming templates parse")
    }
}

impl Naming {
    /// The templates of `[naming]`, compiled (errors name the bad template
    /// or trust domain).
    pub fn from_section(section: &NamingSection) -> anyhow::Result<Naming> {
        let td = section.trust_domain.as_deref().unwrap_or(DEFAULT_TRUST_DOMAIN);
        anyhow::Context::context(Naming::new(td, &section.templates), "[naming] in the config file")
    }

    /// Compiles the templates. The SPIFFE ID template must use `{namespace}`
    /// and `{workload}` (it has to be reversible) and start with `spiffe://`.
    pub fn new(trust_domain: &str, cfg: &NamingConfig) -> Result<Naming, NameError> {
        validate_trust_domain(trust_domain)?;
        let spiffe_id = Template::parse(&cfg.spiffe_id)?;
        if !spiffe_id.uses(Var::Namespace) || !spiffe_id.uses(Var::Workload) {
            return Err(NameError::Template {
                template: cfg.spiffe_id.clone(),
                why: "must use {namespace} and {workload}".into(),
            });
        }
        if !cfg.spiffe_id.starts_with("spiffe://") {
            return Err(NameError::Template {
                template: cfg.spiffe_id.clone(),
                why: "must start with spiffe://".into(),
            });
        }
        Ok(Naming {
            trust_domain: trust_domain.to_string(),
            spiffe_id,
            nats_user: Template::parse(&cfg.nats_user)?,
            subject_scope: Template::parse(&cfg.subject_scope)?,
            extra_subscribe: cfg.extra_subscribe.clone(),
        })
    }

    /// The default templates for a trust domain.
    pub fn with_defaults(trust_domain: &str) -> Result<Naming, NameError> {
        Self::new(trust_domain, &NamingConfig::default())
    }

    /// What `name` may reach in `dir` without being over-broad
    /// (`nats::subject::is_over_broad`): its own scope, the grants it
    /// declared, and the tenant prefix of the subject-scope template (its
    /// tokens before the trailing wildcard; the literal ones before the
    /// first placeholder are the tenant root).
    pub fn reach(
        &self,
        name: &IdentityName,
        dir: crate::nats::subject::Direction,
        declared: &[String],
    ) -> crate::nats::subject::Reach {
        use crate::nats::subject::Direction;
        let scope = self.scope(name);
        let own = match dir {
            Direction::Publish => scope.publish_allow,
            Direction::Subscribe => scope.subscribe_allow,
        };
        let template = self.subject_scope.as_str();
        let tokens: Vec<&str> = template.split('.').collect();
        let depth = tokens.iter().take_while(|t| **t != ">" && **t != "*").count().max(1);
        let root =
            tokens.iter().take_while(|t| !t.contains('{') && **t != ">" && **t != "*").map(|t| t.to_string()).collect();
        crate::nats::subject::Reach { own, declared: declared.to_vec(), root, depth }
    }

    pub fn spiffe_id(&self, name: &IdentityName) -> String {
        self.spiffe_id.render(&self.trust_domain, name)
    }

    pub fn nats_user(&self, name: &IdentityName) -> String {
        self.nats_user.render(&self.trust_domain, name)
    }

    /// The scope subject, e.g. `tentacular.ns.wl.>`.
    pub fn subject_scope(&self, name: &IdentityName) -> String {
        self.subject_scope.render(&self.trust_domain, name)
    }

    /// Default permissions: scope for pub and sub, plus the extra subscribe subjects.
    pub fn scope(&self, name: &IdentityName) -> Scope {
        let s = self.subject_scope(name);
        let mut sub = vec![s.clone()];
        for x in &self.extra_subscribe {
            if !sub.contains(x) {
                sub.push(x.clone());
            }
        }
        Scope { publish_allow: vec![s], subscribe_allow: sub }
    }

    /// The SPIFFE ID template for a ClusterSPIFFEID `spiffeIDTemplate`.
    pub fn spire_id_template(&self, workload_label: &str) -> String {
        self.spiffe_id.render_spire(workload_label)
    }

    /// SPIFFE ID -> identity, if the ID matches the template in this trust
    /// domain. Inputs longer than 2048 bytes (the SPIFFE limit) are refused.
    pub fn parse_spiffe_id(&self, id: &str) -> Option<IdentityName> {
        if id.len() > 2048 {
            return None;
        }
        let caps = self.spiffe_id.capture(id)?;
        if let Some(td) = &caps.trust_domain
            && *td != self.trust_domain
        {
            return None;
        }
        Some(IdentityName { namespace: caps.namespace?, workload: caps.workload? })
    }

    /// NATS user -> identity (`None` if the template does not use both names).
    pub fn parse_nats_user(&self, user: &str) -> Option<IdentityName> {
        if user.len() > 2048 {
            return None;
        }
        let caps = self.nats_user.capture(user)?;
        Some(IdentityName { namespace: caps.namespace?, workload: caps.workload? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::naming::DEFAULT_SPIFFE_ID;

    #[test]
    fn naming_section_compiles_from_the_config_file() {
        use crate::config::ConfigFile;
        let f: ConfigFile =
            toml::from_str("[naming]\ntrust_domain = \"prod.example\"\nnats_user = \"wf.{namespace}.{workload}\"\n")
                .unwrap();
        let nm = Naming::from_section(&f.naming).unwrap();
        let id = IdentityName::parse("a/b").unwrap();
        assert_eq!(nm.trust_domain, "prod.example");
        assert_eq!(nm.nats_user(&id), "wf.a.b");
        assert_eq!(nm.subject_scope(&id), "tentacular.a.b.>");
        assert_eq!(Naming::from_section(&ConfigFile::default().naming).unwrap().trust_domain, DEFAULT_TRUST_DOMAIN);
        let bad: ConfigFile = toml::from_str("[naming]\nspiffe_id = \"nope\"\n").unwrap();
        assert!(Naming::from_section(&bad.naming).is_err());
    }

    fn n(s: &str) -> IdentityName {
        IdentityName::parse(s).unwrap()
    }

    #[test]
    fn parses_identity_names() {
        assert_eq!(
            n("tent-dev/hn-digest"),
            IdentityName { namespace: "tent-dev".into(), workload: "hn-digest".into() }
        );
        assert_eq!(n("a/b").to_string(), "a/b");
        for bad in ["", "a", "a/", "/b", "a/b/c", "A/b", "a/b_c", "-a/b", "a/b-", "a.b/c", "a/é"] {
            assert!(IdentityName::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = "a".repeat(64);
        assert!(IdentityName::new(&long, "b").is_err());
        assert!(IdentityName::new(&"a".repeat(63), "b").is_ok());
    }

    #[test]
    fn renders_defaults() {
        let nm = Naming::with_defaults("tentacular.local").unwrap();
        let id = n("tent-dev/hn-digest");
        assert_eq!(nm.spiffe_id(&id), "spiffe://tentacular.local/ns/tent-dev/wf/hn-digest");
        assert_eq!(nm.nats_user(&id), "tentacle.tent-dev.hn-digest");
        assert_eq!(
            nm.scope(&id),
            Scope {
                publish_allow: vec!["tentacular.tent-dev.hn-digest.>".into()],
                subscribe_allow: vec!["tentacular.tent-dev.hn-digest.>".into(), "_INBOX.>".into()],
            }
        );
    }

    #[test]
    fn reverse_parses_spiffe_ids() {
        let nm = Naming::with_defaults("tentacular.local").unwrap();
        let id = n("tent-dev/hn-digest");
        assert_eq!(nm.parse_spiffe_id(&nm.spiffe_id(&id)), Some(id.clone()));
        assert_eq!(nm.parse_spiffe_id("spiffe://other.td/ns/tent-dev/wf/hn-digest"), None);
        assert_eq!(nm.parse_spiffe_id("spiffe://tentacular.local/ns/tent-dev/wf/hn-digest/x"), None);
        assert_eq!(nm.parse_spiffe_id("spiffe://tentacular.local/ns/Tent/wf/x"), None);
        assert_eq!(nm.parse_spiffe_id(""), None);
        assert_eq!(nm.parse_nats_user("tentacle.tent-dev.hn-digest"), Some(id));
        assert_eq!(nm.parse_nats_user("tentacle.a.b.c"), None);
    }

    #[test]
    fn custom_templates() {
        let cfg = NamingConfig {
            spiffe_id: "spiffe://{trust_domain}/{namespace}/tentacles/{workload}".into(),
            nats_user: "{workload}@{namespace}".into(),
            subject_scope: "t.{namespace}-{workload}.>".into(),
            extra_subscribe: vec![],
        };
        let nm = Naming::new("td", &cfg).unwrap();
        let id = n("a-b/c-d");
        let sid = nm.spiffe_id(&id);
        assert_eq!(sid, "spiffe://td/a-b/tentacles/c-d");
        assert_eq!(nm.parse_spiffe_id(&sid), Some(id.clone()));
        assert_eq!(nm.scope(&id).subscribe_allow, vec!["t.a-b-c-d.>"]);
        // "{namespace}-{workload}" is ambiguous with '-' in labels; nats_user is not.
        assert_eq!(nm.parse_nats_user("c-d@a-b"), Some(id));
    }

    #[test]
    fn refuses_bad_templates() {
        for t in [
            "spiffe://{trust_domain}/{namespace}{workload}",
            "spiffe://{td}/{namespace}/{workload}",
            "spiffe://{trust_domain}/{namespace",
            "spiffe://}{namespace}/{workload}",
            "spiffe://{trust_domain}/ns/{namespace}",
            "http://{trust_domain}/{namespace}/{workload}",
        ] {
            let cfg = NamingConfig { spiffe_id: t.into(), ..Default::default() };
            assert!(Naming::new("td", &cfg).is_err(), "{t} accepted");
        }
        assert!(Naming::with_defaults("Bad/TD").is_err());
    }

    #[test]
    fn repeated_placeholder_must_agree() {
        let t = Template::parse("{namespace}.{workload}.{namespace}").unwrap();
        assert!(t.capture("a.b.a").is_some());
        assert!(t.capture("a.b.c").is_none());
    }

    #[test]
    fn naming_config_deserializes_with_defaults() {
        let c: NamingConfig = serde_json::from_str(r#"{"nats_user":"u.{workload}"}"#).unwrap();
        assert_eq!(c.nats_user, "u.{workload}");
        assert_eq!(c.spiffe_id, DEFAULT_SPIFFE_ID);
    }

    #[test]
    fn spire_template_uses_go_template_fields() {
        let n = Naming::with_defaults("td.local").unwrap();
        assert_eq!(
            n.spire_id_template("tentacular.io/workflow"),
            "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/wf/{{ index .PodMeta.Labels \"tentacular.io/workflow\" }}"
        );
    }
}
