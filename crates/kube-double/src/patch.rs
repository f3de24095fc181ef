//! PATCH bodies by content type. Strategic merge patch is applied as a JSON
//! merge patch: our resources have no list-merge keys that matter, and the
//! maps (`data`, `labels`, `spec`) merge the same way.

use serde_json::Value;

use super::errors::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    /// Server-side apply: handled by the store with field ownership
    /// (`managed::apply`), not here.
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
            _ => Err(ApiError::unsupported_media_type(ct)),
        }
    }
}

/// Applies `body` to `target`; a body that is not valid for its kind is a
/// 400/422 like on the apiserver, never a panic.
pub fn apply(kind: PatchKind, target: &Value, body: &[u8]) -> Result<Value, ApiError> {
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON Patch: {e}")))?;
            let mut out = target.clone();
            json_patch::patch(&mut out, &ops).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
            Ok(out)
        }
        PatchKind::Merge | PatchKind::Strategic | PatchKind::Apply => {
            let patch: Value = serde_json::from_slice(body).map_err(|e| {
                let what = if kind == PatchKind::Apply {
                    "apply patches are accepted as JSON only by this double"
                } else {
                    "invalid JSON merge patch"
                };
                ApiError::bad_request(format!("{what}: {e}"))
            })?;
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                ));
            }
            let mut out = target.clone();
            json_patch::merge(&mut out, &patch);
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_and_json_patch() {
        let t = json!({"data": {"a": "1", "b": "2"}});
        let m = apply(PatchKind::Merge, &t, br#"{"data":{"a":null,"c":"3"}}"#).unwrap();
        assert_eq!(m, json!({"data": {"b": "2", "c": "3"}}));
        let j = apply(PatchKind::Json, &t, br#"[{"op":"replace","path":"/data/a","value":"9"}]"#).unwrap();
        assert_eq!(j["data"]["a"], "9");
    }

    #[test]
    fn garbage_is_an_error() {
        let t = json!({});
        assert!(apply(PatchKind::Json, &t, b"{").is_err());
        assert!(apply(PatchKind::Json, &t, br#"[{"op":"remove","path":"/x"}]"#).is_err());
        assert!(apply(PatchKind::Merge, &t, b"[1]").is_err());
        assert!(apply(PatchKind::Merge, &t, b"\xff").is_err());
        assert!(PatchKind::from_content_type("text/plain").is_err());
    }
}
