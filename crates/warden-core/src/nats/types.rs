//! Wire types of the system-account monitoring API (nats-server `events.go`,
//! `monitor.go`). Every field defaults, so a server that omits one (older
//! version, different build) still parses.

use serde::{Deserialize, Serialize};

/// Who answered: the `server` object of every system reply and event.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    pub name: String,
    pub host: String,
    pub id: String,
    pub cluster: String,
    pub domain: String,
    pub ver: String,
    pub tags: Vec<String>,
    pub jetstream: bool,
    pub seq: u64,
    pub time: String,
}

/// `{"server":..., "data":..., "error":...}` around a `$SYS.REQ.SERVER.*` reply.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiResponse<T> {
    #[serde(default)]
    pub server: ServerInfo,
    pub data: Option<T>,
    pub error: Option<ApiError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ApiError {
    pub code: i64,
    pub description: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterInfo {
    pub name: String,
    pub addr: String,
    pub cluster_port: u16,
}

/// The parts of `/varz` warden shows.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Varz {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub host: String,
    pub port: u16,
    pub start: String,
    pub now: String,
    pub uptime: String,
    pub mem: i64,
    pub cores: i64,
    pub cpu: f64,
    pub connections: i64,
    pub total_connections: u64,
    pub routes: i64,
    pub leafnodes: i64,
    pub subscriptions: u64,
    pub slow_consumers: i64,
    pub in_msgs: i64,
    pub out_msgs: i64,
    pub in_bytes: i64,
    pub out_bytes: i64,
    pub cluster: ClusterInfo,
    pub system_account: String,
    /// How clients authenticate (the doctor's checks).
    pub auth_required: bool,
    pub tls_required: bool,
    pub tls_verify: bool,
    /// Operator mode: the trusted operators' JWTs.
    pub trusted_operators_jwt: Vec<String>,
    /// RFC 3339; only reported by servers that know it (omitted when zero).
    pub tls_cert_not_after: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataStats {
    pub msgs: i64,
    pub bytes: i64,
}

/// `statsz` of a `ServerStatsMsg` (periodic `$SYS.SERVER.<id>.STATSZ` and
/// replies to `$SYS.REQ.SERVER.PING.STATSZ`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statsz {
    pub start: String,
    pub mem: i64,
    pub cores: i64,
    pub cpu: f64,
    pub connections: i64,
    pub total_connections: i64,
    pub active_accounts: i64,
    pub subscriptions: i64,
    pub sent: DataStats,
    pub received: DataStats,
    pub slow_consumers: i64,
    pub active_servers: i64,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct StatszMsg {
    pub server: ServerInfo,
    pub statsz: Statsz,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsPeerCert {
    pub subject: String,
    pub subject_pk_sha256: String,
    pub cert_sha256: String,
}

/// One connection of `/connz` with `auth: true`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnInfo {
    pub cid: u64,
    pub kind: String,
    #[serde(rename = "type")]
    pub conn_type: String,
    pub ip: String,
    pub port: u16,
    pub start: String,
    pub last_activity: String,
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    pub pending_bytes: i64,
    pub in_msgs: i64,
    pub out_msgs: i64,
    pub in_bytes: i64,
    pub out_bytes: i64,
    pub subscriptions: u32,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub tls_version: String,
    pub tls_cipher_suite: String,
    pub tls_peer_certs: Vec<TlsPeerCert>,
    pub authorized_user: String,
    pub account: String,
    pub jwt: String,
    pub issuer_key: String,
    pub name_tag: String,
    pub tags: Vec<String>,
    /// Closed connections (`state: closed`): when and why the server closed it.
    pub stop: String,
    pub reason: String,
}

/// One server's page of `/connz`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct Connz {
    pub server_id: String,
    pub now: String,
    pub num_connections: i64,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
    pub connections: Vec<ConnInfo>,
}

/// Reply of `$SYS.REQ.USER.INFO`: who this connection is.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    pub user: String,
    pub account: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct UserInfoResponse {
    pub data: UserInfo,
    pub error: Option<ApiError>,
}

/// `client` of a connect / disconnect advisory (`server/events.go`
/// `ClientInfo`: `id` is the cid, `host` the address, `acc` the account,
/// `user` the raw auth user as CONNZ's `authorized_user`, `jwt` the user JWT
/// the client presented — unredacted, also for bearer tokens).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct EventClient {
    pub start: String,
    pub host: String,
    pub id: u64,
    pub acc: String,
    pub user: String,
    pub name: String,
    pub lang: String,
    pub ver: String,
    pub jwt: String,
    pub issuer_key: String,
    pub name_tag: String,
    pub tags: Vec<String>,
    pub kind: String,
    pub client_type: String,
}

/// `ConnectEventMsg` / `DisconnectEventMsg` (`server/events.go`), published
/// on `$SYS.ACCOUNT.<acc>.CONNECT` / `.DISCONNECT` by the client's server.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClientEventMsg {
    #[serde(rename = "type")]
    pub event_type: String,
    pub server: ServerInfo,
    pub client: EventClient,
    /// Disconnects only: why the server closed it.
    pub reason: String,
}

/// `io.nats.server.advisory.v1.client_connect` (`ConnectEventMsgType`).
pub const CONNECT_EVENT_TYPE: &str = "io.nats.server.advisory.v1.client_connect";
/// `io.nats.server.advisory.v1.client_disconnect` (`DisconnectEventMsgType`).
pub const DISCONNECT_EVENT_TYPE: &str = "io.nats.server.advisory.v1.client_disconnect";

impl EventClient {
    /// The connection as CONNZ (`auth: true`) would list it, as far as the
    /// event tells (no counters, subscriptions, TLS or uptime: the
    /// reconciling sweep fills those in). The JWT is passed through as is:
    /// the caller blanks bearer tokens, as CONNZ does.
    pub fn into_conn_info(self) -> ConnInfo {
        ConnInfo {
            cid: self.id,
            kind: self.kind,
            conn_type: self.client_type,
            ip: self.host,
            start: self.start,
            name: self.name,
            lang: self.lang,
            version: self.ver,
            authorized_user: self.user,
            account: self.acc,
            jwt: self.jwt,
            issuer_key: self.issuer_key,
            name_tag: self.name_tag,
            tags: self.tags,
            ..Default::default()
        }
    }
}

/// The parts of `/jsz` the doctor reads (`server/monitor.go` `JSInfo`).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct Jsz {
    pub server_id: String,
    /// JetStream is off on this server.
    pub disabled: bool,
    pub account_details: Vec<JszAccount>,
}

/// `AccountDetail`: `name` is the name tag when the account has one, `id` the account.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct JszAccount {
    pub name: String,
    pub id: String,
    pub stream_detail: Vec<JszStream>,
}

/// `StreamDetail` with its `config` (`StreamConfig.num_replicas`, `allow_direct`).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct JszStream {
    pub name: String,
    pub config: JszStreamConfig,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct JszStreamConfig {
    pub num_replicas: i64,
    pub allow_direct: bool,
}
