//! What the Kubernetes identity warden runs as may do, asked before an
//! action writes anything: one `SelfSubjectAccessReview` per permission the
//! action needs (authorization.k8s.io/v1, the API `kubectl auth can-i` uses),
//! so a read-only role is refused up front, naming the verb and resource,
//! instead of failing half-way with NATS already changed.

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::Client;
use kube::api::{Api, PostParams};

/// One permission an action needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub verb: &'static str,
    pub group: &'static str,
    /// `natsidentities`, or with its subresource `natsidentities/status`.
    pub resource: &'static str,
    /// None: cluster-scoped.
    pub namespace: Option<String>,
    /// None: any name (create, list).
    pub name: Option<String>,
}

impl Need {
    pub fn new(verb: &'static str, group: &'static str, resource: &'static str) -> Need {
        Need { verb, group, resource, namespace: None, name: None }
    }
    pub fn within(mut self, namespace: &str) -> Need {
        self.namespace = Some(namespace.to_string());
        self
    }
    pub fn named(mut self, name: &str) -> Need {
        self.name = Some(name.to_string());
        self
    }

    /// `patch natsidentities/status.warden.dev "wf" in namespace "ns"`, like
    /// the apiserver's forbidden message names it.
    pub fn describe(&self) -> String {
        let (base, sub) = match self.resource.split_once('/') {
            Some((b, s)) => (b, format!("/{s}")),
            None => (self.resource, String::new()),
        };
        let res = if self.group.is_empty() { format!("{base}{sub}") } else { format!("{base}{sub}.{}", self.group) };
        let name = self.name.as_ref().map(|n| format!(" {n:?}")).unwrap_or_default();
        let ns = match &self.namespace {
            Some(ns) => format!(" in namespace {ns:?}"),
            None => " (cluster scope)".to_string(),
        };
        format!("{} {res}{name}{ns}", self.verb)
    }

    fn review(&self) -> SelfSubjectAccessReview {
        let (resource, subresource) = match self.resource.split_once('/') {
            Some((b, s)) => (b.to_string(), Some(s.to_string())),
            None => (self.resource.to_string(), None),
        };
        SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(self.verb.to_string()),
                    group: Some(self.group.to_string()),
                    resource: Some(resource),
                    subresource,
                    namespace: self.namespace.clone(),
                    name: self.name.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

/// The permissions among `needs` that are refused, each described with the
/// authorizer's reason when it gives one. An error when the review API
/// itself cannot be asked (then nothing is known; the caller decides).
pub async fn refused(client: &Client, needs: &[Need]) -> Result<Vec<String>, kube::Error> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut out = Vec::new();
    for n in needs {
        let answer = api.create(&PostParams::default(), &n.review()).await?;
        let status = answer.status.unwrap_or_default();
        if !status.allowed || status.denied == Some(true) {
            let why = status.reason.filter(|r| !r.is_empty()).map(|r| format!(" ({r})")).unwrap_or_default();
            out.push(format!("{}{why}", n.describe()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_read_like_the_apiserver_names_them() {
        let n = Need::new("patch", "warden.dev", "natsidentities/status").within("shop").named("cart");
        assert_eq!(n.describe(), "patch natsidentities/status.warden.dev \"cart\" in namespace \"shop\"");
        let r = n.review().spec.resource_attributes.unwrap();
        assert_eq!((r.resource.as_deref(), r.subresource.as_deref()), (Some("natsidentities"), Some("status")));
        assert_eq!(
            Need::new("delete", "spire.spiffe.io", "clusterspiffeids").describe(),
            "delete clusterspiffeids.spire.spiffe.io (cluster scope)"
        );
        assert_eq!(Need::new("create", "", "secrets").within("a").describe(), "create secrets in namespace \"a\"");
    }
}
