//! Parses nats-server permission-violation log lines.
//!
//! The server writes (see `server/client.go`: `pubPermissionViolation`,
//! `subPermissionViolation`, `replySubjectViolation`, `maxTokensViolation`,
//! and the connection label built in `initClient`/`processConnect`):
//!
//! ```text
//! [pid] 2026/11/23 08:00:00.123456 [ERR] <addr> - cid:<n> - "<ver:lang:name>" - "<acc>/<kind>:<user>" - Publish Violation - Subject "<s>"
//! ... - Subscription Violation - Subject "<s>", SID <sid>
//! ... - Subscription Violation - Subject "<s>", Queue: "<q>", SID <sid>
//! ... - Publish Violation - Reply "<r>"
//! ... - Subscription Violation Too Many Tokens - Subject "<s>", SID <sid>
//! ```
//!
//! Before 2.12 the account/user label is absent and the user follows the
//! kind: `Publish Violation - User "tent", Subject "x"` (also `Nkey "U.."`,
//! `JWT User "U.."`, `User "N/A"`). The `[pid] ` and time prefixes are
//! optional (pods log without them), the `[ERR]` label may be coloured, and a
//! Kubernetes `timestamps=true` RFC 3339 prefix is accepted. Anything else
//! yields `None`; nothing here panics.

use super::go_text::parse_auth_user;
pub use super::go_text::{LogUser, unquote_go};
use super::log_notice;

/// Publish or subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    Publish,
    Subscription,
}

/// Which kind of connection the server's label names (`cid:`, `lid:`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    Client,
    Websocket,
    Mqtt,
    Leaf,
    Route,
    Gateway,
}

/// The client's self-description: `v<version>:<lang>:<name>`, each optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientLabel {
    pub raw: String,
    pub version: Option<String>,
    pub lang: Option<String>,
    pub name: Option<String>,
}

impl ClientLabel {
    pub fn parse(raw: &str) -> ClientLabel {
        let mut out = ClientLabel { raw: raw.to_string(), ..Default::default() };
        let mut rest = raw;
        let b = raw.as_bytes();
        if b.len() >= 2 && b[0] == b'v' && b[1].is_ascii_digit() {
            let (v, r) = rest.split_once(':').unwrap_or((rest, ""));
            out.version = Some(v[1..].to_string());
            rest = r;
            if rest.is_empty() {
                return out;
            }
            let (l, n) = match rest.split_once(':') {
                Some((l, n)) => (l, Some(n)),
                None => (rest, None),
            };
            out.lang = Some(l.to_string());
            out.name = n.filter(|n| !n.is_empty()).map(str::to_string);
        } else if let Some((l, n)) = rest.split_once(':') {
            out.lang = Some(l.to_string());
            out.name = Some(n.to_string());
        } else {
            out.name = Some(rest.to_string());
        }
        out
    }
}

/// One parsed violation line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogViolation {
    pub pid: Option<u32>,
    /// The server's own timestamp text (`2026/11/23 08:00:00.123456`, local
    /// time of the server) or the Kubernetes RFC 3339 prefix.
    pub server_time: Option<String>,
    /// `host:port` (websocket clients behind a proxy: `clientip/host:port`).
    /// `None` for a reload removal (a server line, no connection label).
    pub client_addr: Option<String>,
    pub conn_kind: Option<ConnKind>,
    pub cid: Option<u64>,
    pub client: Option<ClientLabel>,
    /// Account name (config mode) or public key (operator mode).
    pub account: Option<String>,
    /// Operator mode: the account JWT's name (`ACPUB/APP/...` -> `APP`).
    pub account_name: Option<String>,
    pub user: LogUser,
    pub kind: LogKind,
    /// The denied subject (or reply subject when `reply` is set).
    pub subject: String,
    /// Publish denied because of the reply subject (`Reply "..."`).
    pub reply: bool,
    pub queue: Option<String>,
    pub sid: Option<String>,
    /// `Subscription Violation Too Many Tokens`.
    pub too_many_tokens: bool,
    /// Which server check wrote the line.
    pub origin: Origin,
}

/// Which check in nats-server wrote a violation line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client's publish or subscribe (`pubPermissionViolation`,
    /// `subPermissionViolation`, `replySubjectViolation`, `maxTokensViolation`
    /// in server/client.go).
    Client,
    /// A leafnode's interest or message refused by this (hub) server:
    /// `<kind> Violation on "<s>" - Check other side configuration`
    /// (`leafPermViolation`, server/leafnode.go, 2.9-2.15 alike).
    Leafnode,
    /// A subscription removed because a config reload took the permission
    /// away (`[INF] Removed sub "<s>" [using queue "<q>"] (sid "<n>") for
    /// <user> - not authorized`, `processSubsOnConfigReload` in
    /// server/client.go; the queue form since 2.12.14 / 2.14.4).
    ConfigReload,
}

impl LogViolation {
    /// A short why, beyond the kind and subject.
    pub fn reason(&self) -> Option<&'static str> {
        Some(match self.origin {
            Origin::Leafnode => "leafnode: check other side configuration",
            Origin::ConfigReload => "subscription removed by config reload",
            Origin::Client if self.reply => "reply subject not allowed",
            Origin::Client if self.too_many_tokens => "too many tokens",
            Origin::Client => return None,
        })
    }
}

/// Parses one log line; `None` for anything that is not a permission
/// violation.
pub fn parse(line: &str) -> Option<LogViolation> {
    let mut s = line.trim_end_matches(['\r', '\n']);
    // Cheap reject: almost every line in a busy log is something else.
    if !s.contains(" Violation") && !s.contains("Removed sub ") {
        return None;
    }
    let mut server_time = None;
    // Kubernetes `timestamps=true`: `2026-11-23T08:00:00.123456789Z `.
    if let Some((ts, rest)) = s.split_once(' ')
        && is_rfc3339ish(ts)
    {
        server_time = Some(ts.to_string());
        s = rest;
    }
    let mut pid = None;
    if let Some(rest) = s.strip_prefix('[')
        && let Some((n, rest)) = rest.split_once("] ")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        pid = n.parse().ok();
        s = rest;
    }
    if let Some((ts, rest)) = strip_go_time(s) {
        server_time = Some(ts.to_string());
        s = rest;
    }
    if let Some(rest) = s.strip_prefix("[ERR] ") {
        s = rest;
    } else if let Some(rest) = s.strip_prefix("[\x1b[31mERR\x1b[0m] ") {
        s = rest;
    } else if let Some(rest) = s.strip_prefix("[INF] ").or_else(|| s.strip_prefix("[\x1b[32mINF\x1b[0m] ")) {
        // The only notice that is a violation: a reload removal.
        return log_notice::parse_removed(rest).map(|r| removed_violation(r, pid, server_time));
    } else if s.starts_with('[') {
        // Another level (WRN, DBG...): not a violation.
        return None;
    } else if s.starts_with("Removed sub ") {
        // syslog / no label.
        return log_notice::parse_removed(s).map(|r| removed_violation(r, pid, server_time));
    }

    let (client_addr, s) = s.split_once(" - ")?;
    if client_addr.is_empty() || client_addr.contains(' ') {
        return None;
    }
    let (id, mut s) = s.split_once(" - ")?;
    let (conn_kind, cid) = parse_conn_id(id)?;

    // Up to two quoted labels: client description, then account/user.
    let mut quoted: [Option<String>; 2] = [None, None];
    for slot in quoted.iter_mut() {
        if !s.starts_with('"') {
            break;
        }
        let (q, rest) = unquote_go(s)?;
        s = rest.strip_prefix(" - ")?;
        *slot = Some(q);
    }
    let (client, auth) = match quoted {
        [Some(c), Some(a)] => (Some(c), Some(a)),
        [Some(one), None] if looks_like_auth_label(&one) => (None, Some(one)),
        [Some(one), None] => (Some(one), None),
        _ => (None, None),
    };

    if let Some((publish, subject)) = log_notice::parse_leaf(s) {
        let kind = if publish { LogKind::Publish } else { LogKind::Subscription };
        return Some(LogViolation {
            pid,
            server_time,
            client_addr: Some(client_addr.to_string()),
            conn_kind: Some(conn_kind),
            cid: Some(cid),
            client: client.map(|c| ClientLabel::parse(&c)),
            account: None,
            account_name: None,
            user: LogUser::None,
            kind,
            subject,
            reply: false,
            queue: None,
            sid: None,
            too_many_tokens: false,
            origin: Origin::Leafnode,
        });
    }

    let (kind, too_many_tokens, body) = if let Some(b) = s.strip_prefix("Publish Violation - ") {
        (LogKind::Publish, false, b)
    } else if let Some(b) = s.strip_prefix("Subscription Violation - ") {
        (LogKind::Subscription, false, b)
    } else if let Some(b) = s.strip_prefix("Subscription Violation Too Many Tokens - ") {
        (LogKind::Subscription, true, b)
    } else {
        return None;
    };

    let (mut account, mut account_name, mut user) = (None, None, LogUser::None);
    if let Some(a) = auth.as_deref() {
        (account, account_name, user) = parse_auth_label(a);
    }

    // Pre-2.12: the user comes first.
    let mut body = body;
    if let Some((u, rest)) = parse_auth_user(body) {
        body = rest.strip_prefix(", ")?;
        user = u;
    }

    let (reply, rest) = if let Some(r) = body.strip_prefix("Subject ") {
        (false, r)
    } else if let Some(r) = body.strip_prefix("Reply ") {
        if kind != LogKind::Publish {
            return None;
        }
        (true, r)
    } else {
        return None;
    };
    let (subject, mut rest) = unquote_go(rest)?;

    let mut queue = None;
    let mut sid = None;
    if kind == LogKind::Subscription {
        if let Some(r) = rest.strip_prefix(", Queue: ") {
            let (q, r) = unquote_go(r)?;
            queue = Some(q);
            rest = r;
        }
        let r = rest.strip_prefix(", SID ")?;
        if r.is_empty() || r.contains(' ') {
            return None;
        }
        sid = Some(r.to_string());
        rest = "";
    }
    if !rest.trim_end().is_empty() {
        return None;
    }

    Some(LogViolation {
        pid,
        server_time,
        client_addr: Some(client_addr.to_string()),
        conn_kind: Some(conn_kind),
        cid: Some(cid),
        client: client.map(|c| ClientLabel::parse(&c)),
        account,
        account_name,
        user,
        kind,
        subject,
        reply,
        queue,
        sid,
        too_many_tokens,
        origin: Origin::Client,
    })
}

fn removed_violation(r: log_notice::Removed, pid: Option<u32>, server_time: Option<String>) -> LogViolation {
    LogViolation {
        pid,
        server_time,
        client_addr: None,
        conn_kind: None,
        cid: None,
        client: None,
        account: None,
        account_name: None,
        user: r.user,
        kind: LogKind::Subscription,
        subject: r.subject,
        reply: false,
        queue: r.queue,
        sid: Some(r.sid),
        too_many_tokens: false,
        origin: Origin::ConfigReload,
    }
}

fn is_rfc3339ish(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
}

/// `YYYY/MM/DD HH:MM:SS[.ffffff] ` -> (timestamp, rest).
fn strip_go_time(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    const SHAPE: &[u8] = b"dddd/dd/dd dd:dd:dd";
    if b.len() < SHAPE.len() + 1 {
        return None;
    }
    for (i, c) in SHAPE.iter().enumerate() {
        let ok = match c {
            b'd' => b[i].is_ascii_digit(),
            other => b[i] == *other,
        };
        if !ok {
            return None;
        }
    }
    let mut end = SHAPE.len();
    if b.get(end) == Some(&b'.') {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    if b.get(end) != Some(&b' ') {
        return None;
    }
    // All of s[..end] is ASCII, so both are char boundaries.
    Some((s.get(..end)?, s.get(end + 1..)?))
}

fn parse_conn_id(id: &str) -> Option<(ConnKind, u64)> {
    let (k, n) = id.split_once(':')?;
    let kind = match k {
        "cid" => ConnKind::Client,
        "wid" => ConnKind::Websocket,
        "mid" | "mid_ws" => ConnKind::Mqtt,
        "lid" | "lid_ws" => ConnKind::Leaf,
        "rid" => ConnKind::Route,
        "gid" => ConnKind::Gateway,
        _ => return None,
    };
    Some((kind, n.parse().ok()?))
}

const AUTH_MARKERS: [&str; 3] = ["/user:", "/nkey:", "/jwt:"];

fn looks_like_auth_label(s: &str) -> bool {
    AUTH_MARKERS.iter().any(|m| s.contains(m)) || s.ends_with("/token")
}

/// `APP/user:tent`, `ACPUB/APP/jwt:UPUB`, `APP/nkey:U..`, `APP/token`.
fn parse_auth_label(a: &str) -> (Option<String>, Option<String>, LogUser) {
    let marker = AUTH_MARKERS.iter().filter_map(|m| a.find(m).map(|i| (i, *m))).min_by_key(|(i, _)| *i);
    let (acc, user) = match marker {
        Some((i, m)) => {
            let value = a.get(i + m.len()..).unwrap_or("").to_string();
            let user = match m {
                "/user:" => LogUser::User(value),
                "/nkey:" => LogUser::Nkey(value),
                _ => LogUser::Jwt(value),
            };
            (a.get(..i).unwrap_or(""), user)
        }
        None => match a.strip_suffix("/token") {
            Some(acc) => (acc, LogUser::Token),
            None => (a, LogUser::None),
        },
    };
    // Operator mode: `<account public key>/<account JWT name>`.
    let (account, name) = match acc.split_once('/') {
        Some((k, n)) if looks_like_account_key(k) => (k, Some(n.to_string())),
        _ => (acc, None),
    };
    let account = (!account.is_empty()).then(|| account.to_string());
    (account, name, user)
}

fn looks_like_account_key(k: &str) -> bool {
    k.len() == 56 && k.starts_with('A') && k.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from a real nats-server 2.15.1 (config mode, log_file with
    // logtime) driven by raw-protocol clients; see the module tests in
    // tests/integration/violations.rs for async-nats clients.
    const CFG_PUB: &str = r#"[9939] 2026/11/23 09:08:33.763031 [ERR] 127.0.0.1:51318 - cid:8 - "v2.16.0:python3:tent-app" - "APP/user:tent" - Publish Violation - Subject "x.y""#;
    const CFG_SUB: &str = r#"[9939] 2026/11/23 09:08:33.763056 [ERR] 127.0.0.1:51318 - cid:8 - "v2.16.0:python3:tent-app" - "APP/user:tent" - Subscription Violation - Subject "secret.>", SID 1"#;
    const CFG_QSUB: &str = r#"[9939] 2026/11/23 09:08:33.763062 [ERR] 127.0.0.1:51318 - cid:8 - "v2.16.0:python3:tent-app" - "APP/user:tent" - Subscription Violation - Subject "secret.q", Queue: "grp", SID 2"#;
    const CFG_NKEY: &str = r#"[9939] 2026/11/23 09:08:33.764111 [ERR] 127.0.0.1:51326 - cid:9 - "v2.16.0:python3" - "APP/nkey:UCHUUA4HZJQYLJDWESPOR7TGMEZ4ZP7QGSDBK67XM2WJR477SR5QS27X" - Publish Violation - Subject "x.y""#;
    const CFG_ESCAPED: &str = r#"[9939] 2026/11/23 09:08:33.764682 [ERR] 127.0.0.1:51330 - cid:10 - "v2.16.0:python3" - "APP/user:tent" - Publish Violation - Subject "a\"b\\c.é""#;
    const CFG_SPIFFE: &str = r#"[9939] 2026/11/23 09:08:33.765254 [ERR] 127.0.0.1:51334 - cid:11 - "v0.42.0:rust" - "APP/user:spiffe://td/ns/a/wf/b" - Publish Violation - Subject "nope""#;
    const CFG_AUTH_ERR: &str =
        r#"[9939] 2026/11/23 09:08:33.765931 [ERR] 127.0.0.1:51346 - cid:12 - authentication error - User "tent""#;
    // async-nats 0.51 client against 2.15.1 (tests/integration/violations.rs).
    const ASYNC_NATS_QSUB: &str = r#"[29827] 2026/11/23 09:16:25.127117 [ERR] 127.0.0.1:57312 - cid:8 - "v0.51.0:rust:tent-app" - "APP/user:tent" - Subscription Violation - Subject "secret.q", Queue: "grp", SID 2"#;
    // Operator mode (memory resolver, account JWT named APP), 2.15.1.
    const OP_PUB: &str = r#"[11622] 2026/11/23 09:09:01.504990 [ERR] 127.0.0.1:42896 - cid:6 - "v2.16.0:python3:u1" - "ACSLDJXW6DHCIYGYLECI4A3GQFE76RGZSKD43NUMJTP5GZJEA3L5EL5V/APP/jwt:UDACZAPCQ5TAKIMKKPDUTLYJEV2HVA3SZ75CMBVVXGIVLACJLVSXB2PO" - Publish Violation - Subject "x.y""#;
    const OP_QSUB: &str = r#"[11622] 2026/11/23 09:09:01.505218 [ERR] 127.0.0.1:42896 - cid:6 - "v2.16.0:python3:u1" - "ACSLDJXW6DHCIYGYLECI4A3GQFE76RGZSKD43NUMJTP5GZJEA3L5EL5V/APP/jwt:UDACZAPCQ5TAKIMKKPDUTLYJEV2HVA3SZ75CMBVVXGIVLACJLVSXB2PO" - Subscription Violation - Subject "secret.q", Queue: "grp", SID 2"#;
    // Debian nats-server 2.9.10 (from the brief) and the other pre-2.12 forms
    // from v2.9.9..v2.11 client.go.
    const OLD_PUB: &str =
        r#"[ERR] 127.0.0.1:42150 - cid:5 - "v2.16.0:python3" - Publish Violation - User "tent", Subject "forbidden.x""#;
    const OLD_SUB: &str = r#"[1] 2023/01/02 03:04:05.000006 [ERR] 10.0.0.9:42150 - cid:5 - "v1.2.3:go:svc" - Subscription Violation - Nkey "UABC", Subject "a.>", Queue: "workers", SID 7"#;
    const OLD_JWT: &str = r#"[ERR] 10.0.0.9:1 - cid:5 - Publish Violation - JWT User "UXYZ", Reply "_INBOX.abc""#;
    const OLD_NA: &str =
        r#"[ERR] 10.0.0.9:1 - cid:5 - Subscription Violation Too Many Tokens - User "N/A", Subject "a.b.c", SID 3"#;

    #[test]
    fn config_mode_publish() {
        let v = parse(CFG_PUB).unwrap();
        assert_eq!(v.pid, Some(9939));
        assert_eq!(v.server_time.as_deref(), Some("2026/11/23 09:08:33.763031"));
        assert_eq!(v.client_addr.as_deref(), Some("127.0.0.1:51318"));
        assert_eq!(v.conn_kind, Some(ConnKind::Client));
        assert_eq!(v.cid, Some(8));
        let c = v.client.as_ref().unwrap();
        assert_eq!(c.version.as_deref(), Some("2.16.0"));
        assert_eq!(c.lang.as_deref(), Some("python3"));
        assert_eq!(c.name.as_deref(), Some("tent-app"));
        assert_eq!(v.account.as_deref(), Some("APP"));
        assert_eq!(v.account_name, None);
        assert_eq!(v.user, LogUser::User("tent".into()));
        assert_eq!(v.kind, LogKind::Publish);
        assert_eq!(v.subject, "x.y");
        assert!(!v.reply && v.queue.is_none() && v.sid.is_none());
    }

    #[test]
    fn config_mode_subscriptions() {
        let v = parse(CFG_SUB).unwrap();
        assert_eq!(v.kind, LogKind::Subscription);
        assert_eq!(v.subject, "secret.>");
        assert_eq!(v.sid.as_deref(), Some("1"));
        assert_eq!(v.queue, None);
        let v = parse(CFG_QSUB).unwrap();
        assert_eq!(v.subject, "secret.q");
        assert_eq!(v.queue.as_deref(), Some("grp"));
        assert_eq!(v.sid.as_deref(), Some("2"));
        let v = parse(ASYNC_NATS_QSUB).unwrap();
        assert_eq!(v.client.as_ref().unwrap().version.as_deref(), Some("0.51.0"));
        assert_eq!(v.client.as_ref().unwrap().lang.as_deref(), Some("rust"));
        assert_eq!(v.queue.as_deref(), Some("grp"));
    }

    #[test]
    fn nkey_spiffe_and_escapes() {
        let v = parse(CFG_NKEY).unwrap();
        assert_eq!(v.user, LogUser::Nkey("UCHUUA4HZJQYLJDWESPOR7TGMEZ4ZP7QGSDBK67XM2WJR477SR5QS27X".into()));
        assert_eq!(v.client.as_ref().unwrap().name, None);
        let v = parse(CFG_ESCAPED).unwrap();
        assert_eq!(v.subject, "a\"b\\c.é");
        let v = parse(CFG_SPIFFE).unwrap();
        assert_eq!(v.user, LogUser::User("spiffe://td/ns/a/wf/b".into()));
        assert_eq!(v.client.as_ref().unwrap().lang.as_deref(), Some("rust"));
    }

    #[test]
    fn operator_mode() {
        let v = parse(OP_PUB).unwrap();
        assert_eq!(v.account.as_deref(), Some("ACSLDJXW6DHCIYGYLECI4A3GQFE76RGZSKD43NUMJTP5GZJEA3L5EL5V"));
        assert_eq!(v.account_name.as_deref(), Some("APP"));
        assert_eq!(v.user, LogUser::Jwt("UDACZAPCQ5TAKIMKKPDUTLYJEV2HVA3SZ75CMBVVXGIVLACJLVSXB2PO".into()));
        assert_eq!(v.client.as_ref().unwrap().name.as_deref(), Some("u1"));
        let v = parse(OP_QSUB).unwrap();
        assert_eq!(v.queue.as_deref(), Some("grp"));
        // The brief's shortened form.
        let v = parse(r#"[ERR] 127.0.0.1:58800 - cid:6 - "v2.16.0:python3:u1" - "ACPUB.../APP/jwt:UPUB..." - Publish Violation - Subject "x.y""#).unwrap();
        assert_eq!(v.account.as_deref(), Some("ACPUB.../APP"));
        assert_eq!(v.user, LogUser::Jwt("UPUB...".into()));
    }

    #[test]
    fn pre_2_12_forms() {
        let v = parse(OLD_PUB).unwrap();
        assert_eq!(v.pid, None);
        assert_eq!(v.server_time, None);
        assert_eq!(v.account, None);
        assert_eq!(v.user, LogUser::User("tent".into()));
        assert_eq!(v.subject, "forbidden.x");
        let v = parse(OLD_SUB).unwrap();
        assert_eq!(v.user, LogUser::Nkey("UABC".into()));
        assert_eq!(v.queue.as_deref(), Some("workers"));
        assert_eq!(v.sid.as_deref(), Some("7"));
        assert_eq!(v.client.as_ref().unwrap().name.as_deref(), Some("svc"));
        let v = parse(OLD_JWT).unwrap();
        assert_eq!(v.user, LogUser::Jwt("UXYZ".into()));
        assert!(v.reply);
        assert_eq!(v.subject, "_INBOX.abc");
        assert!(v.client.is_none());
        let v = parse(OLD_NA).unwrap();
        assert_eq!(v.user, LogUser::None);
        assert!(v.too_many_tokens);
    }

    #[test]
    fn prefixes_and_labels() {
        let body =
            r#"127.0.0.1:58800 - cid:8 - "v2.16.0:python3" - "APP/user:tent" - Publish Violation - Subject "x.y""#;
        for line in [
            format!("[ERR] {body}"),
            format!("[7] [ERR] {body}"),
            format!("2026/11/23 08:00:00 [ERR] {body}"),
            format!("[1] 2026/11/23 08:00:00.123456 [ERR] {body}\r\n"),
            format!("[1] 2026/11/23 08:00:00.123456 [\x1b[31mERR\x1b[0m] {body}"),
            format!("2026-11-23T08:00:00.123456789Z [1] 2026/11/23 08:00:00.123456 [ERR] {body}"),
            // syslog: no label
            body.to_string(),
        ] {
            let v = parse(&line).unwrap_or_else(|| panic!("{line:?}"));
            assert_eq!(v.subject, "x.y");
            assert_eq!(v.user, LogUser::User("tent".into()));
        }
        // Websocket / leaf connection ids.
        let v = parse(&body.replace("cid:8", "wid:8")).unwrap();
        assert_eq!(v.conn_kind, Some(ConnKind::Websocket));
        let v = parse(&body.replace("cid:8", "lid_ws:8")).unwrap();
        assert_eq!(v.conn_kind, Some(ConnKind::Leaf));
        // Only the auth label, no client label.
        let v = parse(r#"[ERR] 1.2.3.4:5 - cid:8 - "APP/token" - Publish Violation - Subject "x""#).unwrap();
        assert_eq!(v.user, LogUser::Token);
        assert_eq!(v.account.as_deref(), Some("APP"));
        assert!(v.client.is_none());
    }

    #[test]
    fn rejects_other_lines() {
        for l in [
            "",
            CFG_AUTH_ERR,
            "[9939] 2026/11/23 09:08:33.065340 [INF] Starting nats-server",
            "[9939] 2026/11/23 09:08:33.065340 [WRN] 1.2.3.4:5 - cid:1 - Publish Violation - Subject \"x\"",
            r#"[ERR] 1.2.3.4:5 - cid:x - Publish Violation - Subject "x""#,
            r#"[ERR] 1.2.3.4:5 - cid:8 - Publish Violation - Subject "x"#,
            r#"[ERR] 1.2.3.4:5 - cid:8 - Publish Violation - Subject "x" trailing"#,
            r#"[ERR] 1.2.3.4:5 - cid:8 - Subscription Violation - Subject "x""#,
            r#"[ERR] 1.2.3.4:5 - cid:8 - Maximum Payload Violation"#,
            r#"[ERR] 1.2.3.4:5 - cid:8 - "unterminated - Publish Violation - Subject "x""#,
        ] {
            assert_eq!(parse(l), None, "{l}");
        }
    }

    #[test]
    fn go_unquote() {
        assert_eq!(unquote_go(r#""a\x41\u00e9\U0001F600\101\n" rest"#).unwrap(), ("aAé😀A\n".to_string(), " rest"));
        assert_eq!(unquote_go(r#""\xff""#).unwrap().0, "\u{fffd}");
        assert!(unquote_go(r#""\q""#).is_none());
        assert!(unquote_go(r#""\x4""#).is_none());
        assert!(unquote_go(r#""\777""#).is_none());
        assert!(unquote_go("\"é\\").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_near_valid(prefix in 0usize..300, junk in ".{0,8}") {
            for base in [CFG_QSUB, OP_PUB, OLD_SUB, OLD_JWT] {
                let cut = base.char_indices().map(|(i, _)| i).take_while(|i| *i <= prefix).last().unwrap_or(0);
                let _ = parse(&format!("{}{}", &base[..cut], junk));
                let _ = parse(&format!("{}{}{}", &base[..cut], junk, &base[cut..]));
            }
        }
    }
}
