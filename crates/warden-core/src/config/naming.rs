//! `[naming]` as written in the config file: the trust domain and the
//! naming templates, uncompiled. `identity::naming` compiles and applies them.

use serde::{Deserialize, Serialize};

/// The trust domain used when `[naming] trust_domain` is not set.
pub const DEFAULT_TRUST_DOMAIN: &str = "tentacular.local";

/// The default SPIFFE ID template.
pub const DEFAULT_SPIFFE_ID: &str = "spiffe://{trust_domain}/ns/{namespace}/wf/{workload}";
/// The default NATS user template.
pub const DEFAULT_NATS_USER: &str = "tentacle.{namespace}.{workload}";
/// The default subject scope (publish and subscribe).
pub const DEFAULT_SUBJECT_SCOPE: &str = "tentacular.{namespace}.{workload}.>";
/// What every identity may also subscribe to, for request/reply.
pub const DEFAULT_INBOX: &str = "_INBOX.>";

/// The configurable naming templates (serde: every field optional, defaults
/// from brief section 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamingConfig {
    pub spiffe_id: String,
    pub nats_user: String,
    pub subject_scope: String,
    /// Extra subscribe-only subjects (request/reply inboxes).
    pub extra_subscribe: Vec<String>,
}

impl Default for NamingConfig {
    fn default() -> Self {
        NamingConfig {
            spiffe_id: DEFAULT_SPIFFE_ID.to_string(),
            nats_user: DEFAULT_NATS_USER.to_string(),
            subject_scope: DEFAULT_SUBJECT_SCOPE.to_string(),
            extra_subscribe: vec![DEFAULT_INBOX.to_string()],
        }
    }
}

/// `[naming]`: the trust domain and the naming templates (every field
/// optional; defaults from the brief, section 1).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct NamingSection {
    pub trust_domain: Option<String>,
    #[serde(flatten)]
    pub templates: NamingConfig,
}
