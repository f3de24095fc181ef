//! Issue 14, "feedback" and "errors with their cause, once": flash messages
//! that expire, footer keys per view, read-only help, per-state colours,
//! the resize and dialog-overflow defects, saving a view, the inverse
//! filter, the sliding violation rate, and connection errors that say why
//! (against a real nats-server where the network is involved).

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use warden::app::msg::{Cmd, Msg};
use warden::app::state::{AppState, Level, Link};
use warden::app::table::Clock;
use warden::app::update::update;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::identity::join::{IdState, JoinedIdentity};
use warden_core::nats::connect::ConnEvent;

use crate::harness::{config_mode, warden};

const NOW: i64 = 1_795_420_800; // 2026-11-23T08:00:00Z, a whole minute
const AT: Clock = Clock { now_unix: NOW };

fn key(s: &mut AppState, code: KeyCode) -> warden::app::msg::Outcome {
    update(s, Msg::Key(KeyEvent::from(code)))
}

fn typed(s: &mut AppState, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}

fn terminal(s: &AppState, theme: &str, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut s = s.clone();
    update(&mut s, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(&s, &Theme::builtin(theme).unwrap(), f)).unwrap();
    t
}

fn draw(s: &AppState, w: u16, h: u16) -> String {
    terminal(s, "default", w, h).backend().to_string()
}

fn base() -> AppState {
    let mut s = AppState::new("nats://nats.prod:4222".into(), "context prod".into(), AT);
    s.conn.link = Link::Connected;
    s
}

fn identity(i: usize, state: IdState) -> warden::app::identities::IdentityRow {
    warden::app::identities::IdentityRow::new(JoinedIdentity {
        namespace: "payments".into(),
        workload: format!("wf-{i:02}"),
        user: format!("tentacle.payments.wf-{i:02}"),
        user_key: format!("U{:0>55}", i),
        account: "APP".into(),
        account_key: String::new(),
        scope: format!("tentacular.payments.wf-{i:02}.>"),
        state,
        reason: String::new(),
        expires: Some(NOW + 86_400 * 30),
        connections: 1,
        live: true,
        recorded: true,
        publish: vec![],
        subscribe: vec![],
        claims_json: String::new(),
    })
}

fn with_identities(n: usize) -> AppState {
    let mut s = base();
    let states = [
        IdState::Active,
        IdState::Revoked,
        IdState::Drifted,
        IdState::Pending,
        IdState::Expired,
        IdState::Expiring,
        IdState::Denied,
    ];
    s.identities.replace((0..n).map(|i| identity(i, states[i % states.len()])).collect(), NOW);
    key(&mut s, KeyCode::Char('8'));
    s
}

#[test]
fn flash_messages_expire_and_a_link_error_clears_on_reconnect() {
    let mut s = base();
    update(&mut s, Msg::Status(Level::Info, "copied user key UABC".into()));
    let tick = |s: &mut AppState, t: i64| update(s, Msg::Tick(Clock { now_unix: NOW + t }));
    tick(&mut s, 0);
    assert!(!tick(&mut s, 4).redraw && s.status.is_some(), "still shown after 4 s");
    let out = tick(&mut s, 5);
    assert!(out.redraw && s.status.is_none(), "gone after 5 s, and redrawn");
    assert!(!draw(&s, 80, 24).contains("copied"));
    // A new message starts its own time.
    update(&mut s, Msg::Status(Level::Error, "client error: nats: IO error".into()));
    tick(&mut s, 6);
    tick(&mut s, 12);
    assert!(s.status.is_some(), "errors stay longer");
    // ... and a link error goes as soon as the link is back.
    update(&mut s, Msg::Link(ConnEvent::Disconnected));
    update(&mut s, Msg::Link(ConnEvent::Connected));
    assert_eq!(s.status, None);
    // Idle: nothing to expire, nothing drawn.
    assert!(!tick(&mut s, 60).redraw);
}

#[test]
fn the_footer_shows_the_views_keys_and_read_only_hides_mutations() {
    let mut s = with_identities(3);
    let footer = |s: &AppState| draw(s, 120, 40).lines().nth(39).unwrap().to_string();
    let ids = footer(&s);
    assert!(ids.contains("<n> register") && ids.contains("<X> revoke"), "{ids}");
    key(&mut s, KeyCode::Char('2'));
    let conns = footer(&s);
    assert!(conns.contains("<ctrl-k> kick") && !conns.contains("register"), "{conns}");
    key(&mut s, KeyCode::Char('0'));
    assert!(footer(&s).contains("<p> pause"), "{}", footer(&s));
    // Read-only: a marker, no mutating key in the footer or the help.
    s.read_only = true;
    key(&mut s, KeyCode::Char('8'));
    let screen = draw(&s, 120, 40);
    assert!(screen.lines().next().unwrap().contains("[read-only]"), "{screen}");
    let ro = footer(&s);
    assert!(!ro.contains("register") && !ro.contains("revoke") && ro.contains("<y> describe"), "{ro}");
    key(&mut s, KeyCode::Char('?'));
    let help = draw(&s, 120, 60);
    assert!(!help.contains("register an identity") && !help.contains("kick the selected"), "{help}");
    assert!(help.contains("read-only:") && help.contains("filter rows"), "{help}");
    s.read_only = false;
    let help = draw(&s, 120, 60);
    assert!(help.contains("register an identity") && help.contains("kick the selected"), "{help}");
}

/// Revoked, Expired, Denied, Drifted, Expiring and Pending rows each look
/// different from Active in the default theme, and in monochrome the
/// broken ones stand out by bold (their STATE word says it either way).
#[test]
fn identity_states_have_their_own_style_in_every_theme() {
    let s = with_identities(7);
    let style_of = |theme: &str, word: &str| {
        let t = terminal(&s, theme, 120, 40);
        let buf = t.backend().buffer().clone();
        let y = (0..40).find(|&y| (0..120).map(|x| buf[(x, y)].symbol()).collect::<String>().contains(word)).unwrap();
        // The IDENTITY cell of the row (the selection is row 0).
        buf[(2u16, y)].style()
    };
    let d = |w| style_of("default", w);
    assert_eq!(d("Revoked").fg, Some(Color::Red));
    assert_eq!(d("Expired ").fg, Some(Color::Red));
    assert_eq!(d("Denied").fg, Some(Color::Red));
    assert_eq!(d("Drifted").fg, Some(Color::Yellow));
    assert_eq!(d("Expiring").fg, Some(Color::Yellow));
    assert_eq!(d("Pending").fg, Some(Color::DarkGray));
    for theme in ["default", "high-contrast", "monochrome"] {
        let active = style_of(theme, "Active").add_modifier;
        assert!(!active.contains(Modifier::BOLD), "{theme}");
        for word in ["Revoked", "Expired ", "Denied", "Drifted"] {
            let st = style_of(theme, word);
            assert!(
                st.add_modifier.contains(Modifier::BOLD) || st.fg != style_of(theme, "Active").fg,
                "{theme}: {word} looks like Active"
            );
        }
        assert!(style_of(theme, "Revoked").add_modifier.contains(Modifier::BOLD), "{theme}");
    }
}

/// After a shrink to 20x5 (too small to draw) and back, the table shows
/// its first rows again, the selection kept.
#[test]
fn shrinking_to_20x5_and_back_keeps_the_table_from_its_top() {
    let mut s = with_identities(13);
    for _ in 0..8 {
        key(&mut s, KeyCode::Down);
    }
    update(&mut s, Msg::Resize(20, 5));
    update(&mut s, Msg::Resize(120, 40));
    assert_eq!(s.identities.table.offset, 0);
    let screen = draw(&s, 120, 40);
    for i in 0..13 {
        assert!(screen.contains(&format!("payments/wf-{i:02}")), "row {i} hidden:\n{screen}");
    }
    assert_eq!(s.identities.table.selected, 8);
}

/// A 300-character name: the form's error stays inside the dialog, above
/// its bottom border, and the field scrolls on its own line.
#[test]
fn a_300_character_name_keeps_the_dialog_error_inside() {
    let mut s = with_identities(1);
    key(&mut s, KeyCode::Char('n'));
    let long = format!("payments/{}", "a".repeat(291));
    typed(&mut s, &long);
    key(&mut s, KeyCode::Enter);
    let error = match &s.dialog {
        Some(warden::app::dialog::model::Dialog::Register(f)) => f.error.clone().expect("an error"),
        other => panic!("{other:?}"),
    };
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = draw(&s, w, h);
        let lines: Vec<&str> = screen.lines().collect();
        // The end of the error (what is wrong) is inside the dialog.
        assert!(error.ends_with("longer than 63 characters"), "{error}");
        let at = lines.iter().position(|l| l.contains("characters")).unwrap_or_else(|| panic!("cut:\n{screen}"));
        let bottom = lines.iter().rposition(|l| l.contains('└')).unwrap();
        assert!(at < bottom, "{screen}");
        // The name does not spill over lines: its one line scrolls, marked.
        let label = lines.iter().position(|l| l.contains("identity (namespace/workload):")).unwrap();
        assert!(lines[label + 1].contains("…aaaa") && lines[label + 2].contains("account:"), "{screen}");
    }
}

/// ctrl-s writes the view as shown (filter, sort) as a JSON array, 0600.
#[test]
fn ctrl_s_saves_the_view_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = with_identities(7);
    s.save_dir = Some(dir.path().join("saved"));
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "!re:wf-0[0-2]");
    key(&mut s, KeyCode::Enter);
    let out = update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    let [Cmd::Save { path, text }] = out.cmds.as_slice() else { panic!("{:?}", out.cmds) };
    warden::app::save::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["IDENTITY"].as_str().unwrap()).collect();
    assert_eq!(names, ["payments/wf-03", "payments/wf-04", "payments/wf-05", "payments/wf-06"]);
    assert_eq!(rows[1]["STATE"], "Expired");
    assert!(s.status.as_ref().is_some_and(|(_, t)| t.contains("saved 4 rows")), "{:?}", s.status);
}

/// `!` inverts a filter, on tables and on the live violations.
#[test]
fn an_inverse_filter_hides_what_matches() {
    let mut s = with_identities(7);
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "!revoked");
    assert_eq!(s.identities.table.visible.len(), 6);
    assert!(!draw(&s, 120, 40).contains("Revoked"));
    let mut v = base();
    let violations = (0..4)
        .map(|i| {
            publish_denied(
                i,
                Some(format!("tentacle.payments.wf-{i}")),
                Some(if i % 2 == 0 { "_INBOX.x".to_string() } else { format!("orders.{i}") }),
            )
        })
        .collect();
    let batch = warden::app::violations::feed::Batch { at: Some(AT), violations, sources: vec![], ticket: None };
    update(&mut v, Msg::Violations(batch));
    key(&mut v, KeyCode::Char('0'));
    key(&mut v, KeyCode::Char('/'));
    typed(&mut v, "!_inbox");
    assert_eq!(v.violations.live.matched(), 2);
}

/// The banner's rate is the last 60 s: violations 10 s before a minute
/// boundary still count 5 s after it.
#[test]
fn the_violation_rate_does_not_drop_at_the_minute_boundary() {
    let mut s = base();
    let v = |i: u64| publish_denied(i, Some("tentacle.payments.wf".into()), Some("orders.x".into()));
    let at = Some(Clock { now_unix: NOW - 10 });
    let batch = warden::app::violations::feed::Batch {
        at,
        violations: (0..12).map(v).collect(),
        sources: vec![],
        ticket: None,
    };
    update(&mut s, Msg::Violations(batch));
    update(&mut s, Msg::Tick(Clock { now_unix: NOW + 5 }));
    assert!(draw(&s, 120, 40).contains("12 viol/min"), "{}", draw(&s, 120, 40));
    update(&mut s, Msg::Tick(Clock { now_unix: NOW + 51 }));
    assert!(draw(&s, 120, 40).lines().next().unwrap().contains(" 0 viol/min"));
}

/// Non-system credentials: the plain message, whole, where the table is.
#[test]
fn non_system_credentials_get_the_plain_message() {
    let mut s = base();
    s.conn.account = Some("APP".into());
    update(&mut s, Msg::Servers { at: AT, result: Ok(vec![]) });
    for (w, h) in [(80, 24), (220, 50)] {
        let screen = draw(&s, w, h);
        let body: String = screen.lines().skip(3).collect();
        assert!(body.contains("connected as account APP; server views need the system account"), "{screen}");
    }
}

/// A creds file that does not exist: the console says so in its views
/// (never a bare "reconnecting"), and Violations does not blame the
/// system account. The worker is the real one.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_creds_file_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let settings = warden_core::config::NatsSettings {
        url: n1.url(),
        auth: warden_core::config::NatsAuth::Creds(dir.path().join("missing.creds")),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let cmds = warden::app::worker::spawn(settings, Duration::from_secs(5), tx);
    let mut s = AppState::new(n1.url(), "test".into(), AT);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while s.conn.link_error.is_none() {
        let m = tokio::time::timeout_at(deadline, rx.recv()).await.expect("an error in time").expect("worker");
        update(&mut s, m);
    }
    let _ = cmds.send(Cmd::Quit);
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("missing.creds") && screen.contains("No such file"), "{screen}");
    assert!(!screen.contains("reconnecting"), "{screen}");
    key(&mut s, KeyCode::Char('0'));
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("cannot connect to NATS") && !screen.contains("need the system account"), "{screen}");
}

/// `--config` naming a file that does not exist is an error; a refused
/// connection's cause is said once.
#[tokio::test(flavor = "multi_thread")]
async fn a_named_config_must_exist_and_errors_say_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = warden(dir.path(), &["--config", "/nonexistent.toml", "report", "servers"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("/nonexistent.toml") && err.contains("does not exist"), "{err}");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("nats://127.0.0.1:{port}");
    let out = warden(dir.path(), &["report", "servers"], &[("NATS_URL", url.as_str())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let line = err.lines().find(|l| l.starts_with("warden:")).unwrap_or_else(|| panic!("{err}"));
    assert_eq!(line.matches("os error 111").count(), 1, "{line}");
}

/// `report identities` / `report expiry` need Kubernetes for the records
/// only it keeps (Pending, Denied, Revoked): when it cannot be reached they
/// still print what NATS gave, then exit non-zero naming the source.
#[tokio::test(flavor = "multi_thread")]
async fn identity_reports_fail_when_kubernetes_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: dead\nclusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    let env = crate::harness::sys_env(&n1.url());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for kind in ["identities", "expiry"] {
        let args = ["report", kind, "-o", "json", "--kubeconfig", kubeconfig.to_str().unwrap()];
        let out = warden(dir.path(), &args, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{kind}: {err}");
        assert!(err.contains("partial report") && err.to_lowercase().contains("natsidentit"), "{kind}: {err}");
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
        assert!(rows.is_array(), "what it has is still printed: {rows}");
    }
}

/// A publish violation on nats-0 in APP by `user` (cid `cid`) on `subject`.
fn publish_denied(cid: u64, user: Option<String>, subject: Option<String>) -> warden_core::violations::Violation {
    warden_core::violations::Violation {
        at: None,
        server: Some("nats-0".into()),
        server_id: None,
        kind: warden_core::violations::ViolationKind::PublishDenied,
        account: Some("APP".into()),
        account_name: None,
        user,
        client_name: None,
        client_addr: None,
        cid: Some(cid),
        subject,
        queue: None,
        reason: None,
        cause: None,
    }
}
