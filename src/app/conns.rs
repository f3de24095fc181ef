//! The Connections view's data: every client connection of every server.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use super::conn_facts::ConnFacts;
use super::format;
use super::table::{Clock, Column, Cut, Searchable, TableRow};
use super::text::{Interner, Text};
use warden_core::nats::jwt::{self, UserClaims};
use warden_core::nats::sys::{Reply, SysClient};
use warden_core::nats::types::{ConnInfo, Connz};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConnRow {
    pub server: Text,
    pub server_id: Text,
    /// What the columns and the detail pane show; the whole CONNZ record
    /// is fetched when the describe view asks for it.
    #[serde(flatten)]
    pub info: ConnFacts,
    /// `exp` of the connection's user JWT (unix seconds), when it has one.
    #[serde(serialize_with = "super::format::rfc3339::opt::serialize")]
    pub jwt_expires: Option<i64>,
    /// `name` of the user JWT (operator mode shows users by public key).
    pub user_name: Option<Text>,
    /// Name of the account (from the Accounts view's JWTs), when known.
    pub account_name: Option<Text>,
    /// The configured site of its server (`[[sites]]`), when sites are set.
    pub site: Option<Text>,
    /// The user JWT decoded and its signature verified, once per distinct
    /// token in the worker ([`JwtCache`]); `update` never decodes a JWT.
    /// The console's rows then drop the token text (`info.jwt` is empty
    /// when this is set: [`ConnRow::without_token`]); reports keep it.
    #[serde(skip)]
    pub claims: Option<Arc<UserClaims>>,
    #[serde(skip)]
    search: Box<str>,
}

impl Searchable for ConnRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

/// Where a row's strings come from: each server's name and id, and one
/// copy of every string repeated across rows.
#[derive(Debug, Default)]
pub struct RowNames {
    pub names: Interner,
    pub jwts: JwtCache,
}

impl ConnRow {
    pub fn new(server: &str, server_id: &str, info: ConnInfo) -> ConnRow {
        ConnRow::decoded(server, server_id, info, &mut RowNames::default())
    }

    /// [`ConnRow::new`] with the JWT decoded through `names.jwts` and the
    /// strings shared through `names.names`.
    pub fn decoded(server: &str, server_id: &str, info: ConnInfo, names: &mut RowNames) -> ConnRow {
        let d = names.jwts.get(&info.jwt);
        ConnRow::with_jwt(server, server_id, info, d, names)
    }

    fn with_jwt(server: &str, server_id: &str, info: ConnInfo, d: DecodedJwt, names: &mut RowNames) -> ConnRow {
        let DecodedJwt { expires: jwt_expires, name: user_name, claims, .. } = d;
        let info = ConnFacts::of(info, &mut names.names);
        let mut row = ConnRow {
            server: names.names.get(server),
            server_id: names.names.get(server_id),
            info,
            jwt_expires,
            user_name,
            account_name: None,
            site: None,
            claims,
            search: Box::default(),
        };
        row.index();
        row
    }

    /// The lower-case text `/` searches.
    fn index(&mut self) {
        let i = &self.info;
        let mut s = format!(
            "{} {} {} {} {} {} {} {}",
            self.server,
            i.cid,
            i.account,
            i.authorized_user,
            self.user_name.as_deref().unwrap_or_default(),
            i.name,
            i.ip,
            i.lang
        );
        for extra in [&self.account_name, &self.site].into_iter().flatten() {
            s.push(' ');
            s.push_str(extra);
        }
        self.search = s.to_lowercase().into_boxed_str();
    }

    /// A console row from a connect advisory. The advisory carries the JWT
    /// the client presented even for a bearer token, which CONNZ blanks
    /// (`server/monitor.go` `redactBearerJWT`): blanked here the same way,
    /// and so is a JWT warden cannot decode (it may be one); a decoded one
    /// is dropped as [`ConnRow::console`] drops it.
    pub fn from_event(
        server: &str,
        server_id: &str,
        server_ver: &str,
        mut info: ConnInfo,
        names: &mut RowNames,
    ) -> ConnRow {
        let user = std::mem::take(&mut info.authorized_user);
        info.authorized_user = warden_core::secret::mask_user_field(server_ver, &info.account, user);
        if info.jwt.is_empty() {
            return ConnRow::with_jwt(server, server_id, info, DecodedJwt::default(), names);
        }
        let d = names.jwts.get(&info.jwt);
        info.jwt.clear();
        if d.bearer || d.claims.is_none() {
            return ConnRow::with_jwt(server, server_id, info, DecodedJwt::default(), names);
        }
        ConnRow::with_jwt(server, server_id, info, d, names)
    }

    /// The console's row: decoded like [`ConnRow::decoded`], without the
    /// JWT's text once its claims are decoded (10,000 connections of a few
    /// hundred users share a few hundred decoded claims).
    pub fn console(server: &str, server_id: &str, mut info: ConnInfo, names: &mut RowNames) -> ConnRow {
        let d = names.jwts.get(&info.jwt);
        if d.claims.is_some() {
            info.jwt = String::new();
        }
        ConnRow::with_jwt(server, server_id, info, d, names)
    }
}

impl ConnRow {
    /// The row without its JWT's text once the claims are decoded: 10,000
    /// connections of a few hundred users share a few hundred decoded
    /// claims instead of holding 10,000 copies of the tokens.
    pub fn without_token(mut self) -> ConnRow {
        if self.claims.is_some() {
            self.info.jwt = Text::default();
        }
        self
    }
}

/// What a row needs from its user JWT.
#[derive(Debug, Clone, Default)]
pub struct DecodedJwt {
    expires: Option<i64>,
    name: Option<Text>,
    claims: Option<Arc<UserClaims>>,
    bearer: bool,
}

/// Decoded user JWTs keyed by a hash of the token: 10,000 connections of a
/// few hundred identities decode and verify a few hundred JWTs, once.
/// Bounded: past [`JwtCache::CAP`] distinct tokens it starts over.
#[derive(Debug, Default)]
pub struct JwtCache {
    map: HashMap<u64, DecodedJwt>,
    hasher: std::collections::hash_map::RandomState,
    /// Tokens decoded (cache misses), for the benchmark.
    pub decodes: u64,
}

impl JwtCache {
    pub const CAP: usize = 16_384;

    pub fn get(&mut self, token: &str) -> DecodedJwt {
        if token.is_empty() {
            return DecodedJwt::default();
        }
        let mut h = self.hasher.build_hasher();
        h.write(token.as_bytes());
        let key = h.finish();
        if let Some(d) = self.map.get(&key) {
            return d.clone();
        }
        if self.map.len() >= Self::CAP {
            self.map.clear();
        }
        self.decodes += 1;
        let raw = jwt_claims(token);
        let expires = raw.as_ref().and_then(|v| v.get("exp")?.as_i64()).filter(|e| *e > 0);
        let name = raw.as_ref().and_then(|v| v.get("name")?.as_str()).filter(|n| !n.is_empty()).map(Text::from);
        let claims = jwt::decode_as::<jwt::User>(token).ok();
        let bearer = claims.as_ref().is_some_and(|c| c.nats.bearer_token);
        let d = DecodedJwt { expires, name, claims: claims.map(Arc::new), bearer };
        self.map.insert(key, d.clone());
        d
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// One server's CONNZ answer as rows (or the error naming the server).
pub fn rows_of(reply: Reply<Connz>, names: &mut RowNames) -> Result<Vec<ConnRow>, String> {
    let name = if reply.server.name.is_empty() { "?" } else { &reply.server.name };
    match reply.result {
        Ok(page) => Ok(page
            .connections
            .into_iter()
            .map(|c| ConnRow::decoded(&reply.server.name, &reply.server.id, c, names))
            .collect()),
        Err(e) => Err(format!("{name}: {e:#}")),
    }
}

impl ConnRow {
    /// Names the account (once the accounts are known); searchable by name.
    pub fn set_account_name(&mut self, name: Option<&Text>) {
        let name = name.filter(|n| !n.is_empty());
        if name == self.account_name.as_ref() {
            return;
        }
        self.account_name = name.cloned();
        self.index();
    }

    pub fn set_site(&mut self, site: Option<&Text>) {
        if site == self.site.as_ref() {
            return;
        }
        self.site = site.cloned();
        self.index();
    }

    /// The account as every view shows it: name, else short key.
    pub fn account_label(&self) -> String {
        format::principal(self.account_name.as_deref(), &self.info.account)
    }

    /// The user as every view shows it: JWT name, else short key (or the
    /// user as authenticated: a SPIFFE ID, a plain user).
    pub fn user_label(&self) -> String {
        format::principal(self.user_name.as_deref(), &self.info.authorized_user)
    }
}

impl TableRow for ConnRow {
    /// Stable identity of a connection across refreshes.
    type Key = (Text, u64);
    fn key(&self) -> (Text, u64) {
        (self.server_id.clone(), self.info.cid)
    }
    fn columns() -> Vec<Column<Self>> {
        columns()
    }
    fn detail_title(&self) -> String {
        format!("connection {} on {}", self.info.cid, self.server)
    }
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)> {
        detail(self, clock)
    }
}

/// The claims of a JWT, read without verification (display only: the
/// server verified it when the client connected).
fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = data_encoding::BASE64URL_NOPAD.decode(payload.trim_end_matches('=').as_bytes()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// All connections of all servers, sorted by server then cid, plus the
/// per-server errors (a server that failed is named, not silently missing).
pub async fn fetch(sys: &SysClient) -> Result<(Vec<ConnRow>, Vec<String>)> {
    let replies = sys.connz_all().await?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut names = RowNames::default();
    for r in replies {
        match rows_of(r, &mut names) {
            Ok(more) => rows.extend(more),
            Err(e) => errors.push(e),
        }
    }
    rows.sort_by(|a, b| a.server.cmp(&b.server).then(a.info.cid.cmp(&b.info.cid)));
    Ok((rows, errors))
}

/// The most recently closed connections of all servers (with their close
/// reasons), newest first, plus the per-server errors.
pub async fn fetch_closed(sys: &SysClient) -> Result<(Vec<ConnRow>, Vec<String>)> {
    let replies = sys.connz_closed().await?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut names = RowNames::default();
    for r in replies {
        match r.result {
            Ok(page) => rows.extend(
                page.connections.into_iter().map(|c| ConnRow::console(&r.server.name, &r.server.id, c, &mut names)),
            ),
            Err(e) => errors.push(format!("{}: {e:#}", if r.server.name.is_empty() { "?" } else { &r.server.name })),
        }
    }
    rows.sort_by(|a, b| b.info.stop.cmp(&a.info.stop).then(a.server.cmp(&b.server)));
    Ok((rows, errors))
}

/// When a closed connection was closed, relative to `now`.
fn stopped(r: &ConnRow, now: i64) -> String {
    format::unix_of_rfc3339(&r.info.stop).map(|t| format!("{} ago", format::duration(now - t))).unwrap_or_default()
}

fn lang(r: &ConnRow) -> String {
    if r.info.lang.is_empty() { String::new() } else { format!("{}/{}", r.info.lang, r.info.version) }
}

/// The columns of open connections (the report's table): without the
/// closed-only CLOSED and REASON.
pub fn open_columns() -> Vec<Column<ConnRow>> {
    columns().into_iter().filter(|c| !matches!(c.title, "CLOSED" | "REASON")).collect()
}

pub fn columns() -> Vec<Column<ConnRow>> {
    vec![
        Column {
            title: "SITE",
            width: 6,
            priority: 1,
            cut: Cut::End,
            cell: |r, _| r.site.as_deref().unwrap_or_default().to_string(),
        },
        Column { title: "SERVER", width: 6, priority: 2, cut: Cut::End, cell: |r, _| r.server.to_string() },
        Column { title: "CID", width: 5, priority: 0, cut: Cut::End, cell: |r, _| r.info.cid.to_string() },
        Column { title: "ACCOUNT", width: 8, priority: 1, cut: Cut::Middle, cell: |r, _| r.account_label() },
        Column { title: "USER", width: 28, priority: 0, cut: Cut::Middle, cell: |r, _| r.user_label() },
        Column { title: "NAME", width: 12, priority: 2, cut: Cut::End, cell: |r, _| r.info.name.to_string() },
        Column { title: "LANG", width: 11, priority: 4, cut: Cut::End, cell: |r, _| lang(r) },
        Column {
            title: "IP",
            width: 15,
            priority: 3,
            cut: Cut::End,
            cell: |r, _| format!("{}:{}", r.info.ip, r.info.port),
        },
        Column { title: "UPTIME", width: 7, priority: 2, cut: Cut::End, cell: |r, _| r.info.uptime.to_string() },
        Column { title: "SUBS", width: 5, priority: 3, cut: Cut::End, cell: |r, _| r.info.subscriptions.to_string() },
        Column { title: "IN", width: 6, priority: 4, cut: Cut::End, cell: |r, _| format::count(r.info.in_msgs) },
        Column { title: "OUT", width: 6, priority: 4, cut: Cut::End, cell: |r, _| format::count(r.info.out_msgs) },
        Column {
            title: "JWT EXPIRES",
            width: 13,
            priority: 1,
            cut: Cut::End,
            cell: |r, c| r.jwt_expires.map(|e| format::expiry(e, c.now_unix)).unwrap_or_default(),
        },
        // Closed connections only (empty, hence dropped, for open ones).
        Column { title: "CLOSED", width: 9, priority: 1, cut: Cut::End, cell: |r, c| stopped(r, c.now_unix) },
        Column { title: "REASON", width: 16, priority: 0, cut: Cut::End, cell: |r, _| r.info.reason.to_string() },
    ]
}

/// `NAME (full key)` for the detail pane: the full key is always there.
fn named(name: Option<&str>, key: &str) -> String {
    match name.filter(|n| !n.is_empty()) {
        Some(n) if n != key => format!("{n} ({key})"),
        _ => key.to_string(),
    }
}

/// Field/value pairs for the detail pane. The JWT itself is public (signed
/// claims, no secret) but long: shown as its expiry and issuer.
pub fn detail(r: &ConnRow, clock: &Clock) -> Vec<(&'static str, String)> {
    let i = &r.info;
    let mut d = vec![
        ("Server", format!("{} ({})", r.server, r.server_id)),
        ("CID", i.cid.to_string()),
        ("Kind", format!("{} {}", i.kind, i.conn_type)),
        ("Account", named(r.account_name.as_deref(), &i.account)),
        ("User", i.authorized_user.to_string()),
        ("User name (JWT)", r.user_name.as_deref().unwrap_or_default().to_string()),
        ("Name", i.name.to_string()),
        ("Client", lang(r)),
        ("Address", format!("{}:{}", i.ip, i.port)),
        ("Started", i.start.to_string()),
        ("Uptime / idle", format!("{} / {}", i.uptime, i.idle)),
        ("RTT", i.rtt.to_string()),
        ("Subscriptions", i.subscriptions.to_string()),
        ("Msgs in/out", format!("{} / {}", i.in_msgs, i.out_msgs)),
        ("Bytes in/out", format!("{} / {}", format::bytes(i.in_bytes), format::bytes(i.out_bytes))),
        ("Pending", format::bytes(i.pending_bytes)),
    ];
    if !i.tls_version.is_empty() {
        d.push(("TLS", format!("{} {}", i.tls_version, i.tls_cipher_suite)));
    }
    for subject in &i.tls_peer_subjects {
        d.push(("Peer cert", subject.to_string()));
    }
    if !i.issuer_key.is_empty() {
        d.push(("JWT issuer", i.issuer_key.to_string()));
    }
    if !i.stop.is_empty() {
        let when =
            format::unix_of_rfc3339(&i.stop).map(|t| format::moment(t, clock.now_unix)).unwrap_or(i.stop.to_string());
        d.push(("Closed", when));
        d.push(("Close reason", i.reason.to_string()));
    }
    if let Some(e) = r.jwt_expires {
        d.push(("JWT expires", format::moment(e, clock.now_unix)));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_name_and_expiry_are_read_and_garbage_survives() {
        let row = |jwt: String| {
            ConnRow::new("n1", "N", ConnInfo { jwt, authorized_user: "UKEY".into(), ..Default::default() })
        };
        let payload = data_encoding::BASE64URL_NOPAD.encode(br#"{"exp":1900000000,"name":"tentacle.a.b"}"#);
        let r = row(format!("h.{payload}.s"));
        assert_eq!((r.jwt_expires, r.user_name.as_deref()), (Some(1_900_000_000), Some("tentacle.a.b")));
        for junk in ["".to_string(), "a.!!!.c".into(), format!("h.{}.s", data_encoding::BASE64URL_NOPAD.encode(b"[1]"))]
        {
            let r = row(junk);
            assert_eq!((r.jwt_expires, r.user_name), (None, None));
        }
    }

    #[test]
    fn event_rows_decode_once_per_token_and_blank_bearer_and_unverifiable_jwts() {
        use warden_core::nats::jwt::{KeyKind, SigningKey, encode_user, unix_now};
        let dir = tempfile::tempdir().unwrap();
        let world = warden_sandbox::operator_mode::OperatorWorld::generate(dir.path()).unwrap();
        let spec = warden_sandbox::operator_mode::UserSpec::tentacle("ns", "wl");
        let user = SigningKey::generate(KeyKind::User);
        let mut claims = spec.claims(user.public_key());
        let jwt = encode_user(&mut claims, &world.app_signing, world.app.public_key(), unix_now()).unwrap();
        claims.nats.bearer_token = true;
        let bearer = encode_user(&mut claims, &world.app_signing, world.app.public_key(), unix_now()).unwrap();
        let mut names = RowNames::default();
        let ev = |jwt: &str, cid| ConnInfo { cid, jwt: jwt.into(), account: "A".into(), ..Default::default() };

        let a = ConnRow::from_event("n1", "N", "2.15.1", ev(&jwt, 1), &mut names);
        let b = ConnRow::from_event("n1", "N", "2.15.1", ev(&jwt, 2), &mut names);
        assert_eq!(names.jwts.decodes, 1, "one decode per distinct token");
        assert_eq!(a.claims.as_ref().unwrap().std.subject, user.public_key());
        assert_eq!(b.user_name.as_deref(), Some(a.claims.as_ref().unwrap().std.name.as_str()));
        assert!(a.info.jwt.is_empty(), "the console's rows keep the claims, not the token");
        assert_eq!(a.info.account, b.info.account);

        // A bearer token is a credential: blanked as CONNZ blanks it.
        let c = ConnRow::from_event("n1", "N", "2.15.1", ev(&bearer, 3), &mut names);
        assert!(c.info.jwt.is_empty() && c.claims.is_none());
        // A token warden cannot verify may be one: blanked too.
        let at = jwt.len() - 10;
        let flip = if &jwt[at..at + 1] == "A" { "B" } else { "A" };
        let forged = format!("{}{flip}{}", &jwt[..at], &jwt[at + 1..]);
        let d = ConnRow::from_event("n1", "N", "2.15.1", ev(&forged, 4), &mut names);
        assert!(d.info.jwt.is_empty() && d.claims.is_none());
    }
}
