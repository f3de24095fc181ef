//! RBAC allow-lists: whether a set of `PolicyRule`s (a ClusterRole's
//! `rules`) allows a request, after k8s.io/kubernetes
//! plugin/pkg/auth/authorizer/rbac (RuleAllows) and pkg/apis/rbac/v1
//! evaluation_helpers.go (VerbMatches, APIGroupMatches, ResourceMatches
//! with `*/sub` wildcards, ResourceNameMatches).

use serde_json::Value;

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// One resource request, as the apiserver's RequestInfo describes it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
}

pub fn rule_allows(rule: &Value, r: &Request) -> bool {
    let verbs = strings(&rule["verbs"]);
    let groups = strings(&rule["apiGroups"]);
    let resources = strings(&rule["resources"]);
    let names = strings(&rule["resourceNames"]);
    let combined =
        if r.subresource.is_empty() { r.resource.to_string() } else { format!("{}/{}", r.resource, r.subresource) };
    let verb_ok = verbs.iter().any(|v| *v == "*" || *v == r.verb);
    let group_ok = groups.iter().any(|g| *g == "*" || *g == r.group);
    let resource_ok = resources.iter().any(|res| {
        *res == "*"
            || *res == combined
            || (!r.subresource.is_empty() && res.strip_prefix("*/").is_some_and(|s| s == r.subresource))
    });
    let name_ok = names.is_empty() || names.contains(&r.name);
    verb_ok && group_ok && resource_ok && name_ok
}

pub fn allows(rules: &[Value], r: &Request) -> bool {
    rules.iter().any(|rule| rule_allows(rule, r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req<'a>(verb: &'a str, group: &'a str, resource: &'a str, sub: &'a str, name: &'a str) -> Request<'a> {
        Request { verb, group, resource, subresource: sub, name }
    }

    #[test]
    fn matching() {
        let rules = [
            json!({"apiGroups": ["warden.dev"], "resources": ["natsidentities"], "verbs": ["get", "list", "watch"]}),
            json!({"apiGroups": ["warden.dev"], "resources": ["natsidentities/status"], "verbs": ["patch"],
                   "resourceNames": ["orders"]}),
            json!({"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}),
            json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]}),
        ];
        assert!(allows(&rules, &req("list", "warden.dev", "natsidentities", "", "")));
        assert!(!allows(&rules, &req("patch", "warden.dev", "natsidentities", "", "orders")));
        assert!(allows(&rules, &req("patch", "warden.dev", "natsidentities", "status", "orders")));
        assert!(!allows(&rules, &req("patch", "warden.dev", "natsidentities", "status", "other")));
        assert!(allows(&rules, &req("get", "", "pods", "log", "p")));
        assert!(!allows(&rules, &req("get", "", "pods", "", "p")));
        assert!(allows(&rules, &req("list", "apps", "deployments", "", "")));
        assert!(!allows(&rules, &req("get", "", "pods", "exec", "p")));
        assert!(!allows(&[json!(5), json!({"verbs": "x"})], &req("get", "", "pods", "", "")));
    }
}
