//! What a connection row keeps of a CONNZ record: the fields its columns
//! and detail pane show, with the strings that repeat across rows shared
//! (one copy of each account, user, server, client library, address...).
//! The whole record is fetched on demand for the describe view
//! (`SysClient::server_connz_record`), not kept per row.

use serde::Serialize;

use super::text::{Interner, Text};
use warden_core::nats::types::ConnInfo;

/// One connection, named as CONNZ names its fields (`server/monitor.go`
/// `ConnInfo`), so the JSON report keeps the wire's names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConnFacts {
    pub cid: u64,
    pub kind: Text,
    #[serde(rename = "type")]
    pub conn_type: Text,
    pub ip: Text,
    pub port: u16,
    pub start: Text,
    pub rtt: Text,
    pub uptime: Text,
    pub idle: Text,
    pub pending_bytes: i64,
    pub in_msgs: i64,
    pub out_msgs: i64,
    pub in_bytes: i64,
    pub out_bytes: i64,
    pub subscriptions: u32,
    pub name: Text,
    pub lang: Text,
    pub version: Text,
    pub tls_version: Text,
    pub tls_cipher_suite: Text,
    /// Subjects of the client's certificate chain.
    pub tls_peer_subjects: Box<[Text]>,
    pub authorized_user: Text,
    pub account: Text,
    /// The user JWT. The console's rows drop it once decoded
    /// (`ConnRow::without_token`); reports keep it.
    pub jwt: Text,
    pub issuer_key: Text,
    pub name_tag: Text,
    pub tags: Box<[Text]>,
    /// Closed connections: when and why the server closed it.
    pub stop: Text,
    pub reason: Text,
}

impl ConnFacts {
    /// The row's part of `c`; repeated strings through `names`. `start`
    /// (to the nanosecond: one per connection) is the only one not shared.
    pub fn of(c: ConnInfo, names: &mut Interner) -> ConnFacts {
        let mut s = |v: &str| names.get(v);
        ConnFacts {
            cid: c.cid,
            kind: s(&c.kind),
            conn_type: s(&c.conn_type),
            ip: s(&c.ip),
            port: c.port,
            start: Text::from(c.start),
            rtt: s(&c.rtt),
            uptime: s(&c.uptime),
            idle: s(&c.idle),
            pending_bytes: c.pending_bytes,
            in_msgs: c.in_msgs,
            out_msgs: c.out_msgs,
            in_bytes: c.in_bytes,
            out_bytes: c.out_bytes,
            subscriptions: c.subscriptions,
            name: s(&c.name),
            lang: s(&c.lang),
            version: s(&c.version),
            tls_version: s(&c.tls_version),
            tls_cipher_suite: s(&c.tls_cipher_suite),
            tls_peer_subjects: c.tls_peer_certs.iter().map(|p| s(&p.subject)).collect(),
            authorized_user: s(&c.authorized_user),
            account: s(&c.account),
            jwt: s(&c.jwt),
            issuer_key: s(&c.issuer_key),
            name_tag: s(&c.name_tag),
            tags: c.tags.iter().map(|t| s(t)).collect(),
            stop: s(&c.stop),
            reason: s(&c.reason),
        }
    }
}
