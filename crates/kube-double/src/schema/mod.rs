//! Structural-schema handling for custom resources, as the apiextensions
//! apiserver does it: pruning of unknown fields
//! (apiextensions-apiserver pkg/apiserver/schema/pruning/algorithm.go),
//! OpenAPI v3 validation (kube-openapi pkg/validation/validate, turned into
//! field errors by apiextensions pkg/apiserver/validation/validation.go
//! kubeOpenAPIResultToFieldErrors), and the `Invalid` Status those errors
//! make (apimachinery pkg/api/errors NewInvalid,
//! pkg/util/validation/field/errors.go). Pure functions: any JSON in, never
//! a panic.

pub mod format;
pub mod prune;
pub mod validate;

use serde_json::{Value, json};

use super::errors::ApiError;

/// apimachinery `field.ErrorType`: the `reason` of a Status cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Required,
    Invalid,
    TypeInvalid,
    NotSupported,
    TooLong,
    TooMany,
    Forbidden,
}

impl Cause {
    pub fn reason(self) -> &'static str {
        match self {
            Cause::Required => "FieldValueRequired",
            Cause::Invalid => "FieldValueInvalid",
            Cause::TypeInvalid => "FieldValueTypeInvalid",
            Cause::NotSupported => "FieldValueNotSupported",
            Cause::TooLong => "FieldValueTooLong",
            Cause::TooMany => "FieldValueTooMany",
            Cause::Forbidden => "FieldValueForbidden",
        }
    }

    /// `ErrorType.String()`.
    fn text(self) -> &'static str {
        match self {
            Cause::Required => "Required value",
            Cause::Invalid | Cause::TypeInvalid => "Invalid value",
            Cause::NotSupported => "Unsupported value",
            Cause::TooLong => "Too long",
            Cause::TooMany => "Too many",
            Cause::Forbidden => "Forbidden",
        }
    }
}

/// One `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub cause: Cause,
    pub field: String,
    /// The bad value; None renders no value (Required, TooLong).
    pub value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    /// `Error.ErrorBody()`: the cause message without the field.
    pub fn body(&self) -> String {
        let mut s = self.cause.text().to_string();
        if let Some(v) = &self.value {
            s.push_str(": ");
            s.push_str(&go_value(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// `Error.Error()`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }
}

/// A bad value as ErrorBody prints it: strings `%q`, numbers and bools
/// `%v`, anything else as JSON.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Go's `%q` / strconv.Quote for a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff { out.push_str(&format!("\\u{n:04x}")) } else { out.push_str(&format!("\\U{n:08x}")) }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `errors.NewInvalid(GroupKind{group, kind}, name, errs)`: 422 with one
/// cause per error and the aggregate message (`[a, b]` for several,
/// duplicates dropped).
pub fn invalid(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> ApiError {
    let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        let m = e.message();
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    let agg = match seen.len() {
        0 => String::new(),
        1 => seen[0].clone(),
        _ => format!("[{}]", seen.join(", ")),
    };
    let message = if agg.is_empty() {
        format!("{qualified} {} is invalid", go_quote(name))
    } else {
        format!("{qualified} {} is invalid: {agg}", go_quote(name))
    };
    let causes: Vec<Value> =
        errs.iter().map(|e| json!({"reason": e.cause.reason(), "message": e.body(), "field": e.field})).collect();
    let mut details = json!({"causes": causes});
    if !kind.is_empty() {
        details["kind"] = json!(kind);
    }
    if !name.is_empty() {
        details["name"] = json!(name);
    }
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    ApiError { details: Some(details), ..ApiError::new(422, "Invalid", message) }
}

/// apimachinery `IsDNS1123Subdomain` as `metadata.name` errors
/// (pkg/util/validation/validation.go); what custom resources' names get.
pub fn validate_name(name: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut add = |detail: String| {
        errs.push(FieldError { cause: Cause::Invalid, field: "metadata.name".into(), value: Some(json!(name)), detail })
    };
    if name.len() > 253 {
        add("must be no more than 253 characters".into());
    }
    if !is_dns1123_subdomain(name) {
        add("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
             and must start and end with an alphanumeric character (e.g. 'example.com', regex used for \
             validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            .into());
    }
    errs
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
pub fn is_dns1123_subdomain(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty() && alnum(b[0]) && alnum(b[b.len() - 1]) && b.iter().all(|&c| alnum(c) || c == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_status_shape() {
        let e = FieldError {
            cause: Cause::TypeInvalid,
            field: "status.approvedAt".into(),
            value: Some(json!("")),
            detail: "status.approvedAt in body must be of type date-time: \"\"".into(),
        };
        let err = invalid("warden.dev", "NatsIdentity", "x", std::slice::from_ref(&e));
        assert_eq!(
            err.message,
            "NatsIdentity.warden.dev \"x\" is invalid: status.approvedAt: Invalid value: \"\": status.approvedAt in body must be of type date-time: \"\""
        );
        let s = err.status();
        assert_eq!(s["code"], 422);
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueTypeInvalid");
        assert_eq!(s["details"]["causes"][0]["field"], "status.approvedAt");
        let r = FieldError { cause: Cause::Required, field: "spec.workload".into(), value: None, detail: "".into() };
        let err = invalid("warden.dev", "NatsIdentity", "x", &[e, r.clone(), r]);
        assert!(err.message.ends_with(", spec.workload: Required value]"), "{}", err.message);
        assert_eq!(err.status()["details"]["causes"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn names() {
        assert!(is_dns1123_subdomain("a.b-c.d0"));
        for bad in ["", "A", "-a", "a-", "a..b", "a_b", ".a"] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
        assert_eq!(validate_name(&"a".repeat(254)).len(), 1);
        assert_eq!(go_quote("a\"b\n\u{1}"), "\"a\\\"b\\n\\x01\"");
    }
}
