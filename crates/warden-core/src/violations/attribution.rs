//! Maps a [`Violation`] to the identity (`namespace/workload`) it belongs to.
//!
//! Fed with a plain `Vec<IdentityRecord>` so the identity, NATS and SPIRE
//! modules can build it from whatever they know.

use std::collections::HashMap;

use super::events::Violation;

/// What is known about one identity. Every field but `key` is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityRecord {
    /// `namespace/workload`.
    pub key: String,
    /// Account name or public key (either matches a violation's account or
    /// account name).
    pub account: Option<String>,
    /// NATS user name (config mode), e.g. `tentacle.ns.wf`.
    pub user: Option<String>,
    /// User public key (nkey users, or the `sub` of a user JWT).
    pub nkey: Option<String>,
    /// SPIFFE ID (the user name in `verify_and_map` mode).
    pub spiffe_id: Option<String>,
    /// Client connection name, if the workload sets a known one.
    pub client_name: Option<String>,
}

/// How an attribution was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributionSource {
    /// A known identity (by user/nkey/SPIFFE ID, account-checked when both
    /// sides have one).
    Identity,
    /// A known identity by client connection name only.
    IdentityByClientName,
    /// Unknown identity, keyed by the NATS user: `user:<account>/<user>`.
    User,
    /// Unknown identity, keyed by the client name: `client:<name>`.
    ClientName,
    /// Unknown identity, keyed by the client host: `addr:<host>`.
    Address,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub key: String,
    pub source: AttributionSource,
}

/// Lookup tables built once from identity records.
#[derive(Debug, Default, Clone)]
pub struct Attributor {
    records: Vec<IdentityRecord>,
    /// principal (user, nkey or SPIFFE ID) -> record indexes.
    by_principal: HashMap<String, Vec<usize>>,
    by_client_name: HashMap<String, usize>,
}

impl Attributor {
    pub fn new(records: Vec<IdentityRecord>) -> Attributor {
        let mut by_principal: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_client_name = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            for p in [&r.user, &r.nkey, &r.spiffe_id].into_iter().flatten() {
                if !p.is_empty() {
                    let e = by_principal.entry(p.clone()).or_default();
                    if !e.contains(&i) {
                        e.push(i);
                    }
                }
            }
            if let Some(n) = r.client_name.as_ref().filter(|n| !n.is_empty()) {
                by_client_name.entry(n.clone()).or_insert(i);
            }
        }
        Attributor { records, by_principal, by_client_name }
    }

    pub fn records(&self) -> &[IdentityRecord] {
        &self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The identity key for `v`, with fallbacks (user, client name, host).
    pub fn attribute(&self, v: &Violation) -> Attribution {
        if let Some(user) = v.user.as_deref()
            && let Some(candidates) = self.by_principal.get(user)
        {
            // `$G` is where a client sits before it authenticated: no account yet.
            let account_ok = |r: &IdentityRecord| match (&r.account, &v.account) {
                (Some(ra), Some(va)) if va != "$G" => ra == va || v.account_name.as_deref() == Some(ra.as_str()),
                _ => true,
            };
            if let Some(r) = candidates.iter().filter_map(|&i| self.records.get(i)).find(|r| account_ok(r)) {
                return Attribution { key: r.key.clone(), source: AttributionSource::Identity };
            }
        }
        if let Some(name) = v.client_name.as_deref()
            && let Some(r) = self.by_client_name.get(name).and_then(|&i| self.records.get(i))
        {
            return Attribution { key: r.key.clone(), source: AttributionSource::IdentityByClientName };
        }
        if let Some(user) = v.user.as_deref() {
            let acc = v.account_name.as_deref().or(v.account.as_deref()).unwrap_or("?");
            return Attribution { key: format!("user:{acc}/{user}"), source: AttributionSource::User };
        }
        if let Some(name) = v.client_name.as_deref().filter(|n| !n.is_empty()) {
            return Attribution { key: format!("client:{name}"), source: AttributionSource::ClientName };
        }
        if let Some(addr) = v.client_addr.as_deref() {
            return Attribution { key: format!("addr:{}", host_of(addr)), source: AttributionSource::Address };
        }
        Attribution { key: "unknown".to_string(), source: AttributionSource::Unknown }
    }
}

/// `1.2.3.4:5678` -> `1.2.3.4`, `[::1]:5` -> `[::1]`, `cip/1.2.3.4:5` -> `cip`
/// (a proxied websocket client: the real client ip comes first).
fn host_of(addr: &str) -> &str {
    let addr = addr.split('/').next().unwrap_or(addr);
    if addr.starts_with('[') {
        return addr.split_once(']').map_or(addr, |(h, _)| addr.get(..h.len() + 1).unwrap_or(addr));
    }
    match addr.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violations::events::ViolationKind;

    fn v(account: Option<&str>, user: Option<&str>) -> Violation {
        Violation {
            at: None,
            server: None,
            server_id: None,
            kind: ViolationKind::PublishDenied,
            account: account.map(str::to_string),
            account_name: None,
            user: user.map(str::to_string),
            client_name: None,
            client_addr: Some("10.1.2.3:4567".into()),
            cid: Some(1),
            subject: Some("x".into()),
            queue: None,
            reason: None,
            cause: None,
        }
    }

    fn attributor() -> Attributor {
        Attributor::new(vec![
            IdentityRecord {
                key: "ns/wf".into(),
                account: Some("APP".into()),
                user: Some("tentacle.ns.wf".into()),
                spiffe_id: Some("spiffe://td/ns/ns/wf/wf".into()),
                ..Default::default()
            },
            IdentityRecord {
                key: "other/wf".into(),
                account: Some("OTHER".into()),
                user: Some("tentacle.ns.wf".into()),
                nkey: Some("UKEY".into()),
                client_name: Some("other-client".into()),
                ..Default::default()
            },
        ])
    }

    #[test]
    fn by_user_nkey_spiffe_and_account() {
        let a = attributor();
        let r = a.attribute(&v(Some("APP"), Some("tentacle.ns.wf")));
        assert_eq!((r.key.as_str(), r.source), ("ns/wf", AttributionSource::Identity));
        // Same user name in another account: the account decides.
        assert_eq!(a.attribute(&v(Some("OTHER"), Some("tentacle.ns.wf"))).key, "other/wf");
        assert_eq!(a.attribute(&v(None, Some("spiffe://td/ns/ns/wf/wf"))).key, "ns/wf");
        assert_eq!(a.attribute(&v(Some("X"), Some("UKEY"))).key, "user:X/UKEY");
        assert_eq!(a.attribute(&v(None, Some("UKEY"))).key, "other/wf");
        // A failed login carries the global account: the user decides.
        assert_eq!(a.attribute(&v(Some("$G"), Some("spiffe://td/ns/ns/wf/wf"))).key, "ns/wf");
        // Operator mode: account public key plus name tag.
        let mut op = v(Some("ACPUB"), Some("tentacle.ns.wf"));
        op.account_name = Some("APP".into());
        assert_eq!(a.attribute(&op).key, "ns/wf");
    }

    #[test]
    fn fallbacks() {
        let a = attributor();
        let mut x = v(Some("APP"), None);
        x.client_name = Some("other-client".into());
        assert_eq!(a.attribute(&x).source, AttributionSource::IdentityByClientName);
        x.client_name = Some("svc".into());
        assert_eq!(a.attribute(&x).key, "client:svc");
        x.client_name = None;
        assert_eq!(a.attribute(&x).key, "addr:10.1.2.3");
        x.client_addr = Some("[::1]:4222".into());
        assert_eq!(a.attribute(&x).key, "addr:[::1]");
        x.client_addr = None;
        assert_eq!(a.attribute(&x).source, AttributionSource::Unknown);
        assert_eq!(a.attribute(&v(Some("APP"), Some("stranger"))).key, "user:APP/stranger");
        assert_eq!(host_of("1.2.3.4/10.0.0.1:5"), "1.2.3.4");
        assert_eq!(host_of("[::1"), "[::1");
    }
}
