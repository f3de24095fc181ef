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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IdentityStatus {
    /// Pending, Active, Denied, Revoked.
    pub phase: String,
    pub user_public_key: String,
    pub account_public_key: String,
    /// The minted user JWT (public).
    pub jwt: String,
    /// `exp` of that JWT, unix seconds (0: none).
    pub expires: i64,
    pub approved_by: String,
    pub approved_at: String,
    pub denied_by: String,
    pub denied_at: String,
    pub revoked_by: String,
    pub revoked_at: String,
    pub message: String,
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

/// The status as a merge patch body.
pub fn status_patch(status: &IdentityStatus) -> Value {
    json!({ "status": status })
}
