//! `SelfSubjectAccessReview` (authorization.k8s.io/v1): "may I do this?",
//! answered from the same rules that authorize real requests, as the
//! apiserver does (pkg/registry/authorization/selfsubjectaccessreview:
//! the spec's resourceAttributes become the authorizer's attributes).

use serde_json::{Value, json};

use super::errors::ApiError;
use super::store::Store;

pub fn answer(st: &Store, review: &Value) -> Result<Value, ApiError> {
    let attrs = &review["spec"]["resourceAttributes"];
    if !attrs.is_object() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    let s = |k: &str| attrs[k].as_str().unwrap_or("");
    let resource = if s("subresource").is_empty() {
        s("resource").to_string()
    } else {
        format!("{}/{}", s("resource"), s("subresource"))
    };
    let ns = Some(s("namespace")).filter(|n| !n.is_empty());
    let allowed = st.allows(s("verb"), s("group"), &resource, ns, s("name"));
    let mut status = json!({ "allowed": allowed });
    if allowed {
        status["reason"] = json!("RBAC: allowed by the double's rules");
    }
    Ok(json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": { "creationTimestamp": null },
        "spec": review["spec"],
        "status": status,
    }))
}
