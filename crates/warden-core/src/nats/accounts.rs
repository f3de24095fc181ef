//! Accounts of an operator-mode deployment (full resolver):
//! `$SYS.REQ.CLAIMS.LIST` (every server answers `{"server":..,"data":[ids]}`),
//! `$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP` (every server that has the account
//! answers with the bare JWT) and `$SYS.REQ.SERVER.PING.ACCOUNTZ`
//! (`{"account": id}`: per-server detail with connection count and JWT).
//!
//! `CLAIMS.LIST` is not the whole story: a full resolver leaves expired
//! JWTs out of it (`server/dirstore.go` `PackWalk`) and a memory resolver
//! does not answer it at all (only `DirAccResolver.Start` in
//! `server/accounts.go` subscribes to it). So the ids are also taken from
//! the accounts every server has loaded (`ACCOUNTZ` without an account:
//! `server/monitor.go` `Accountz` ranges over `s.accounts`, expired ones
//! included) and from ids the caller knows from elsewhere (connections,
//! NatsIdentity records); ACCOUNTZ detail then gives each server's JWT.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::jwt::{self, AccountClaims};
use super::sys::{SysClient, decode_api};
use super::types::ServerInfo;

/// `$SYS.REQ.SERVER.PING.ACCOUNTZ` data with `account` set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Accountz {
    pub server_id: String,
    pub system_account: String,
    /// Without `account`: every account the server has loaded.
    pub accounts: Vec<String>,
    pub account_detail: Option<AccountDetail>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccountDetail {
    pub account_name: String,
    pub is_system: bool,
    pub expired: bool,
    pub client_connections: i64,
    pub leafnode_connections: i64,
    pub jwt: String,
}

/// What one server says about one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerView {
    pub server: String,
    pub server_id: String,
    /// The server's cluster (in a supercluster: its gateway name).
    pub cluster: String,
    pub connections: i64,
    /// `jti` of the JWT it serves (empty: none).
    pub jti: String,
    pub issued_at: i64,
}

/// One account, as the deployment sees it.
#[derive(Debug, Clone, Default)]
pub struct AccountRecord {
    pub id: String,
    /// The newest JWT served (by `iat`).
    pub jwt: String,
    pub claims: Option<AccountClaims>,
    pub decode_error: Option<String>,
    /// Distinct JWTs served for it (more than one: drift).
    pub distinct_jwts: usize,
    pub servers: Vec<ServerView>,
    pub is_system: bool,
    /// Why the servers disagree, when they do.
    pub drift: Option<String>,
}

impl AccountRecord {
    pub fn name(&self) -> &str {
        self.claims.as_ref().map(|c| c.std.name.as_str()).unwrap_or("")
    }
    pub fn connections(&self) -> i64 {
        self.servers.iter().map(|s| s.connections).sum()
    }
}

/// Account ids from every server's `CLAIMS.LIST`, plus per-server errors.
pub async fn list_ids(sys: &SysClient) -> Result<(BTreeSet<String>, Vec<String>)> {
    let msgs = sys.scatter("$SYS.REQ.CLAIMS.LIST", json!({})).await?;
    let mut ids = BTreeSet::new();
    let mut errors = Vec::new();
    for m in msgs {
        let r = decode_api::<Vec<String>>(&m.payload);
        match r.result {
            Ok(list) => ids.extend(list),
            Err(e) => errors.push(format!("{}: {e:#}", server_label(&r.server))),
        }
    }
    Ok((ids, errors))
}

/// Account public keys every server has loaded (`PING.ACCOUNTZ` without an
/// account). Names that are not account keys (`$G`, config-mode accounts)
/// are left out: only operator-mode accounts have JWTs.
pub async fn list_loaded(sys: &SysClient) -> Result<BTreeSet<String>> {
    let msgs = sys.scatter("$SYS.REQ.SERVER.PING.ACCOUNTZ", json!({})).await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| decode_api::<Accountz>(&m.payload).result.ok())
        .flat_map(|z| z.accounts)
        .filter(|a| is_account_key(a))
        .collect())
}

/// An account public key: 56 base32 characters starting with `A` (nkeys).
pub fn is_account_key(s: &str) -> bool {
    s.len() == 56 && s.starts_with('A') && s.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

fn server_label(s: &ServerInfo) -> String {
    if s.name.is_empty() { "?".into() } else { s.name.clone() }
}

/// Every JWT served for `account` by `CLAIMS.LOOKUP` (one per server that has it).
pub async fn lookup(sys: &SysClient, account: &str) -> Result<Vec<String>> {
    let msgs = sys.scatter(&format!("$SYS.REQ.ACCOUNT.{account}.CLAIMS.LOOKUP"), json!("")).await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| String::from_utf8(m.payload.to_vec()).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| s.split('.').count() == 3)
        .collect())
}

/// The newest of several JWTs for one account, decoded.
pub fn newest(jwts: &[String]) -> Option<(String, AccountClaims)> {
    jwts.iter()
        .filter_map(|t| jwt::decode_as::<jwt::Account>(t).ok().map(|c| (t.clone(), c)))
        .max_by_key(|(_, c)| c.std.issued_at)
}

/// The current account JWT and claims of `account`, as the servers serve it.
pub async fn current(sys: &SysClient, account: &str) -> Result<Option<(String, AccountClaims)>> {
    Ok(newest(&lookup(sys, account).await?))
}

/// Per-server ACCOUNTZ detail of `account` (servers where it is not loaded answer with an error, skipped).
pub async fn accountz(sys: &SysClient, account: &str) -> Result<Vec<(ServerInfo, Accountz)>> {
    let msgs = sys.scatter("$SYS.REQ.SERVER.PING.ACCOUNTZ", json!({ "account": account })).await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| {
            let r = decode_api::<Accountz>(&m.payload);
            r.result.ok().map(|d| (r.server, d))
        })
        .collect())
}

/// Every account with its JWT, decoded, connection counts and drift:
/// those `CLAIMS.LIST` names, those a server has loaded, and `known` (ids
/// seen elsewhere; anything but an account key is ignored).
pub async fn fetch_all(sys: &SysClient, known: &BTreeSet<String>) -> Result<(Vec<AccountRecord>, Vec<String>)> {
    let (listed, loaded) = tokio::join!(list_ids(sys), list_loaded(sys));
    let (mut ids, mut errors) = listed?;
    match loaded {
        Ok(l) => ids.extend(l),
        Err(e) => errors.push(format!("ACCOUNTZ: {e:#}")),
    }
    ids.extend(known.iter().filter(|k| is_account_key(k)).cloned());
    // Each scatter waits for the replies to go quiet: run accounts side by side.
    let out = futures::stream::iter(ids)
        .map(|id| async move {
            let (jwts, details) = tokio::join!(lookup(sys, &id), accountz(sys, &id));
            build_record(&id, &jwts.unwrap_or_default(), &details.unwrap_or_default())
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    Ok((out, errors))
}

fn short_jti(j: &str) -> &str {
    &j[..j.len().min(8)]
}

/// Folds what the servers said about one account into a record.
pub fn build_record(id: &str, jwts: &[String], details: &[(ServerInfo, Accountz)]) -> AccountRecord {
    let mut rec = AccountRecord { id: id.to_string(), ..Default::default() };
    let mut all: Vec<String> = jwts.to_vec();
    let mut servers = Vec::new();
    for (info, z) in details {
        let Some(d) = &z.account_detail else { continue };
        rec.is_system |= d.is_system || z.system_account == id;
        let (jti, iat) = match jwt::decode_as::<jwt::Account>(&d.jwt) {
            Ok(c) => (c.std.id, c.std.issued_at),
            Err(_) => (String::new(), 0),
        };
        if !d.jwt.is_empty() {
            all.push(d.jwt.clone());
        }
        servers.push(ServerView {
            server: server_label(info),
            server_id: info.id.clone(),
            cluster: info.cluster.clone(),
            connections: d.client_connections + d.leafnode_connections,
            jti,
            issued_at: iat,
        });
    }
    servers.sort_by(|a, b| a.server.cmp(&b.server));
    let distinct: BTreeSet<&String> = all.iter().collect();
    rec.distinct_jwts = distinct.len();
    match newest(&all) {
        Some((t, c)) => {
            rec.jwt = t;
            rec.claims = Some(c);
        }
        None if !all.is_empty() => {
            rec.decode_error = jwt::decode(&all[0]).err().map(|e| e.to_string());
        }
        None => {}
    }
    // Drift: servers serving different JWTs (by jti) for the same account.
    let mut by_jti: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &servers {
        if !s.jti.is_empty() {
            by_jti.entry(&s.jti).or_default().push(&s.server);
        }
    }
    if by_jti.len() > 1 || (by_jti.is_empty() && rec.distinct_jwts > 1) {
        let newest_jti = rec.claims.as_ref().map(|c| c.std.id.clone()).unwrap_or_default();
        let stale: Vec<&str> =
            by_jti.iter().filter(|(j, _)| **j != newest_jti).flat_map(|(_, s)| s.iter().copied()).collect();
        let newest_by = by_jti.get(newest_jti.as_str()).map(|s| s.join(", ")).unwrap_or_default();
        rec.drift = Some(match (stale.is_empty(), newest_by.is_empty()) {
            (true, _) => format!("{} different JWTs served", rec.distinct_jwts),
            (false, true) => format!("older JWT served by {}", stale.join(", ")),
            (false, false) => format!(
                "older JWT served by {}; the newest (jti {}) by {newest_by}",
                stale.join(", "),
                short_jti(&newest_jti)
            ),
        });
    } else if rec.distinct_jwts > 1 {
        rec.drift = Some(format!("{} different JWTs served", rec.distinct_jwts));
    }
    rec.servers = servers;
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::jwt::{KeyKind, SigningKey};

    fn detail(server: &str, token: &str) -> (ServerInfo, Accountz) {
        let info = ServerInfo { name: server.into(), id: format!("N{server}"), ..Default::default() };
        let d = AccountDetail { jwt: token.into(), client_connections: 1, ..Default::default() };
        (info, Accountz { account_detail: Some(d), ..Default::default() })
    }

    #[test]
    fn drift_names_the_servers_of_the_older_and_of_the_newest_jwt() {
        let (op, acc) = (SigningKey::generate(KeyKind::Operator), SigningKey::generate(KeyKind::Account));
        let mut c = AccountClaims::new_account(acc.public_key(), "APP");
        let old = jwt::encode_at(&mut c, &op, 1_000).unwrap();
        let new = jwt::encode_at(&mut c, &op, 2_000).unwrap();
        let new_jti = jwt::decode_as::<jwt::Account>(&new).unwrap().std.id;
        let rec = build_record(acc.public_key(), &[], &[detail("n1", &old), detail("n2", &new)]);
        let drift = rec.drift.expect("drift");
        assert_eq!(drift, format!("older JWT served by n1; the newest (jti {}) by n2", &new_jti[..8]));
        let same = build_record(acc.public_key(), &[], &[detail("n1", &new), detail("n2", &new)]);
        assert_eq!(same.drift, None);
    }

    #[test]
    fn only_account_keys_are_account_ids() {
        let acc = SigningKey::generate(KeyKind::Account);
        assert!(is_account_key(acc.public_key()));
        for not in ["$G", "$SYS", "APP", &acc.public_key()[1..]] {
            assert!(!is_account_key(not), "{not}");
        }
        assert!(!is_account_key(SigningKey::generate(KeyKind::User).public_key()));
    }
}
