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
    // Every release of the script's matrix is installed, or the test fails
    // saying which one is missing: it never passes having tested fewer.
    for r in matrix_versions() {
        let path = bins.iter().find(|(v, _)| *v == r).map(|(_, p)| p.as_str());
        assert!(
            path.is_some(),
            "nats-server {r} is not in NATS_SERVER_BINS ({raw:?}): run scripts/test.sh, or \
             NATS_SERVER_BINS=$(scripts/install-nats-server.sh --matrix)"
        );
        assert!(
            path != Some("unavailable"),
            "nats-server {r} could not be installed on this machine (scripts/install-nats-server.sh {r} says why): \
             the compatibility matrix needs it"
        );
    }
    bins
}

/// The releases `scripts/install-nats-server.sh --matrix` installs (its
/// `MATRIX=(...)` line, `$PINNED` resolved).
fn matrix_versions() -> Vec<String> {
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-nats-server.sh"))
        .expect("scripts/install-nats-server.sh");
    let field = |prefix: &str| {
        script.lines().find_map(|l| l.strip_prefix(prefix)).map(str::trim).expect("a line of the script").to_string()
    };
    let pinned = field("PINNED=");
    let list = field("MATRIX=(");
    list.trim_end_matches(')')
        .split_whitespace()
        .map(|v| v.trim_matches('"'))
        .map(|v| if v == "$PINNED" { pinned.clone() } else { v.to_string() })
        .collect()
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

/// nats-server 2.10.0-2.10.27 logs a token user's raw token (`Token
/// "<raw>"`, server/client.go at v2.10.25). Read from that server's own log,
/// the token reaches no console view (the live list, its detail, the grouped
/// view), no `warden report violations` output (table and JSON), and no line
/// of warden's own log file.
#[test]
fn a_2_10_25_token_never_reaches_a_view_a_report_or_a_log() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use warden::app::msg::Msg;
    use warden::app::state::AppState;
    use warden::app::table::Clock;
    use warden::app::update::update;
    use warden::app::view_id::ViewId;
    use warden::app::violations::feed::Batch;

    let root = env!("CARGO_MANIFEST_DIR");
    let Some((_, bin)) = matrix().into_iter().find(|(v, _)| v == "2.10.25") else {
        panic!("nats-server 2.10.25 is required (scripts/install-nats-server.sh --matrix)");
    };
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(format!("{root}/scripts/capture-violation-fixtures.py"))
        .arg(format!("2.10.25={bin}"))
        .env("CAPTURE_OUT", dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let log_path = dir.path().join("nats-server-2.10.25.log");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains(TOKEN), "the server logged the raw token: the premise of this test");

    // The console: the same parser the feed uses, through `update`.
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock { now_unix: 1 });
    s.view = ViewId::Violations;
    let violations = log
        .lines()
        .filter_map(warden_core::violations::log_line::parse)
        .map(|p| warden_core::violations::Violation::from_log(p, Some("nats-2.10.25")))
        .collect();
    update(
        &mut s,
        Msg::Violations(Batch { at: Some(Clock { now_unix: 1 }), violations, sources: vec![], ..Default::default() }),
    );
    assert!(s.violations.live.len() >= 2, "the token user's violations are shown");
    let draw = |s: &AppState, w: u16, h: u16| {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        let theme = warden::ui::theme::Theme::builtin("default").unwrap();
        t.draw(|f| warden::ui::render::render(s, &theme, f)).unwrap();
        format!("{:?}", t.backend().buffer())
    };
    let mut screens = vec![draw(&s, 200, 50)];
    for _ in 0..s.violations.live.len() {
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Enter)));
        screens.push(draw(&s, 200, 50));
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Esc)));
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Down)));
    }
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('v'))));
    screens.push(draw(&s, 200, 50));
    for screen in &screens {
        assert!(!screen.contains(TOKEN), "a view shows the token");
    }
    assert!(!format!("{:?}", s.violations.pipeline.store.recent().collect::<Vec<_>>()).contains(TOKEN));

    // The report, both outputs; warden's log file.
    let home = dir.path().join("home");
    for out in [&["-o", "table"][..], &["-o", "json"][..]] {
        let mut args = vec!["report", "violations", "--from-start", "--duration", "2s", "--server-log"];
        args.push(log_path.to_str().unwrap());
        args.extend_from_slice(out);
        let o = crate::harness::warden(&home, &args, &[("NATS_URL", "nats://127.0.0.1:1")]);
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(text.contains("Reply") || text.contains("_R_.abc"), "the violations are reported: {text}");
        assert!(!text.contains(TOKEN), "the report shows the token: {text}");
    }
    let mut logs = 0;
    for entry in walk(&home) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        logs += 1;
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "{} (warden's own files) holds the token",
            entry.display()
        );
    }
    assert!(logs > 0, "warden wrote its log under its home");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}
