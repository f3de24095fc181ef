//! NATS JWT v2 claims, with the JSON field names of nats-io/jwt v2
//! (`v2/claims.go`, `operator_claims.go`, `account_claims.go`,
//! `user_claims.go`, `types.go`).
//!
//! Go's `omitempty` drops empty strings, zero numbers, `false`, nil slices and
//! maps, but never a struct: `pub`, `sub`, `limits` and `default_permissions`
//! are always written. Every `nats` object keeps the fields this crate does not
//! model in `extra`, so an account JWT decoded, changed (revocations) and
//! re-signed loses nothing (mappings, external authorization, trace, ...).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Go's `NoLimit`.
pub const NO_LIMIT: i64 = -1;

/// The `nats.version` this codec writes (and the newest it reads).
pub const LIB_VERSION: i64 = 2;

pub(crate) fn is_zero(v: &i64) -> bool {
    *v == 0
}

pub(crate) fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

pub(crate) fn is_false(v: &bool) -> bool {
    !*v
}

/// `null` decodes as the default (Go decodes `null` into a nil slice/map/"").
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Go's `CIDRList` accepts a JSON array or a comma separated string.
fn cidr_list<'de, D>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Joined(String),
        Null(()),
    }
    Ok(match Form::deserialize(d)? {
        Form::List(l) => l,
        Form::Joined(s) => {
            s.to_lowercase().split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
        }
        Form::Null(()) => Vec::new(),
    })
}

/// What a JWT is about: `nats.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    Operator,
    Account,
    User,
}

impl ClaimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Operator => "operator",
            ClaimKind::Account => "account",
            ClaimKind::User => "user",
        }
    }

    /// The creds-file banner word (`-----BEGIN NATS USER JWT-----`).
    pub fn banner(self) -> &'static str {
        match self {
            ClaimKind::Operator => "OPERATOR",
            ClaimKind::Account => "ACCOUNT",
            ClaimKind::User => "USER",
        }
    }
}

impl std::fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The standard claims (Go `ClaimsData`) in Go's field order, which is also
/// the JSON hashed into `jti`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StdClaims {
    #[serde(rename = "aud", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub audience: String,
    #[serde(rename = "exp", default, skip_serializing_if = "is_zero")]
    pub expires: i64,
    #[serde(rename = "jti", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub id: String,
    #[serde(rename = "iat", default, skip_serializing_if = "is_zero")]
    pub issued_at: i64,
    #[serde(rename = "iss", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub issuer: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    #[serde(rename = "nbf", default, skip_serializing_if = "is_zero")]
    pub not_before: i64,
    #[serde(rename = "sub", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subject: String,
}

/// A whole JWT payload: standard claims plus the `nats` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims<N> {
    #[serde(flatten)]
    pub std: StdClaims,
    pub nats: N,
}

pub type OperatorClaims = Claims<Operator>;
pub type AccountClaims = Claims<Account>;
pub type UserClaims = Claims<User>;

/// Implemented by the three `nats` objects.
pub trait NatsClaim: Serialize + for<'de> Deserialize<'de> + Clone {
    const KIND: ClaimKind;
    /// Sets `type` and `version` (Go's `updateVersion`).
    fn stamp(&mut self);
}

macro_rules! generic_fields {
    ($t:ty, $kind:expr) => {
        impl NatsClaim for $t {
            const KIND: ClaimKind = $kind;
            fn stamp(&mut self) {
                self.kind = $kind.as_str().to_string();
                self.version = LIB_VERSION;
            }
        }
    };
}

/// `nats` of an operator JWT.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub signing_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub account_server_url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub operator_service_urls: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub system_account: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub assert_server_version: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_signing_key_usage: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: i64,
}
generic_fields!(Operator, ClaimKind::Operator);

/// Go `NatsLimits`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsLimits {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subs: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub data: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub payload: i64,
}

impl NatsLimits {
    pub fn unlimited() -> Self {
        NatsLimits { subs: NO_LIMIT, data: NO_LIMIT, payload: NO_LIMIT }
    }
}

/// Go `JetStreamLimits`. All zero means JetStream is disabled for the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JetStreamLimits {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mem_storage: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disk_storage: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub streams: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consumer: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mem_max_stream_bytes: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disk_max_stream_bytes: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub max_bytes_required: bool,
}

impl JetStreamLimits {
    /// JetStream enabled without limits (`nsc edit account --js-enable 1`-like).
    pub fn unlimited() -> Self {
        JetStreamLimits {
            mem_storage: NO_LIMIT,
            disk_storage: NO_LIMIT,
            streams: NO_LIMIT,
            consumer: NO_LIMIT,
            ..Default::default()
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.mem_storage != 0 || self.disk_storage != 0
    }
}

/// Go `OperatorLimits`: `NatsLimits` + `AccountLimits` + `JetStreamLimits`
/// inline, plus `tiered_limits`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountLimits {
    #[serde(flatten)]
    pub nats: NatsLimits,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub imports: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub exports: i64,
    #[serde(rename = "wildcards", default, skip_serializing_if = "is_false")]
    pub wildcard_exports: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disallow_bearer: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub conn: i64,
    #[serde(rename = "leaf", default, skip_serializing_if = "is_zero")]
    pub leaf_node_conn: i64,
    #[serde(flatten)]
    pub jetstream: JetStreamLimits,
    #[serde(
        rename = "tiered_limits",
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub tiered: BTreeMap<String, JetStreamLimits>,
    /// Limits this crate does not model, as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AccountLimits {
    /// What Go's `NewAccountClaims` starts from: everything unlimited,
    /// JetStream disabled.
    pub fn unlimited() -> Self {
        AccountLimits {
            nats: NatsLimits::unlimited(),
            imports: NO_LIMIT,
            exports: NO_LIMIT,
            wildcard_exports: true,
            disallow_bearer: false,
            conn: NO_LIMIT,
            leaf_node_conn: NO_LIMIT,
            jetstream: JetStreamLimits::default(),
            tiered: BTreeMap::new(),
            extra: Map::new(),
        }
    }

    pub fn jetstream_enabled(&self) -> bool {
        self.jetstream.is_enabled() || self.tiered.values().any(|t| t.is_enabled())
    }
}

/// Go `Permission`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub deny: Vec<String>,
}

impl Permission {
    pub fn allow<I: IntoIterator<Item = S>, S: Into<String>>(subjects: I) -> Self {
        Permission { allow: subjects.into_iter().map(Into::into).collect(), deny: Vec::new() }
    }
}

/// Go `ResponsePermission`; `ttl` is a Go `time.Duration` in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsePermission {
    #[serde(rename = "max", default)]
    pub max_msgs: i64,
    #[serde(rename = "ttl", default)]
    pub ttl_nanos: i64,
}

/// Go `Permissions` (`pub`/`sub` always written, `resp` when set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(rename = "pub", default, deserialize_with = "null_default")]
    pub publish: Permission,
    #[serde(rename = "sub", default, deserialize_with = "null_default")]
    pub subscribe: Permission,
    #[serde(rename = "resp", default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponsePermission>,
}

/// Go `TimeRange` (`"HH:MM:SS"` strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub start: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub end: String,
}

/// An account signing key: a plain public key, or the scoped form
/// (`{"kind":"user_scope","key":...,"role":...,"template":{...}}`) kept as
/// written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AccountSigningKey {
    Key(String),
    Scoped(Map<String, Value>),
}

impl AccountSigningKey {
    /// The signing key's public key (`key` of the scoped form).
    pub fn key(&self) -> Option<&str> {
        match self {
            AccountSigningKey::Key(k) => Some(k),
            AccountSigningKey::Scoped(m) => m.get("key").and_then(Value::as_str),
        }
    }

    pub fn is_scoped(&self) -> bool {
        matches!(self, AccountSigningKey::Scoped(_))
    }
}

/// Go `Import`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Import {
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subject: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub account: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub token: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub to: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub local_subject: String,
    /// `"stream"` or `"service"`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub share: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_trace: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Go `Export`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Export {
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subject: String,
    /// `"stream"` or `"service"`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub token_req: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub revocations: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub response_type: String,
    /// Go `time.Duration`, nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub response_threshold: i64,
    #[serde(rename = "service_latency", default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Value>,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub account_token_position: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub advertise: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_trace: bool,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub info_url: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `nats` of an account JWT.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub imports: Vec<Import>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub exports: Vec<Export>,
    #[serde(default, deserialize_with = "null_default")]
    pub limits: AccountLimits,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub signing_keys: Vec<AccountSigningKey>,
    /// Public key (or `"*"`) -> unix seconds: JWTs for that key issued at or
    /// before that time are revoked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub revocations: BTreeMap<String, i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub default_permissions: Permissions,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub info_url: String,
    /// `mappings`, `authorization`, `trace`, `cluster_traffic`, ... as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: i64,
}
generic_fields!(Account, ClaimKind::Account);

impl Account {
    /// The public keys of the account's signing keys (plain and scoped).
    pub fn signing_key_ids(&self) -> impl Iterator<Item = &str> {
        self.signing_keys.iter().filter_map(AccountSigningKey::key)
    }

    pub fn has_signing_key(&self, public_key: &str) -> bool {
        self.signing_key_ids().any(|k| k == public_key)
    }

    /// Adds a revocation for `public_key` at `at` (unix seconds); like Go's
    /// `RevokeAt`, an existing later revocation is kept.
    pub fn revoke(&mut self, public_key: &str, at: i64) {
        let e = self.revocations.entry(public_key.to_string()).or_insert(at);
        if *e < at {
            *e = at;
        }
    }

    /// Whether a JWT for `subject` issued at `issued_at` is revoked (Go
    /// `IsRevoked`: revocation time >= issue time; `"*"` covers every key).
    pub fn is_revoked(&self, subject: &str, issued_at: i64) -> bool {
        self.revoked_at(subject).is_some_and(|ts| ts >= issued_at)
    }

    /// The revocation time that applies to `subject`: the later of its own
    /// entry and the `"*"` entry (nats-server `server/accounts.go`
    /// `isRevoked` checks both; jwt v2 `revocation_list.go` `IsRevoked`).
    /// A JWT for `subject` issued at or before this time is revoked.
    pub fn revoked_at(&self, subject: &str) -> Option<i64> {
        revocation_time(&self.revocations, subject)
    }
}

/// [`Account::revoked_at`] over a bare revocation list (key or `"*"` ->
/// unix seconds).
pub fn revocation_time(revocations: &BTreeMap<String, i64>, subject: &str) -> Option<i64> {
    let own = if subject.is_empty() { None } else { revocations.get(subject).copied() };
    own.max(revocations.get("*").copied())
}

/// `nats` of a user JWT (Go `User`: `Permissions` and `Limits` inline).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(flatten)]
    pub permissions: Permissions,
    /// Allowed client source CIDRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "cidr_list")]
    pub src: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub times: Vec<TimeRange>,
    /// IANA zone for `times` (JSON `times_location`).
    #[serde(
        rename = "times_location",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub locale: String,
    #[serde(flatten)]
    pub limits: NatsLimits,
    #[serde(default, skip_serializing_if = "is_false")]
    pub bearer_token: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub proxy_required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub allowed_connection_types: Vec<String>,
    /// The account, when the JWT is signed by one of its signing keys.
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub issuer_account: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: i64,
}
generic_fields!(User, ClaimKind::User);

impl<N: Default> Claims<N> {
    /// Claims about `subject` with default `nats`.
    pub fn about(subject: &str, name: &str) -> Self {
        Claims {
            std: StdClaims { subject: subject.to_string(), name: name.to_string(), ..Default::default() },
            nats: N::default(),
        }
    }
}

impl AccountClaims {
    /// A new account, unlimited like Go's `NewAccountClaims` (JetStream off).
    pub fn new_account(subject: &str, name: &str) -> Self {
        let mut c = Self::about(subject, name);
        c.nats.limits = AccountLimits::unlimited();
        c
    }
}

impl UserClaims {
    /// A new user, unlimited like Go's `NewUserClaims`.
    pub fn new_user(subject: &str, name: &str) -> Self {
        let mut c = Self::about(subject, name);
        c.nats.limits = NatsLimits::unlimited();
        c
    }
}

/// Any decoded claims.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyClaims {
    Operator(OperatorClaims),
    Account(AccountClaims),
    User(UserClaims),
}

impl AnyClaims {
    pub fn kind(&self) -> ClaimKind {
        match self {
            AnyClaims::Operator(_) => ClaimKind::Operator,
            AnyClaims::Account(_) => ClaimKind::Account,
            AnyClaims::User(_) => ClaimKind::User,
        }
    }

    pub fn std(&self) -> &StdClaims {
        match self {
            AnyClaims::Operator(c) => &c.std,
            AnyClaims::Account(c) => &c.std,
            AnyClaims::User(c) => &c.std,
        }
    }
}
