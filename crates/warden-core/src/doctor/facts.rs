//! What the doctor looks at: one snapshot of every source, gathered by the
//! console (from its state) or by `warden doctor` (fetched once). Plain
//! data, so every check is a pure function with unit tests.

use crate::identity::join::JoinedIdentity;
use crate::identity::naming::Naming;
use crate::identity::permissions::PermissionSet;
use crate::identity::record::IdentityRecord;
use crate::nats::jwt::UserClaims;
use crate::spire::model::{Agent, Entry};

/// Thresholds and lists from `[doctor]` / `[policy]` in the config file.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Users (name, nkey or SPIFFE ID) allowed in the system account
    /// besides warden's own connection.
    pub admin_users: Vec<String>,
    /// SPIFFE IDs must start with one of these (empty: no policy).
    pub allowed_spiffe_prefixes: Vec<String>,
    /// Expiring (warning) under this many seconds; critical under `critical_secs`.
    pub warn_secs: i64,
    pub critical_secs: i64,
    /// Subscription violations per identity from which the workload is
    /// probably deaf.
    pub sub_violations: u64,
    /// SPIFFE mode (verify_and_map) expected on the servers.
    pub spiffe_mode: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            admin_users: vec![],
            allowed_spiffe_prefixes: vec![],
            warn_secs: 7 * 24 * 3600,
            critical_secs: 24 * 3600,
            sub_violations: 3,
            spiffe_mode: false,
        }
    }
}

/// One server, from VARZ (`server/monitor.go` `Varz`).
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    pub id: String,
    pub name: String,
    pub auth_required: bool,
    pub tls_required: bool,
    pub tls_verify: bool,
    pub system_account: String,
    /// The trusted operators' JWTs (operator mode).
    pub operator_jwts: Vec<String>,
    /// `tls_cert_not_after` (2.11+ report it), unix seconds.
    pub tls_cert_not_after: Option<i64>,
    pub jetstream: bool,
    /// The `INFO` sent to a client that has not authenticated said
    /// `auth_required: false` (no auth, or `no_auth_user`); `None`: not probed.
    pub anonymous_allowed: Option<bool>,
}

/// One live client connection (CONNZ with auth, or a CONNECT event).
#[derive(Debug, Clone, Default)]
pub struct ConnFacts {
    pub server: String,
    pub cid: u64,
    /// Account as the server reports it (public key in operator mode).
    pub account: String,
    /// The account's name when known.
    pub account_name: String,
    /// `authorized_user`: the user name, nkey, SPIFFE ID, or `[REDACTED]`
    /// for a token (`server/client.go` `getRawAuthUser`).
    pub user: String,
    /// The client's connection name (untrusted).
    pub name: String,
    pub claims: Option<std::sync::Arc<UserClaims>>,
    /// Public key of the user JWT's subject, when it has one.
    pub user_key: String,
}

/// One account as the servers hold it.
#[derive(Debug, Clone, Default)]
pub struct AccountFacts {
    pub key: String,
    pub name: String,
    pub expires: Option<i64>,
    /// The account JWT sets JetStream limits (global or tiered).
    pub jetstream_limits: bool,
    pub system: bool,
    /// The JWT's `jti` (what sites compare).
    pub jti: String,
    /// Why its JWT differs between servers, if it does.
    pub drift: Option<String>,
    /// The JWT each server serves, with the server's cluster (what sites
    /// sharing a supercluster compare).
    pub served: Vec<ServedJwt>,
}

/// One server's JWT of one account (ACCOUNTZ).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServedJwt {
    pub server: String,
    /// The server's cluster: in a supercluster, its gateway name.
    pub cluster: String,
    pub jti: String,
}

/// One stream of JSZ (`server/monitor.go` `StreamDetail`).
#[derive(Debug, Clone, Default)]
pub struct StreamFacts {
    /// Account name or key as JSZ reports it (`id` is the key).
    pub account: String,
    pub name: String,
    pub replicas: i64,
    /// `allow_direct`: KV clients read it with DIRECT.GET, else STREAM.MSG.GET.
    pub allow_direct: bool,
}

/// A violation count per identity and kind, from the live store.
#[derive(Debug, Clone, Default)]
pub struct ViolationCount {
    pub identity: String,
    pub user: String,
    pub subscribe: u64,
    pub publish: u64,
    /// Latest refused subscription.
    pub last_subject: String,
    /// Latest refused publish.
    pub last_publish: String,
    /// Failed authentications, and the latest one's diagnosed cause.
    pub auth_failures: u64,
    pub last_auth_cause: String,
}

/// A ClusterSPIFFEID as the doctor needs it.
#[derive(Debug, Clone, Default)]
pub struct RegistrationFacts {
    pub name: String,
    pub namespace: String,
    pub workload: String,
    /// The SPIFFE ID it asks for (template resolved when possible).
    pub spiffe_id: String,
    /// Why no controller makes its entries, if so.
    pub problem: Option<String>,
}

/// An authorization entry of the SPIFFE-mode ConfigMap.
#[derive(Debug, Clone, Default)]
pub struct AuthzEntryFacts {
    pub user: String,
    /// Effective allow lists (scope and grants), for comparing sites.
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// One pod of a traced workload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFacts {
    pub name: String,
    /// `status.phase`: Running, Pending, Failed...
    pub phase: String,
    /// `spec.nodeName`: its SPIRE agent's node.
    pub node: String,
}

/// Everything the checks read; sources that could not be read are empty
/// and named in `unavailable` (a check never guesses about a missing source).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub now: i64,
    pub policy: Policy,
    pub servers: Vec<ServerFacts>,
    pub conns: Vec<ConnFacts>,
    /// warden's own connection(s): (server id or name, cid).
    pub own_conns: Vec<(String, u64)>,
    pub accounts: Vec<AccountFacts>,
    /// Servers with JetStream enabled (JSZ replies not disabled).
    pub jetstream_servers: usize,
    pub streams: Vec<StreamFacts>,
    /// Every identity's rules (user JWTs of live connections, authorization entries).
    pub permissions: Vec<PermissionSet>,
    pub identities: Vec<JoinedIdentity>,
    /// NatsIdentity records (their declared subjects) and the naming they are judged by.
    pub records: Vec<IdentityRecord>,
    /// Creds Secrets (by the creds label): which user JWT each holds.
    pub creds_secrets: Vec<crate::identity::creds_secret::CredsSecretFacts>,
    pub naming: Naming,
    pub violations: Vec<ViolationCount>,
    pub registrations: Vec<RegistrationFacts>,
    pub authz_entries: Vec<AuthzEntryFacts>,
    pub entries: Vec<Entry>,
    pub agents: Vec<Agent>,
    /// Pods of the traced workload; `None` when they were not listed (the
    /// doctor does not list pods; a trace does).
    pub pods: Option<Vec<PodFacts>>,
    /// Sources that could not be read, in words ("JSZ: timeout").
    pub unavailable: Vec<String>,
}

/// Per-identity violation counts from the store's groups (the live view's
/// (identity, subject, kind) groups, summed per identity).
pub fn violation_counts<'a>(groups: impl Iterator<Item = &'a crate::violations::store::Group>) -> Vec<ViolationCount> {
    use crate::violations::events::ViolationKind;
    let mut by: std::collections::BTreeMap<&str, ViolationCount> = Default::default();
    for g in groups {
        let v = by.entry(g.key.identity.as_str()).or_insert_with(|| ViolationCount {
            identity: g.key.identity.clone(),
            user: g.last.user.clone().unwrap_or_default(),
            ..Default::default()
        });
        match g.key.kind {
            ViolationKind::SubscribeDenied => {
                v.subscribe += g.count;
                v.last_subject = g.key.subject.clone();
            }
            ViolationKind::PublishDenied => {
                v.publish += g.count;
                v.last_publish = g.key.subject.clone();
            }
            ViolationKind::AuthFailed | ViolationKind::AuthExpired | ViolationKind::Revoked => {
                v.auth_failures += g.count;
                if let Some(c) = &g.last.cause {
                    v.last_auth_cause = c.detail.clone();
                } else if let Some(r) = &g.last.reason {
                    v.last_auth_cause = r.clone();
                }
            }
            _ => {}
        }
    }
    by.into_values().filter(|v| v.subscribe + v.publish + v.auth_failures > 0).collect()
}

/// JetStream servers and every stream (deduplicated across the servers
/// holding replicas) from JSZ replies; the account is its id (key or name).
pub fn jetstream_of<'a>(replies: impl Iterator<Item = &'a crate::nats::types::Jsz>) -> (usize, Vec<StreamFacts>) {
    let mut servers = 0;
    let mut seen = std::collections::BTreeMap::<(String, String), (i64, bool)>::new();
    for j in replies.filter(|j| !j.disabled) {
        servers += 1;
        for a in &j.account_details {
            for s in &a.stream_detail {
                let e = seen.entry((a.id.clone(), s.name.clone())).or_insert((0, false));
                *e = (e.0.max(s.config.num_replicas.max(1)), e.1 || s.config.allow_direct);
            }
        }
    }
    let streams = seen
        .into_iter()
        .map(|((account, name), (replicas, allow_direct))| StreamFacts { account, name, replicas, allow_direct })
        .collect();
    (servers, streams)
}

impl Policy {
    /// From `[doctor]` and `[policy]`; a threshold that does not parse is an
    /// error naming the key (never silently the default).
    pub fn from_config(
        doctor: &crate::config::file::DoctorSection,
        policy: &crate::config::file::PolicySection,
        spiffe_mode: bool,
    ) -> anyhow::Result<Policy> {
        let d = Policy::default();
        let secs = |key: &str, v: &Option<String>, default: i64| -> anyhow::Result<i64> {
            match v {
                None => Ok(default),
                Some(t) => humantime::parse_duration(t)
                    .map(|d| d.as_secs() as i64)
                    .map_err(|e| anyhow::anyhow!("[doctor] {key}: {e}")),
            }
        };
        let warn_secs = secs("expiry_warn", &doctor.expiry_warn, d.warn_secs)?;
        let critical_secs = secs("expiry_critical", &doctor.expiry_critical, d.critical_secs)?;
        anyhow::ensure!(critical_secs <= warn_secs, "[doctor] expiry_critical must not be longer than expiry_warn");
        Ok(Policy {
            admin_users: doctor.admin_users.clone(),
            allowed_spiffe_prefixes: policy.allowed_spiffe_prefixes.clone(),
            warn_secs,
            critical_secs,
            sub_violations: doctor.sub_violations.unwrap_or(d.sub_violations),
            spiffe_mode,
        })
    }
}
