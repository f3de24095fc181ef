//! The compatibility matrix: for each nats-server of `NATS_SERVER_BINS`
//! (`2.9.10=/path,2.10.25=/path,...`, set by scripts/test.sh from
//! `scripts/install-nats-server.sh --matrix`), start that real server,
//! provoke every violation kind (publish, subscribe, queue subscribe, too
//! many tokens, reply subject, websocket and MQTT clients, a leafnode
//! connection, a config reload that drops a subscribe permission, a token
//! user) with scripts/capture-violation-fixtures.py, and check that warden's
//! pipeline parses each line of that server's own log with the exact kind,
//! reason and attribution, and keeps no token.
//!
//! The newest (2.15.1) and the oldest package release (2.10.25) must be in
//! the matrix, and Debian's 2.9.10 wherever apt-get exists: a missing one
//! fails the test instead of passing silently.

use std::process::Command;

use warden_core::violations::pipeline::Input;
use warden_core::violations::{Attributor, IdentityRecord, Outcome, Pipeline, StoreConfig, ViolationKind};

const TOKEN: &str = "s3cr3t-tok3n";

fn matrix() -> Vec<(String, String)> {
    let raw = std::env::var("NATS_SERVER_BINS").unwrap_or_default();
    let bins: Vec<(String, String)> = raw
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(v, p)| (v.trim().to_string(), p.trim().to_string()))
        .collect();
    // Every release of the matrix is listed; only Debian's 2.9.10 may be
    // "unavailable" (no apt or no archive with it), and then it is said.
    for r in ["2.9.10", "2.10.25", "2.15.1"] {
        assert!(
            bins.iter().any(|(v, _)| v == r),
            "nats-server {r} is not in NATS_SERVER_BINS ({raw:?}): run scripts/test.sh, or \
             NATS_SERVER_BINS=$(scripts/install-nats-server.sh --matrix)"
        );
    }
    for (v, p) in &bins {
        assert!(p != "unavailable" || v == "2.9.10", "nats-server {v} could not be installed");
        if p == "unavailable" {
            eprintln!("note: nats-server {v} (Debian) is unavailable on this machine: not tested");
        }
    }
    bins.into_iter().filter(|(_, p)| p != "unavailable").collect()
}

#[test]
fn every_version_violations_parsed_from_its_own_log() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (version, bin) in matrix() {
        let out = tempfile::tempdir().unwrap();
        let status = Command::new("python3")
            .arg(format!("{root}/scripts/capture-violation-fixtures.py"))
            .arg(format!("{version}={bin}"))
            .env("CAPTURE_OUT", out.path())
            .status()
            .unwrap();
        assert!(status.success(), "capture against nats-server {version} failed");
        let log = std::fs::read_to_string(out.path().join(format!("nats-server-{version}.log"))).unwrap();

        let mut p = Pipeline::new(
            Attributor::new(vec![IdentityRecord {
                key: "ns/tent".into(),
                user: Some("tent".into()),
                ..Default::default()
            }]),
            StoreConfig::default(),
        );
        let mut recorded = Vec::new();
        for line in log.lines().filter(|l| !l.starts_with('#')) {
            if let Outcome::Recorded { identity, kind } = p.ingest(Input::LogLine { source: Some(&version), line }, 1) {
                recorded.push((identity, kind, line.to_string()));
            }
        }
        let count = |kind: ViolationKind, identity: Option<&str>, needle: &str| {
            recorded
                .iter()
                .filter(|(i, k, l)| *k == kind && identity.is_none_or(|w| w == i) && l.contains(needle))
                .count()
        };
        use ViolationKind::{PublishDenied as P, SubscribeDenied as S};
        let tent = Some("ns/tent");
        for (kind, who, needle) in [
            (P, tent, "\"forbidden.x\""),
            (S, tent, "\"secret.>\""),
            (S, tent, "Queue: \"grp\""),
            (S, tent, "Too Many Tokens"),
            (P, tent, "Reply \"_R_.abc\""),
            (P, tent, "wid:"),
            // Reload removals: no connection label, attributed by user.
            (S, tent, "Removed sub \"gone.plain\""),
            (S, tent, "Removed sub \"gone.q\""),
            (S, None, "lid:"),
            (P, None, "mid:"),
            (P, None, "Reply \"_R_.abc\""),
        ] {
            assert!(
                count(kind, who, needle) >= 1,
                "nats-server {version}: no {kind:?} for {who:?} from {needle}\n{log}"
            );
        }
        // 13 violations: 11 from the users server, 2 from the token user.
        assert_eq!(recorded.len(), 13, "nats-server {version}\n{log}");
        let store = format!("{:?}", p.store.recent().collect::<Vec<_>>());
        assert!(!store.contains(TOKEN), "nats-server {version}: the token reached the store");
    }
}
