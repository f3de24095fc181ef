//! The live violations feed end to end against a real nats-server writing
//! its log to a file: through the console path (feed task -> `update` ->
//! `render` on a TestBackend) and through the real binary (`warden report
//! violations`). Every violation once, attributed, right kind and subject;
//! log rotation.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tokio::sync::mpsc;
use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::app::violations::feed::{self, Batch, NatsSource, Sources};
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::identity::action::request::ActionRequest;
use warden_core::nats::sys::SysClient;
use warden_core::violations::ViolationKind;
use warden_sandbox::nats_server::NatsServer;

const CONFIG: &str = r#"
logtime: true
accounts {
  APP { users = [
    { user: tentacle.ns.wf, password: pw, permissions: {
        publish: { allow: ["tentacular.ns.wf.>"] },
        subscribe: { allow: ["tentacular.ns.wf.>", "_INBOX.>"] } } }
  ] }
  SYS { users = [ { user: sys, password: sys } ] }
}
system_account: SYS
"#;

const USER: &str = "tentacle.ns.wf";

async fn connect(url: &str, user: &str, pw: &str, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::with_user_and_password(user.into(), pw.into()).name(name).connect(url).await
}

/// The workload steps outside its permissions and someone logs in with a
/// wrong password: 4 violations (the failed login arrives twice on the
/// wire, AUTH.ERR and $G DISCONNECT, and is counted once).
async fn violate(tent: &async_nats::Client, url: &str) {
    tent.publish("forbidden.x", "hi".into()).await.unwrap();
    let _s1 = tent.subscribe("secret.>").await.unwrap();
    tent.publish("tentacular.ns.wf.ok", "fine".into()).await.unwrap();
    tent.flush().await.unwrap();
    assert!(connect(url, USER, "wrong", "badpw").await.is_err());
}

fn rows_of(s: &AppState, kind: ViolationKind, subject: Option<&str>) -> Vec<String> {
    s.violations
        .live
        .newest()
        .filter(|r| r.violation.kind == kind && r.violation.subject.as_deref() == subject)
        .map(|r| r.identity.clone())
        .collect()
}

struct Console {
    state: AppState,
    rx: mpsc::Receiver<Batch>,
}

impl Console {
    async fn until(&mut self, what: &str, done: impl Fn(&AppState) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(&self.state) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(b)) => {
                    update(&mut self.state, Msg::Violations(b));
                }
                _ => panic!(
                    "timed out waiting for {what}; rows: {:#?}; sources: {:?}",
                    self.state.violations.live.newest().collect::<Vec<_>>(),
                    self.state.violations.sources
                ),
            }
        }
    }
}

fn draw(s: &AppState, w: u16, h: u16) -> String {
    let mut s = s.clone();
    update(&mut s, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(&s, &Theme::builtin("default").unwrap(), f)).unwrap();
    t.backend().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_feed_every_violation_once_attributed_across_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", CONFIG).unwrap();
    let url = server.url();
    let tent = connect(&url, USER, "pw", "wf-app").await.unwrap();
    let sys = connect(&url, "sys", "sys", "warden").await.unwrap();

    // What the console knows: the connections (so the attributor knows the user).
    let mut state = AppState::new(url.clone(), "test".into(), Clock::system());
    let conns = warden::app::worker::fetch(&SysClient::new(sys.clone()), ViewId::Conns).await;
    update(&mut state, conns);
    assert!(state.violations.pipeline.attributor.records().iter().any(|r| r.key == "ns/wf"));

    let (tx, rx) = mpsc::channel(16);
    let _feed = feed::start(
        Sources {
            nats: Some(NatsSource::Now(sys.clone())),
            files: vec![server.log_path.clone()],
            ..Default::default()
        },
        tx,
    );
    let mut c = Console { state, rx };
    c.until("both sources", |s| s.violations.sources.iter().filter(|x| x.state.is_ok()).count() == 2).await;

    violate(&tent, &url).await;
    // Sentinels after them: once these are in, everything before is too.
    tent.publish("sentinel.log", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    let _ = connect(&url, "sentinel", "x", "s").await;
    c.until("violations and sentinels", |s| {
        rows_of(s, ViolationKind::PublishDenied, Some("sentinel.log")).len() == 1
            && s.violations.live.newest().any(|r| r.violation.user.as_deref() == Some("sentinel"))
    })
    .await;

    let s = &c.state;
    assert_eq!(rows_of(s, ViolationKind::PublishDenied, Some("forbidden.x")), vec!["ns/wf"]);
    assert_eq!(rows_of(s, ViolationKind::SubscribeDenied, Some("secret.>")), vec!["ns/wf"]);
    assert_eq!(rows_of(s, ViolationKind::AuthFailed, None).iter().filter(|i| *i == "ns/wf").count(), 1);
    assert_eq!(s.violations.live.len(), 5, "{:#?}", s.violations.live.newest().collect::<Vec<_>>());
    assert!(s.violations.per_minute >= 5);

    // The view, through the keys.
    let mut s = c.state.clone();
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('0'))));
    assert_eq!(s.view, ViewId::Violations);
    let screen = draw(&s, 160, 30);
    assert!(
        screen.contains("forbidden.x") && screen.contains("ns/wf") && screen.contains("subscribe denied"),
        "{screen}"
    );
    assert!(screen.contains("viol/min"), "{screen}");
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('v'))));
    let screen = draw(&s, 160, 30);
    assert!(screen.contains("Violations by identity x subject x kind"), "{screen}");
    // Jump to the identity's permissions.
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('v'))));
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('i'))));
    assert_eq!(s.view, ViewId::Permissions);
    assert!(!s.table().filter.is_empty());

    // Rotation: rename, SIGUSR1 (nats-server reopens its log).
    let rotated = dir.path().join("n1.log.1");
    std::fs::rename(&server.log_path, &rotated).unwrap();
    // SAFETY: plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(server.pid().unwrap() as i32, libc::SIGUSR1) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_path.exists() {
        assert!(Instant::now() < deadline, "server did not reopen its log");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tent.publish("after.rotation", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    c.until("after rotation", |s| rows_of(s, ViolationKind::PublishDenied, Some("after.rotation")).len() == 1).await;
    assert_eq!(c.state.violations.live.len(), 6);
    assert_eq!(rows_of(&c.state, ViolationKind::PublishDenied, Some("forbidden.x")).len(), 1);
}

/// The shared harness builder, for env values owned as Strings.
fn warden_cmd(home: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::harness::warden_command(home, args, &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_violations_json_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", CONFIG).unwrap();
    let url = server.url();
    let tent = connect(&url, USER, "pw", "wf-app").await.unwrap();
    let log = server.log_path.to_string_lossy().into_owned();
    let env = crate::harness::sys_env(&url);
    let mut child =
        warden_cmd(dir.path(), &["report", "violations", "--duration", "6s", "--server-log", &log, "-o", "json"], &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let erx = crate::harness::lines_of(child.stderr.take().unwrap());
    let mut watching = 0;
    let mut seen = vec![];
    while watching < 2 {
        let l = erx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("report not ready: {seen:?}"));
        if l.starts_with("watching ") {
            watching += 1;
        }
        seen.push(l);
    }
    violate(&tent, &url).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{:?}", out);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let find = |kind: &str, subject: Option<&str>| {
        rows.iter()
            .filter(|r| r["kind"] == kind && r["subject"].as_str() == subject && r["user"] == USER)
            .map(|r| r["identity"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(find("publish_denied", Some("forbidden.x")), vec!["ns/wf"], "{rows:#?}");
    assert_eq!(find("subscribe_denied", Some("secret.>")), vec!["ns/wf"], "{rows:#?}");
    assert_eq!(find("auth_failed", None), vec!["ns/wf"], "{rows:#?}");
    assert_eq!(rows.len(), 3, "{rows:#?}");
    // Log lines name their file, events their server.
    let by_kind = |k: &str| rows.iter().find(|r| r["kind"] == k).unwrap()["server"].clone();
    assert_eq!(by_kind("publish_denied"), "n1.log");
    assert_eq!(by_kind("auth_failed"), "n1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_follow_prints_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", CONFIG).unwrap();
    let url = server.url();
    let tent = connect(&url, USER, "pw", "wf-app").await.unwrap();
    let log = server.log_path.to_string_lossy().into_owned();
    // Log file only (no NATS credentials: events are not readable).
    let env = vec![("NATS_URL", url.clone()), ("NATS_USER", "nobody".to_string()), ("NATS_PASSWORD", "x".into())];
    let mut child = warden_cmd(
        dir.path(),
        &["report", "violations", "--follow", "--duration", "4s", "--server-log", &log, "-o", "json"],
        &env,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let erx = crate::harness::lines_of(child.stderr.take().unwrap());
    loop {
        let l = erx.recv_timeout(Duration::from_secs(10)).expect("report not ready");
        if l.starts_with("watching file") {
            break;
        }
    }
    tent.publish("forbidden.one", "x".into()).await.unwrap();
    tent.publish("forbidden.two", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{:?}", out);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let subjects: Vec<&str> = lines.iter().map(|l| l["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, vec!["forbidden.one", "forbidden.two"], "{text}");
    // No NATS identity data: attributed by the user named in the log line.
    assert_eq!(lines[0]["identity"], "user:APP/tentacle.ns.wf");
}

// ---- snapshots (fixed state: no clock, no network) ----

const NOW: i64 = 1_795_420_800; // 2026-11-23T08:00:00Z

fn fixed_violation(i: u64) -> warden_core::violations::Violation {
    let wf = ["hn-digest", "pager", "billing", "crawler"][i as usize % 4];
    let (kind, subject) = match i % 5 {
        0 | 1 => (ViolationKind::PublishDenied, Some(format!("tentacular.payments.{wf}.events"))),
        2 => (ViolationKind::SubscribeDenied, Some("tentacular.payments.>".to_string())),
        3 => (ViolationKind::AuthFailed, None),
        _ => (ViolationKind::PublishDenied, Some("_INBOX.forbidden".to_string())),
    };
    warden_core::violations::Violation {
        at: None,
        server: Some(["nats-0", "nats-1", "nats-2"][i as usize % 3].into()),
        server_id: Some(format!("NSRV{i}")),
        kind,
        account: Some("APP".into()),
        account_name: None,
        user: Some(format!("tentacle.tent-dev.{wf}")),
        client_name: Some(format!("{wf}-client")),
        client_addr: Some(format!("10.0.0.{i}:4{i:04}")),
        cid: Some(100 + i),
        subject,
        queue: None,
        reason: (kind == ViolationKind::AuthFailed).then(|| "Authentication Failure".into()),
        cause: None,
    }
}

fn fixed_state() -> AppState {
    let mut s = AppState::new("nats://nats.prod:4222".into(), "context prod".into(), Clock { now_unix: NOW });
    s.conn.link = warden::app::state::Link::Connected;
    s.conn.account = Some("SYS".into());
    s.view = ViewId::Violations;
    // Known identities for two of the four workloads.
    s.violations.pipeline.set_attributor(warden_core::violations::Attributor::new(
        ["hn-digest", "pager"]
            .iter()
            .map(|wf| warden_core::violations::IdentityRecord {
                key: format!("tent-dev/{wf}"),
                account: Some("APP".into()),
                user: Some(format!("tentacle.tent-dev.{wf}")),
                ..Default::default()
            })
            .collect(),
    ));
    // Three minutes of history, a storm in the last one.
    for (minute, n) in [(-2i64, 3u64), (-1, 4), (0, 40)] {
        let at = Clock { now_unix: NOW + minute * 60 };
        let violations = (0..n).map(|i| fixed_violation(i + (minute + 2) as u64 * 100)).collect();
        update(&mut s, Msg::Violations(Batch { at: Some(at), violations, sources: vec![], ..Default::default() }));
    }
    update(
        &mut s,
        Msg::Violations(Batch {
            at: Some(Clock { now_unix: NOW }),
            violations: vec![],
            sources: vec![
                warden::app::violations::feed::SourceState { name: "events".into(), state: Ok("".into()) },
                warden::app::violations::feed::SourceState {
                    name: "pod nats/nats-2/nats".into(),
                    state: Err("forbidden: get pods/log".into()),
                },
            ],
            ..Default::default()
        }),
    );
    s
}

#[test]
fn violations_view_snapshots() {
    let s = fixed_state();
    assert!(s.violations.rate_jumped, "40 in the current minute after 3 and 4");
    insta::assert_snapshot!("violations_live_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("violations_live_200x50", draw(&s, 200, 50));
    let mut g = s.clone();
    update(&mut g, Msg::Key(KeyEvent::from(KeyCode::Char('v'))));
    insta::assert_snapshot!("violations_grouped_80x24", draw(&g, 80, 24));
    insta::assert_snapshot!("violations_grouped_200x50", draw(&g, 200, 50));
    // Paused with detail, filtered.
    let mut p = s.clone();
    for k in [KeyCode::Char('p'), KeyCode::Down, KeyCode::Down, KeyCode::Enter] {
        update(&mut p, Msg::Key(KeyEvent::from(k)));
    }
    update(
        &mut p,
        Msg::Violations(Batch {
            at: Some(Clock { now_unix: NOW }),
            violations: vec![fixed_violation(7)],
            sources: vec![],
            ..Default::default()
        }),
    );
    insta::assert_snapshot!("violations_paused_detail_200x50", draw(&p, 200, 50));
    let mut f = s.clone();
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Char('/'))));
    for c in "subscribe".chars() {
        update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Char(c))));
    }
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(f.violations.live.newest().count() > f.violations.live.matched());
    insta::assert_snapshot!("violations_filtered_80x24", draw(&f, 80, 24));
    // Grant from the selected violation: the identities' grant action,
    // which asks first for an over-broad subject (Cancel is the default).
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Char('+'))));
    match &f.dialog {
        Some(warden::app::dialog::model::Dialog::Confirm { request, question, focus, .. }) => {
            assert_eq!(request.verb(), "grant");
            assert!(request.target().contains("tent-dev/pager"), "{}", request.target());
            assert!(question.contains("Grant subscribe tentacular.payments.> to tent-dev/pager"), "{question}");
            assert_eq!(*focus, warden::app::dialog::model::Button::Cancel);
        }
        other => panic!("expected the grant confirmation, got {other:?} / {:?}", f.status),
    }
    insta::assert_snapshot!("violations_grant_confirm_80x24", draw(&f, 80, 24));
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Enter)));
    assert!(f.dialog.is_none(), "enter on Cancel closes");
    // An identity that is not namespace/workload: said so, nothing pretended.
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Down)));
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Down)));
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Char('+'))));
    let (_, msg) = f.status.clone().unwrap();
    assert!(msg.contains("is not a known identity"), "{msg}");
    // Revoke with no identity row for it: said so.
    update(&mut f, Msg::Key(KeyEvent::from(KeyCode::Char('X'))));
    let (_, msg) = f.status.clone().unwrap();
    assert!(msg.contains("revoke") && msg.contains("not a known identity"), "{msg}");
}

// ---- NATS pod logs through the Kubernetes API (the double) ----

fn pod_line(user: &str, subject: &str) -> String {
    format!(
        r#"[1] 2026/11/23 09:08:33.763031 [ERR] 10.0.0.5:51318 - cid:8 - "v2.16.0:go:wf-app" - "APP/user:{user}" - Publish Violation - Subject "{subject}""#
    )
}

async fn kube_double() -> (kube_double::KubeDouble, kube::Client, tempfile::TempDir) {
    use kube_double::KubeDoubleConfig;
    let double = crate::harness::strict_double(KubeDoubleConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    double.write_kubeconfig(&path, "double").unwrap();
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
    (double, kube::Client::try_from(cfg).unwrap(), dir)
}

const NATS_LABEL: (&str, &str) = ("app.kubernetes.io/name", "nats");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_followed_through_restarts_and_new_pods() {
    let (double, client, _dir) = kube_double().await;
    let k = double.state();
    // Only what deploy/rbac's read-only role allows: one pods watch, logs.
    k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-readonly")).unwrap();
    k.add_pod("nats", "nats-0", &[NATS_LABEL], &["nats", "reloader"]);
    k.add_pod("default", "other", &[("app", "other")], &["nats"]);
    k.append_pod_log("nats", "nats-0", "nats", &pod_line(USER, "before.start"));

    let mut state = AppState::new("nats://x".into(), "test".into(), Clock::system());
    state.violations.pipeline.set_attributor(warden_core::violations::Attributor::new(vec![
        warden_core::violations::IdentityRecord {
            key: "ns/wf".into(),
            account: Some("APP".into()),
            user: Some(USER.into()),
            ..Default::default()
        },
    ]));
    let (tx, rx) = mpsc::channel(16);
    let pods = feed::PodLogs {
        client,
        selector: "app.kubernetes.io/name=nats".into(),
        containers: vec!["nats".into()],
        retry: Duration::from_millis(200),
        from_start: false,
        target: None,
    };
    let _feed = feed::start(Sources { pods: Some(pods), ..Default::default() }, tx);
    let mut c = Console { state, rx };
    let following = |s: &AppState, name: &str| s.violations.sources.iter().any(|x| x.name == name && x.state.is_ok());
    c.until("nats-0 followed", |s| following(s, "pod nats/nats-0/nats")).await;

    k.append_pod_log("nats", "nats-0", "nats", "[INF] not a violation");
    k.append_pod_log("nats", "nats-0", "nats", &pod_line(USER, "pod.one"));
    k.append_pod_log("nats", "nats-0", "reloader", &pod_line(USER, "not.followed.container"));
    k.append_pod_log("default", "other", "nats", &pod_line(USER, "not.a.nats.pod"));
    c.until("pod.one", |s| rows_of(s, ViolationKind::PublishDenied, Some("pod.one")).len() == 1).await;

    // A restart ends the stream; the new container is followed from its start.
    k.restart_pod("nats", "nats-0").unwrap();
    k.append_pod_log("nats", "nats-0", "nats", &pod_line(USER, "after.restart"));
    c.until("after.restart", |s| rows_of(s, ViolationKind::PublishDenied, Some("after.restart")).len() == 1).await;

    // A pod that appears later is read whole.
    k.add_pod("nats", "nats-1", &[NATS_LABEL], &["nats"]);
    k.append_pod_log("nats", "nats-1", "nats", &pod_line(USER, "new.pod"));
    c.until("new.pod", |s| rows_of(s, ViolationKind::PublishDenied, Some("new.pod")).len() == 1).await;
    // Sentinel on nats-0: everything before it is in.
    k.append_pod_log("nats", "nats-0", "nats", &pod_line(USER, "sentinel"));
    c.until("sentinel", |s| rows_of(s, ViolationKind::PublishDenied, Some("sentinel")).len() == 1).await;

    let s = &c.state;
    let subjects: Vec<String> =
        s.violations.live.newest().map(|r| r.violation.subject.clone().unwrap_or_default()).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    for subj in ["pod.one", "after.restart", "new.pod", "sentinel"] {
        assert_eq!(subjects.iter().filter(|x| *x == subj).count(), 1, "{subjects:?}");
    }
    assert!(s.violations.live.newest().all(|r| r.identity == "ns/wf"));
    let r = s.violations.live.newest().find(|r| r.violation.subject.as_deref() == Some("new.pod")).unwrap();
    assert_eq!(r.violation.server.as_deref(), Some("nats-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_follow_reads_pod_logs_through_the_binary() {
    let (double, _client, dir) = kube_double().await;
    let k = double.state();
    k.add_pod("nats", "nats-0", &[NATS_LABEL], &["nats"]);
    let kubeconfig = dir.path().join("kubeconfig").to_string_lossy().into_owned();
    // No NATS server at all: the pod logs alone.
    let env = vec![("NATS_URL", "nats://127.0.0.1:1".to_string())];
    let mut child = warden_cmd(
        dir.path(),
        &["report", "violations", "--follow", "--duration", "5s", "--kubeconfig", &kubeconfig, "-o", "json"],
        &env,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let erx = crate::harness::lines_of(child.stderr.take().unwrap());
    let mut seen = vec![];
    loop {
        let l = tokio::task::block_in_place(|| erx.recv_timeout(Duration::from_secs(10)))
            .unwrap_or_else(|_| panic!("report not ready: {seen:?}"));
        if l.starts_with("watching pod nats/nats-0/nats") {
            break;
        }
        seen.push(l);
    }
    k.append_pod_log("nats", "nats-0", "nats", &pod_line(USER, "via.binary"));
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{:?}", out);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["subject"], "via.binary");
    assert_eq!(lines[0]["kind"], "publish_denied");
    assert_eq!(lines[0]["server"], "nats-0");
}

/// A selected violation stays selected through a storm coming in from a
/// real server's log: the rows that arrive never take the selection, so an
/// action key acts on the violation the operator looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_selected_violation_survives_a_storm() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", CONFIG).unwrap();
    let url = server.url();
    let tent = connect(&url, USER, "pw", "wf-app").await.unwrap();
    let mut state = AppState::new(url.clone(), "test".into(), Clock::system());
    state.view = ViewId::Violations;
    update(&mut state, Msg::Resize(120, 30));
    let (tx, rx) = mpsc::channel(16);
    let _feed = feed::start(Sources { files: vec![server.log_path.clone()], ..Default::default() }, tx);
    let mut c = Console { state, rx };
    c.until("the log followed", |s| s.violations.sources.iter().any(|x| x.state.is_ok())).await;
    tent.publish("storm.first", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    c.until("the first violation", |s| !rows_of(s, ViolationKind::PublishDenied, Some("storm.first")).is_empty()).await;
    // The operator selects it (it is the newest: the top row).
    update(&mut c.state, Msg::Key(KeyEvent::from(KeyCode::Char('g'))));
    let picked = c.state.violations.live.selected().unwrap().seq;
    assert_eq!(c.state.violations.live.selected().unwrap().violation.subject.as_deref(), Some("storm.first"));
    for i in 0..500 {
        tent.publish(format!("storm.{i}"), "x".into()).await.unwrap();
    }
    tent.publish("storm.last", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    c.until("the storm", |s| !rows_of(s, ViolationKind::PublishDenied, Some("storm.last")).is_empty()).await;
    let sel = c.state.violations.live.selected().unwrap();
    assert_eq!(
        (sel.seq, sel.violation.subject.as_deref()),
        (picked, Some("storm.first")),
        "the storm took the selection"
    );
    assert!(draw(&c.state, 120, 30).contains("storm.first"), "and it is on screen");
}
