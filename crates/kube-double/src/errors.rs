//! API errors as real `metav1.Status` objects: clients (kube-rs, kubectl)
//! branch on `code` and `reason`, and users read `message`, so both follow
//! the apiserver's wording.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer of the API, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details` of the Status (`name`, `group`, `kind`, `causes`).
    pub details: Option<Value>,
}

/// The `resource.group` form the apiserver uses in messages (`pods`,
/// `clusterspiffeids.spire.spiffe.io`).
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") }
}

fn details(group: &str, plural: &str, name: &str) -> Option<Value> {
    let mut d = json!({ "kind": plural });
    if !name.is_empty() {
        d["name"] = json!(name);
    }
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    Some(d)
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        ApiError {
            details: details(group, plural, name),
            ..Self::new(404, "NotFound", format!("{} \"{name}\" not found", qualified(group, plural)))
        }
    }

    /// 404 for a path that names no known resource.
    pub fn no_route() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        ApiError {
            details: details(group, plural, name),
            ..Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", qualified(group, plural)))
        }
    }

    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        ApiError {
            details: details(group, plural, name),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                     please apply your changes to the latest version and try again",
                    qualified(group, plural)
                ),
            )
        }
    }

    /// The RBAC denial, worded as the apiserver's authorizer does.
    pub fn forbidden(user: &str, verb: &str, group: &str, resource: &str, namespace: Option<&str>, name: &str) -> Self {
        let base = resource.split('/').next().unwrap_or(resource);
        let subject =
            if name.is_empty() { qualified(group, base) } else { format!("{} \"{name}\"", qualified(group, base)) };
        let scope = match namespace {
            Some(ns) if !ns.is_empty() => format!("in the namespace \"{ns}\""),
            _ => "at the cluster scope".to_string(),
        };
        ApiError {
            details: details(group, base, name),
            ..Self::new(
                403,
                "Forbidden",
                format!(
                    "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" \
                     in API group \"{group}\" {scope}"
                ),
            )
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn invalid(group: &str, plural: &str, name: &str, message: impl Into<String>) -> Self {
        ApiError { details: details(group, plural, name), ..Self::new(422, "Invalid", message) }
    }

    pub fn method_not_allowed() -> Self {
        Self::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    /// The watch-cache answer for a resourceVersion older than the history.
    pub fn gone(requested: u64, oldest: u64) -> Self {
        Self::new(410, "Expired", format!("too old resource version: {requested} ({oldest})"))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// An injected outage: 503 ServiceUnavailable, anything else InternalError.
    pub fn outage(code: u16) -> Self {
        if code == 503 {
            Self::new(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        } else {
            Self::new(code, "InternalError", "Internal error occurred: injected outage")
        }
    }

    /// An injected fault's Status, with the reason and wording
    /// k8s.io/apimachinery (`pkg/api/errors/errors.go`) and the apiserver's
    /// timeout filter give each code.
    pub fn injected(code: u16) -> Self {
        match code {
            429 => Self::new(429, "TooManyRequests", "Too many requests, please try again later."),
            503 => Self::outage(503),
            504 => Self::new(
                504,
                "Timeout",
                "Timeout: request did not complete within requested timeout - context deadline exceeded",
            ),
            c => Self::new(c, "InternalError", "Internal error occurred: injected fault"),
        }
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(code, &self.status())
    }
}

/// A JSON body with the content type clients expect.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (code, [(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_message_matches_the_apiserver() {
        let e = ApiError::forbidden("warden", "list", "spire.spiffe.io", "clusterspiffeids", None, "");
        assert_eq!(
            e.message,
            "clusterspiffeids.spire.spiffe.io is forbidden: User \"warden\" cannot list resource \
             \"clusterspiffeids\" in API group \"spire.spiffe.io\" at the cluster scope"
        );
        let e = ApiError::forbidden("warden", "get", "", "secrets", Some("ns1"), "creds");
        assert_eq!(
            e.message,
            "secrets \"creds\" is forbidden: User \"warden\" cannot get resource \"secrets\" in \
             API group \"\" in the namespace \"ns1\""
        );
        assert_eq!(e.status()["details"]["kind"], "secrets");
    }
}
