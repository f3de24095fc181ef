//! System-account auth events and the unified [`Violation`] record.
//!
//! nats-server (`server/events.go`) publishes a `DisconnectEventMsg` on
//! `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` for every failed authentication and on
//! `$SYS.ACCOUNT.<acc>.DISCONNECT` for every closed client (reason
//! "Authentication Expired", "Credentials Revoked", "Kicked", ...). Note that
//! a failed authentication produces *both* (the second on `$G`): the
//! pipeline deduplicates them.

use serde::Deserialize;

use super::auth_diagnosis::AuthCause;
use super::log_line::{LogKind, LogViolation};

/// `TypedEvent` + `ServerInfo` + `ClientInfo` + reason: the fields warden uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DisconnectEventMsg {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub timestamp: String,
    pub server: ServerInfo,
    pub client: ClientInfo,
    pub sent: DataStats,
    pub received: DataStats,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerInfo {
    pub name: String,
    pub host: String,
    pub id: String,
    pub cluster: Option<String>,
    pub domain: Option<String>,
    #[serde(rename = "ver")]
    pub version: String,
    pub seq: u64,
    pub time: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ClientInfo {
    pub start: Option<String>,
    pub host: Option<String>,
    /// The connection id (`cid`).
    pub id: Option<u64>,
    #[serde(rename = "acc")]
    pub account: Option<String>,
    #[serde(rename = "svc")]
    pub service: Option<String>,
    pub user: Option<String>,
    pub name: Option<String>,
    pub lang: Option<String>,
    #[serde(rename = "ver")]
    pub version: Option<String>,
    /// Nanoseconds (Go `time.Duration`).
    pub rtt: Option<i64>,
    pub server: Option<String>,
    pub cluster: Option<String>,
    pub stop: Option<String>,
    /// The user JWT (public, but long: not kept in [`Violation`]).
    pub jwt: Option<String>,
    pub issuer_key: Option<String>,
    pub name_tag: Option<String>,
    pub tags: Vec<String>,
    pub kind: Option<String>,
    pub client_type: Option<String>,
    #[serde(rename = "client_id")]
    pub mqtt_client: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DataStats {
    pub msgs: i64,
    pub bytes: i64,
}

/// Which system subject an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSubject<'a> {
    /// `$SYS.SERVER.<server id>.CLIENT.AUTH.ERR`
    AuthErr { server_id: &'a str },
    /// `$SYS.ACCOUNT.<account>.DISCONNECT`
    Disconnect { account: &'a str },
}

impl<'a> EventSubject<'a> {
    pub fn parse(subject: &'a str) -> Option<EventSubject<'a>> {
        if let Some(rest) = subject.strip_prefix("$SYS.SERVER.")
            && let Some(id) = rest.strip_suffix(".CLIENT.AUTH.ERR")
            && !id.is_empty()
            && !id.contains('.')
        {
            return Some(EventSubject::AuthErr { server_id: id });
        }
        if let Some(rest) = subject.strip_prefix("$SYS.ACCOUNT.")
            && let Some(acc) = rest.strip_suffix(".DISCONNECT")
            && !acc.is_empty()
            && !acc.contains('.')
        {
            return Some(EventSubject::Disconnect { account: acc });
        }
        None
    }
}

/// Subjects to subscribe to (as the system account) for [`parse_event`].
pub const AUTH_ERR_WILDCARD: &str = "$SYS.SERVER.*.CLIENT.AUTH.ERR";
pub const DISCONNECT_WILDCARD: &str = "$SYS.ACCOUNT.*.DISCONNECT";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    PublishDenied,
    SubscribeDenied,
    AuthFailed,
    AuthExpired,
    Revoked,
    Kicked,
    AuthTimeout,
    OtherDisconnect,
}

impl ViolationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::PublishDenied => "publish denied",
            ViolationKind::SubscribeDenied => "subscribe denied",
            ViolationKind::AuthFailed => "auth failed",
            ViolationKind::AuthExpired => "auth expired",
            ViolationKind::Revoked => "revoked",
            ViolationKind::Kicked => "kicked",
            ViolationKind::AuthTimeout => "auth timeout",
            ViolationKind::OtherDisconnect => "disconnect",
        }
    }

    /// Classifies a disconnect reason (`ClosedState.String()` in
    /// `server/monitor.go`). `None` for ordinary closes that are not
    /// violations ("Client Closed", "Server Shutdown", ...).
    pub fn from_reason(reason: &str) -> Option<ViolationKind> {
        Some(match reason {
            "Authentication Failure" => ViolationKind::AuthFailed,
            "Authentication Expired" => ViolationKind::AuthExpired,
            "Credentials Revoked" => ViolationKind::Revoked,
            "Kicked" => ViolationKind::Kicked,
            "Authentication Timeout" => ViolationKind::AuthTimeout,
            "Client Closed" | "Server Shutdown" | "" | "Read Error" | "Write Error" | "Route Removed"
            | "Internal Client" => return None,
            _ => ViolationKind::OtherDisconnect,
        })
    }
}

/// One authorization-relevant event, from a log line or a system event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Timestamp text as the source gave it (RFC 3339 for events, the
    /// server's log time for log lines), if any.
    pub at: Option<String>,
    /// Server name (events) or the log source label (pod / file) for logs.
    pub server: Option<String>,
    pub server_id: Option<String>,
    pub kind: ViolationKind,
    /// Account name (config mode) or public key (operator mode).
    pub account: Option<String>,
    /// Operator mode: account JWT name (log `ACPUB/APP`, event `name_tag`).
    pub account_name: Option<String>,
    /// User name, SPIFFE ID, nkey or JWT user public key.
    pub user: Option<String>,
    pub client_name: Option<String>,
    pub client_addr: Option<String>,
    pub cid: Option<u64>,
    pub subject: Option<String>,
    pub queue: Option<String>,
    pub reason: Option<String>,
    /// Why an authentication failed, worked out from the presented JWT
    /// (`auth_diagnosis`); set by the feed, never by the parsers.
    pub cause: Option<AuthCause>,
}

impl Violation {
    /// From a parsed log line; `source` names the server/pod/file.
    pub fn from_log(v: LogViolation, source: Option<&str>) -> Violation {
        let kind = match v.kind {
            LogKind::Publish => ViolationKind::PublishDenied,
            LogKind::Subscription => ViolationKind::SubscribeDenied,
        };
        let reason = v.reason().map(str::to_string);
        let client_name = v.client.and_then(|c| c.name);
        Violation {
            at: v.server_time,
            server: source.map(str::to_string),
            server_id: None,
            kind,
            account: v.account,
            account_name: v.account_name,
            user: v.user.name().map(str::to_string),
            client_name,
            client_addr: v.client_addr,
            cid: v.cid,
            subject: Some(v.subject),
            queue: v.queue,
            reason,
            cause: None,
        }
    }

    /// From a system event; `None` when the subject is not one of ours, the
    /// payload is not a disconnect event, or the disconnect is ordinary.
    pub fn from_event(subject: &str, msg: DisconnectEventMsg) -> Option<Violation> {
        let which = EventSubject::parse(subject)?;
        let kind = match which {
            EventSubject::AuthErr { .. } => {
                ViolationKind::from_reason(&msg.reason).unwrap_or(ViolationKind::AuthFailed)
            }
            EventSubject::Disconnect { .. } => ViolationKind::from_reason(&msg.reason)?,
        };
        let c = msg.client;
        // A JWT client that failed before its user was known: the user key
        // and name are in the (public) JWT's claims.
        let (jwt_sub, jwt_name) = c.jwt.as_deref().map(jwt_subject).unwrap_or((None, None));
        // Older servers put a token user's raw token in `user`: masked here,
        // where the event is parsed (crate::secret::mask_user_field).
        let user =
            c.user.map(|u| crate::secret::mask_user_field(&msg.server.version, c.account.as_deref().unwrap_or(""), u));
        let user = non_empty(user).or(jwt_sub);
        let account = non_empty(c.account);
        let account_name = non_empty(c.name_tag).filter(|t| Some(t) != account.as_ref());
        let client_addr = non_empty(c.host);
        let server_id = non_empty(Some(msg.server.id)).or(match which {
            EventSubject::AuthErr { server_id } => Some(server_id.to_string()),
            EventSubject::Disconnect { .. } => None,
        });
        Some(Violation {
            at: non_empty(Some(msg.timestamp)),
            server: non_empty(Some(msg.server.name)),
            server_id,
            kind,
            account,
            account_name,
            user,
            client_name: non_empty(c.name).or(jwt_name),
            client_addr,
            cid: c.id,
            subject: None,
            queue: None,
            reason: non_empty(Some(msg.reason)),
            cause: None,
        })
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Parses an event payload.
pub fn parse_disconnect(payload: &[u8]) -> Result<DisconnectEventMsg, serde_json::Error> {
    serde_json::from_slice(payload)
}

/// Subject + payload -> violation (`None` for anything else).
pub fn parse_event(subject: &str, payload: &[u8]) -> Option<Violation> {
    EventSubject::parse(subject)?;
    let msg = parse_disconnect(payload).ok()?;
    Violation::from_event(subject, msg)
}

/// `sub` and `name` claims of a JWT, decoded without verification (they are
/// only used to label a failed connection).
fn jwt_subject(jwt: &str) -> (Option<String>, Option<String>) {
    #[derive(Deserialize)]
    struct Claims {
        sub: Option<String>,
        name: Option<String>,
    }
    let Some(payload) = jwt.split('.').nth(1) else {
        return (None, None);
    };
    let Ok(bytes) = data_encoding::BASE64URL_NOPAD.decode(payload.trim_end_matches('=').as_bytes()) else {
        return (None, None);
    };
    match serde_json::from_slice::<Claims>(&bytes) {
        Ok(c) => (non_empty(c.sub), non_empty(c.name)),
        Err(_) => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> (&str, &str) {
        text.split_once('\n').unwrap()
    }

    #[test]
    fn config_mode_auth_error() {
        let (subj, body) = fixture(include_str!("testdata/cfg_auth_err.txt"));
        let msg = parse_disconnect(body.as_bytes()).unwrap();
        assert_eq!(msg.kind, "io.nats.server.advisory.v1.client_disconnect");
        assert_eq!(msg.server.name, "capcfg");
        assert_eq!(msg.client.rtt, Some(342000));
        let v = parse_event(subj, body.as_bytes()).unwrap();
        assert_eq!(v.kind, ViolationKind::AuthFailed);
        assert_eq!(v.user.as_deref(), Some("tent"));
        assert_eq!(v.account.as_deref(), Some("$G"));
        assert_eq!(v.account_name, None);
        assert_eq!(v.client_name.as_deref(), Some("badpw"));
        assert_eq!(v.client_addr.as_deref(), Some("127.0.0.1"));
        assert_eq!(v.cid, Some(12));
        assert_eq!(v.server.as_deref(), Some("capcfg"));
        assert_eq!(v.server_id.as_deref(), Some("NCFBTQVCFEF5ANN24LRKMB3GOOM2XLWSK2Z4AO4FU67RYO2QSKRAJMC7"));
        assert_eq!(v.at.as_deref(), Some("2026-11-23T09:08:33.76594516Z"));
        assert_eq!(v.reason.as_deref(), Some("Authentication Failure"));

        // The twin on $SYS.ACCOUNT.$G.DISCONNECT is the same failure.
        let (subj2, body2) = fixture(include_str!("testdata/cfg_auth_err_disconnect.txt"));
        let v2 = parse_event(subj2, body2.as_bytes()).unwrap();
        assert_eq!((v2.kind, v2.cid, v2.server_id.clone()), (v.kind, v.cid, v.server_id.clone()));
    }

    #[test]
    fn operator_mode_events() {
        let (subj, body) = fixture(include_str!("testdata/op_auth_err_jwt.txt"));
        let v = parse_event(subj, body.as_bytes()).unwrap();
        assert_eq!(v.kind, ViolationKind::AuthFailed);
        // No `user` in the event: taken from the JWT's sub/name.
        assert_eq!(v.user.as_deref(), Some("UDKSP7DH66IWLIMXY22HJEBBP4BB6XQQJOFQPICHAQQNIVJK4IBKEDYC"));
        assert_eq!(v.client_name.as_deref(), Some("u2"));

        let (subj, body) = fixture(include_str!("testdata/op_kicked.txt"));
        let v = parse_event(subj, body.as_bytes()).unwrap();
        assert_eq!(v.kind, ViolationKind::Kicked);
        assert_eq!(v.account.as_deref(), Some("AAQOTN3BXJN2ORAD3WJGC2UAPLOXNFOC6XN5XASPZ3V57WBE77Q3ZUJ4"));
        assert_eq!(v.account_name.as_deref(), Some("APP"));
        assert_eq!(v.cid, Some(8));

        let (subj, body) = fixture(include_str!("testdata/op_expired.txt"));
        let v = parse_event(subj, body.as_bytes()).unwrap();
        assert_eq!(v.kind, ViolationKind::AuthExpired);
        assert_eq!(v.client_name.as_deref(), Some("shortlived"));
    }

    #[test]
    fn reasons_and_subjects() {
        assert_eq!(ViolationKind::from_reason("Credentials Revoked"), Some(ViolationKind::Revoked));
        assert_eq!(ViolationKind::from_reason("Client Closed"), None);
        assert_eq!(ViolationKind::from_reason("Slow Consumer (Write Deadline)"), Some(ViolationKind::OtherDisconnect));
        let body = br#"{"client":{"acc":"A","user":"u"},"reason":"Client Closed"}"#;
        assert!(parse_event("$SYS.ACCOUNT.A.DISCONNECT", body).is_none());
        let body = br#"{"client":{"acc":"A","user":"u"},"reason":"Credentials Revoked"}"#;
        assert_eq!(parse_event("$SYS.ACCOUNT.A.DISCONNECT", body).unwrap().kind, ViolationKind::Revoked);
        assert!(parse_event("$SYS.ACCOUNT.A.CONNECT", body).is_none());
        assert!(parse_event("$SYS.ACCOUNT..DISCONNECT", body).is_none());
        assert!(parse_event("$SYS.SERVER.X.CLIENT.AUTH.ERR", b"not json").is_none());
        // Missing server id in the body: taken from the subject.
        let v = parse_event("$SYS.SERVER.NX.CLIENT.AUTH.ERR", b"{}").unwrap();
        assert_eq!(v.server_id.as_deref(), Some("NX"));
        assert_eq!(v.kind, ViolationKind::AuthFailed);
        // Wrong types do not panic.
        assert!(parse_event("$SYS.SERVER.NX.CLIENT.AUTH.ERR", br#"{"client":{"id":-1}}"#).is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(subj in ".{0,40}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_event(&subj, &body);
            let _ = parse_event("$SYS.SERVER.X.CLIENT.AUTH.ERR", &body);
        }

        #[test]
        fn jwt_garbage(s in ".{0,80}") {
            let _ = jwt_subject(&s);
        }
    }
}
