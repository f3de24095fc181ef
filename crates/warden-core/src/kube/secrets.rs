//! Credentials Secrets: warden reads only the public JWT out of them. The
//! seed is dropped here, before the object reaches any other module.

use kube::api::DynamicObject;
use serde_json::{Value, json};

/// The user JWT inside a creds file (`-----BEGIN NATS USER JWT-----` block).
pub fn jwt_from_creds(text: &str) -> Option<String> {
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| l.starts_with("-----BEGIN NATS USER JWT"))?;
    let jwt = lines.next()?;
    (jwt.split('.').count() == 3).then(|| jwt.to_string())
}

/// Replaces `data`/`stringData` with `{"jwt": ...}` (or nothing), keeping
/// metadata. Values that are a bare JWT count too.
pub fn strip(mut obj: DynamicObject) -> DynamicObject {
    let mut jwt = None;
    for field in ["data", "stringData"] {
        if let Some(Value::Object(map)) = obj.data.get(field) {
            for v in map.values() {
                let Some(s) = v.as_str() else { continue };
                let text = if field == "data" {
                    data_encoding::BASE64.decode(s.as_bytes()).ok().and_then(|b| String::from_utf8(b).ok())
                } else {
                    Some(s.to_string())
                };
                if let Some(t) = text {
                    jwt = jwt.or_else(|| jwt_from_creds(&t)).or_else(|| bare_jwt(&t));
                }
            }
        }
    }
    let kind = obj.data.get("type").cloned();
    obj.data = json!({ "jwt": jwt, "type": kind });
    obj
}

fn bare_jwt(t: &str) -> Option<String> {
    let t = t.trim();
    (t.starts_with("eyJ") && t.split('.').count() == 3 && !t.contains(char::is_whitespace)).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: &str = "-----BEGIN NATS USER JWT-----\neyJhbGciOi.eyJzdWIiOi.c2ln\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n\n-----BEGIN USER NKEY SEED-----\nSUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM\n------END USER NKEY SEED------\n";

    #[test]
    fn only_the_jwt_survives() {
        let mut obj = DynamicObject::new("creds", &super::super::resources::Watched::CredsSecrets.api_resource());
        obj.data = json!({
            "type": "Opaque",
            "data": { "user.creds": data_encoding::BASE64.encode(CREDS.as_bytes()), "other": "!!notbase64" },
            "stringData": { "seed": "SUAIO3FHUX5PNV2LQIIP7TZ3N4L7TX3W53MQGEIVYFIGA635OZCKEYHFLM" }
        });
        let out = strip(obj);
        let text = serde_json::to_string(&out).unwrap();
        assert!(!text.contains("SUAIO3"), "{text}");
        assert!(!text.contains("LS0t"), "no base64 left: {text}");
        assert_eq!(out.data["jwt"], "eyJhbGciOi.eyJzdWIiOi.c2ln");
        assert_eq!(out.data["type"], "Opaque");
    }

    #[test]
    fn garbage_is_not_a_jwt() {
        assert_eq!(jwt_from_creds("nothing"), None);
        assert_eq!(jwt_from_creds("-----BEGIN NATS USER JWT-----\n"), None);
        assert_eq!(bare_jwt("eyJ a.b.c"), None);
    }
}
