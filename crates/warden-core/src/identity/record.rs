//! The `NatsIdentity` resource (`warden.dev/v1alpha1`, namespaced): spec is
//! what is asked, status is the lifecycle (phase, minted JWT (public),
//! expiry, who approved/denied/revoked and when). Read from and written to
//! Kubernetes as dynamic objects.

use kube::api::DynamicObject;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::kube::resources::nats_identity;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IdentitySpec {
    pub workload: String,
    /// Account name or public key.
    pub account: String,
    /// NATS user name (`tentacle.{ns}.{wf}`).
    pub user: String,
    /// The workload-held user public key (for a Pending request).
    pub public_key: String,
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
    /// Lifetime of minted JWTs (humantime, e.g. "24h").
    pub ttl: String,
    /// `jwt` (or empty) or `spiffe`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// SPIFFE mode: the SPIFFE ID (the authorization entry's user).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub spiffe_id: String,
    /// Explicit cross-tentacle subjects added by grant (removed by ungrant),
    /// in either mode (JWT: in the re-minted user JWT; SPIFFE: in the
    /// authorization ConfigMap).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<GrantEntry>,
}

/// One explicit grant: `direction` is `publish` or `subscribe`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GrantEntry {
    pub direction: String,
    pub subject: String,
}

/// The lifecycle written to `/status`. On the wire (`deploy/crds/natsidentity.yaml`)
/// an unset field is absent, never `""`: the apiserver validates the times
/// as `format: date-time`, which refuses an empty string (kube-openapi
/// `strfmt.IsDateTime`), and the expiry is `expiresAt`, RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IdentityStatus {
    /// Pending, Active, Denied, Revoked.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phase: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_public_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_public_key: String,
    /// The minted user JWT (public).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    /// `exp` of that JWT, unix seconds (0: none); `expiresAt` on the wire.
    #[serde(rename = "expiresAt", with = "unix_as_rfc3339", skip_serializing_if = "is_zero")]
    pub expires: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub approved_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub approved_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub denied_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub denied_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub revoked_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub revoked_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Every status field's wire name: a status write names each one, unset
/// ones as `null`, so a merge patch clears what the new status leaves out.
pub const STATUS_FIELDS: [&str; 12] = [
    "phase",
    "userPublicKey",
    "accountPublicKey",
    "jwt",
    "expiresAt",
    "approvedBy",
    "approvedAt",
    "deniedBy",
    "deniedAt",
    "revokedBy",
    "revokedAt",
    "message",
];

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Unix seconds as an RFC 3339 UTC string; an unreadable time reads as 0
/// (unknown) rather than failing the whole status.
mod unix_as_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339_of(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?;
        Ok(v.as_ref()
            .and_then(|v| v.as_str())
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map_or(0, |t| t.timestamp()))
    }
}

/// Unix seconds as the status timestamps are written.
pub fn rfc3339_of(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl IdentityStatus {
    /// Approved by `actor` now (the caller adds what it minted).
    pub fn approved(actor: &str) -> IdentityStatus {
        IdentityStatus {
            phase: "Active".into(),
            approved_by: actor.to_string(),
            approved_at: now_rfc3339(),
            ..Default::default()
        }
    }

    /// Denied by `actor` now, for `reason`.
    pub fn denied(actor: &str, reason: &str) -> IdentityStatus {
        IdentityStatus {
            phase: "Denied".into(),
            denied_by: actor.to_string(),
            denied_at: now_rfc3339(),
            message: reason.to_string(),
            ..Default::default()
        }
    }
}

/// The time format of the status timestamps: RFC 3339, whole seconds, UTC.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityRecord {
    pub namespace: String,
    pub name: String,
    pub spec: IdentitySpec,
    pub status: IdentityStatus,
}

impl IdentityRecord {
    pub fn from_object(o: &DynamicObject) -> IdentityRecord {
        let spec = o.data.get("spec").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
        let status = o.data.get("status").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
        IdentityRecord {
            namespace: o.metadata.namespace.clone().unwrap_or_default(),
            name: o.metadata.name.clone().unwrap_or_default(),
            spec,
            status,
        }
    }

    /// Pending unless a phase was set.
    pub fn phase(&self) -> &str {
        if self.status.phase.is_empty() { "Pending" } else { &self.status.phase }
    }

    /// The user key this identity is about (minted, else requested).
    pub fn user_key(&self) -> &str {
        if self.status.user_public_key.is_empty() { &self.spec.public_key } else { &self.status.user_public_key }
    }

    pub fn to_object(&self) -> DynamicObject {
        let mut o = DynamicObject::new(&self.name, &nats_identity()).within(&self.namespace);
        o.data = json!({ "spec": self.spec });
        o
    }
}

/// The status as a merge patch body: the whole status, every unset field
/// `null` (removed), so what it leaves out does not survive from before.
pub fn status_patch(status: &IdentityStatus) -> Value {
    let mut body = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
    if let Some(m) = body.as_object_mut() {
        for f in STATUS_FIELDS {
            m.entry(f).or_insert(Value::Null);
        }
    }
    json!({ "status": body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_are_absent_and_cleared_by_the_patch() {
        let st = IdentityStatus::denied("ops", "no");
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(v.get("approvedAt"), None, "never an empty date-time: {v}");
        assert_eq!(v.get("expiresAt"), None);
        let patch = status_patch(&st);
        assert_eq!(patch["status"]["approvedAt"], Value::Null);
        assert!(patch["status"].as_object().unwrap().contains_key("revokedAt"));
        assert_eq!(patch["status"]["phase"], "Denied");
    }

    #[test]
    fn expiry_is_rfc3339_on_the_wire_and_every_field_is_listed() {
        let full = IdentityStatus {
            phase: "Active".into(),
            user_public_key: "U".into(),
            account_public_key: "A".into(),
            jwt: "j".into(),
            expires: 1_900_000_000,
            approved_by: "a".into(),
            approved_at: rfc3339_of(1),
            denied_by: "d".into(),
            denied_at: rfc3339_of(2),
            revoked_by: "r".into(),
            revoked_at: rfc3339_of(3),
            message: "m".into(),
        };
        let v = serde_json::to_value(&full).unwrap();
        assert_eq!(v["expiresAt"], "2030-03-17T17:46:40Z");
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut listed = STATUS_FIELDS.to_vec();
        keys.sort();
        listed.sort();
        assert_eq!(keys, listed);
        let back: IdentityStatus = serde_json::from_value(v).unwrap();
        assert_eq!(back, full);
        let odd: IdentityStatus = serde_json::from_value(json!({"phase": "Active", "expiresAt": "soon"})).unwrap();
        assert_eq!((odd.phase.as_str(), odd.expires), ("Active", 0));
    }
}
