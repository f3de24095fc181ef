//! Every violation line of nats-server 2.9.10 .. 2.15.1, as each version
//! wrote it (fixtures/violations/nats-server-<version>.log, captured from the
//! real servers by scripts/capture-violation-fixtures.py), parsed with exact
//! kinds and attribution. Text per version: server/client.go
//! (`pubPermissionViolation`, `subPermissionViolation`,
//! `replySubjectViolation`, `maxTokensViolation`, `getAuthUser`,
//! `processSubsOnConfigReload`), server/leafnode.go (`leafPermViolation`).

use warden_core::violations::log_line::{self, ConnKind, LogKind, LogUser, LogViolation, Origin};
use warden_core::violations::{Violation, ViolationKind};

/// The token the capture's token server uses (a test value).
const TOKEN: &str = "s3cr3t-tok3n";

pub const VERSIONS: [&str; 6] = ["2.9.10", "2.10.25", "2.11.1", "2.12.8", "2.14.6", "2.15.1"];

fn fixture(version: &str) -> String {
    let path = format!("{}/tests/fixtures/violations/nats-server-{version}.log", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ver(v: &str) -> (u32, u32, u32) {
    let mut it = v.split('.').map(|p| p.parse().unwrap());
    (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
}

/// One line's parse, as a comparable summary.
fn summary(v: &LogViolation) -> String {
    format!(
        "{:?} {:?} {:?} user={:?} acc={:?} subj={} q={:?} sid={:?} reply={} tmt={} reason={:?}",
        v.origin,
        v.kind,
        v.conn_kind,
        v.user,
        v.account,
        v.subject,
        v.queue,
        v.sid,
        v.reply,
        v.too_many_tokens,
        v.reason()
    )
}

/// What each version's capture must parse to.
fn expected(version: &str) -> Vec<String> {
    let v = ver(version);
    let new_label = v >= (2, 12, 0);
    let acc = |a: &str| if new_label { Some(a.to_string()) } else { None };
    let tent = LogUser::User("tent".into());
    // getAuthUser: no token case in 2.9; `Token %q` in 2.10/2.11; the
    // `$G/token` label since 2.12.
    let token_user = if v < (2, 10, 0) { LogUser::None } else { LogUser::Token };
    // `Removed sub ... using queue` since 2.12.14 / 2.14.4.
    let queue_removal = v >= (2, 14, 4) || ((2, 12, 14)..(2, 13, 0)).contains(&v);
    let mqtt_user = if new_label { LogUser::None } else { LogUser::User("mq".into()) };
    let mk = |origin,
              kind,
              conn: Option<ConnKind>,
              user: &LogUser,
              account: Option<String>,
              subject: &str,
              queue: Option<&str>,
              sid: Option<&str>,
              reply: bool,
              tmt: bool| {
        summary(&LogViolation {
            pid: None,
            server_time: None,
            client_addr: None,
            conn_kind: conn,
            cid: None,
            client: None,
            account,
            account_name: None,
            user: user.clone(),
            kind,
            subject: subject.into(),
            reply,
            queue: queue.map(str::to_string),
            sid: sid.map(str::to_string),
            too_many_tokens: tmt,
            origin,
        })
    };
    use LogKind::{Publish as P, Subscription as S};
    use Origin::{Client as C, ConfigReload as R, Leafnode as L};
    let cid = Some(ConnKind::Client);
    let mut out = vec![
        mk(C, P, cid, &tent, acc("$G"), "forbidden.x", None, None, false, false),
        mk(C, S, cid, &tent, acc("$G"), "secret.>", None, Some("1"), false, false),
        mk(C, S, cid, &tent, acc("$G"), "secret.q", Some("grp"), Some("2"), false, false),
        mk(C, S, cid, &tent, acc("$G"), "tentacular.a.b.c.d.e", None, Some("3"), false, true),
        mk(C, P, cid, &tent, acc("$G"), "_R_.abc", None, None, true, false),
        mk(C, P, cid, &tent, acc("$G"), "a\"b\\c.é", None, None, false, false),
        mk(R, S, None, &tent, None, "gone.plain", None, Some("4"), false, false),
        mk(R, S, None, &tent, None, "gone.q", queue_removal.then_some("workers"), Some("5"), false, false),
        mk(L, S, Some(ConnKind::Leaf), &LogUser::None, None, "secret.leaf", None, None, false, false),
        mk(C, P, Some(ConnKind::Websocket), &tent, acc("$G"), "forbidden.ws", None, None, false, false),
        mk(C, P, Some(ConnKind::Mqtt), &mqtt_user, None, "forbidden.mqtt", None, None, false, false),
        mk(C, P, cid, &token_user, acc("$G"), "_R_.abc", None, None, true, false),
        mk(C, S, cid, &token_user, acc("$G"), "a.b.c.d.e", None, Some("1"), false, true),
    ];
    out.sort();
    out
}

#[test]
fn every_version_parses_with_exact_kinds_and_attribution() {
    for version in VERSIONS {
        let text = fixture(version);
        let mut got = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            match log_line::parse(line) {
                Some(v) => {
                    assert!(!format!("{v:?}").contains(TOKEN), "{version}: token kept: {line}");
                    got.push(summary(&v));
                }
                // The only other kept line: the hub closing the leafnode.
                None => assert!(line.contains("Leafnode connection closed: Protocol Violation"), "{version}: {line}"),
            }
        }
        got.sort();
        assert_eq!(got, expected(version), "nats-server {version}");
    }
}

#[test]
fn the_token_is_in_the_leaky_fixtures_and_in_no_violation() {
    for version in VERSIONS {
        let text = fixture(version);
        let leaks =
            ((2, 10, 0)..=(2, 10, 27)).contains(&ver(version)) || ((2, 11, 0)..=(2, 11, 1)).contains(&ver(version));
        assert_eq!(text.contains(&format!("Token \"{TOKEN}\"")), leaks, "{version}");
        for line in text.lines() {
            if let Some(l) = log_line::parse(line) {
                let v = Violation::from_log(l, Some("n1"));
                let json = serde_json::to_string(&v).unwrap();
                assert!(!json.contains(TOKEN), "{version}: {json}");
                if matches!(v.kind, ViolationKind::PublishDenied | ViolationKind::SubscribeDenied) {
                    assert!(v.subject.is_some());
                }
            }
        }
    }
}

#[test]
fn reasons_and_missing_connection_labels_reach_the_violation() {
    let text = fixture("2.15.1");
    let find = |needle: &str| {
        let line = text.lines().find(|l| l.contains(needle)).unwrap();
        Violation::from_log(log_line::parse(line).unwrap(), Some("n1"))
    };
    let r = find("using queue");
    assert_eq!(r.kind, ViolationKind::SubscribeDenied);
    assert_eq!((r.cid, r.client_addr.as_deref()), (None, None));
    assert_eq!(r.user.as_deref(), Some("tent"));
    assert_eq!(r.queue.as_deref(), Some("workers"));
    assert_eq!(r.reason.as_deref(), Some("subscription removed by config reload"));
    let l = find("Check other side");
    assert_eq!(l.cid, Some(6));
    assert_eq!(l.reason.as_deref(), Some("leafnode: check other side configuration"));
}
