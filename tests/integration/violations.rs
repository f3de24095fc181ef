//! Live violations against a real nats-server: log file follower + system
//! events -> pipeline, every violation exactly once, across log rotation.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use warden_core::violations::follow_file::{FollowOptions, Follower};
use warden_core::violations::pipeline::{self, Input};
use warden_core::violations::{Attributor, IdentityRecord, Pipeline, StoreConfig, Violation, ViolationKind};
use warden_sandbox::nats_server::NatsServer;

const CONFIG: &str = r#"
logtime: true
accounts {
  APP { users = [
    { user: tent, password: pw, permissions: {
        publish: { allow: ["tentacular.ns.wf.>"] },
        subscribe: { allow: ["tentacular.ns.wf.>", "_INBOX.>"] } } }
  ] }
  SYS { users = [ { user: sys, password: sys } ] }
}
system_account: SYS
"#;

enum Msg {
    Line(String),
    Event(String, Vec<u8>),
}

struct Collector {
    pipeline: Pipeline,
    rx: mpsc::UnboundedReceiver<Msg>,
    seen: Vec<Violation>,
    lines: Vec<String>,
}

impl Collector {
    /// Ingests until `done(seen)` holds, or panics after `limit`.
    async fn until(&mut self, limit: Duration, what: &str, done: impl Fn(&[Violation]) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(m)) => m,
                _ => panic!("timed out waiting for {what}; seen: {:#?}", self.seen),
            };
            let parsed = match &msg {
                Msg::Line(l) => {
                    self.lines.push(l.clone());
                    pipeline::parse(Input::LogLine { source: Some("n1"), line: l })
                }
                Msg::Event(s, p) => pipeline::parse(Input::Event { subject: s, payload: p }),
            };
            if let Some(v) = parsed
                && let warden_core::violations::Outcome::Recorded { .. } =
                    self.pipeline.ingest_violation(v.clone(), 120)
            {
                self.seen.push(v);
            }
        }
    }
}

fn count(seen: &[Violation], kind: ViolationKind, subject: Option<&str>, user: &str) -> usize {
    seen.iter().filter(|v| v.kind == kind && v.subject.as_deref() == subject && v.user.as_deref() == Some(user)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_from_log_and_events_exactly_once_across_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", CONFIG).unwrap();
    let (tx, rx) = mpsc::unbounded_channel();

    // Follow the log file.
    let mut follower = Follower::open(
        &server.log_path,
        FollowOptions { from_start: true, poll_interval: Duration::from_millis(20), ..Default::default() },
    )
    .await
    .unwrap();
    let ltx = tx.clone();
    let (rot_tx, mut rot_rx) = tokio::sync::watch::channel(0u64);
    let follow_task = tokio::spawn(async move {
        while let Ok(l) = follower.next_line().await {
            let _ = rot_tx.send(follower.rotations);
            if ltx.send(Msg::Line(l.text)).is_err() {
                break;
            }
        }
    });

    // System events.
    let sys = async_nats::ConnectOptions::with_user_and_password("sys".into(), "sys".into())
        .connect(server.url())
        .await
        .unwrap();
    let mut auth_err = sys.subscribe("$SYS.SERVER.*.CLIENT.AUTH.ERR").await.unwrap();
    let mut disc = sys.subscribe("$SYS.ACCOUNT.*.DISCONNECT").await.unwrap();
    sys.flush().await.unwrap();
    let etx = tx.clone();
    let events_task = tokio::spawn(async move {
        loop {
            let m = tokio::select! {
                Some(m) = auth_err.next() => m,
                Some(m) = disc.next() => m,
                else => break,
            };
            if etx.send(Msg::Event(m.subject.to_string(), m.payload.to_vec())).is_err() {
                break;
            }
        }
    });

    let attributor = Attributor::new(vec![IdentityRecord {
        key: "ns/wf".into(),
        account: Some("APP".into()),
        user: Some("tent".into()),
        ..Default::default()
    }]);
    let mut c =
        Collector { pipeline: Pipeline::new(attributor, StoreConfig::default()), rx, seen: vec![], lines: vec![] };

    // A client with narrow permissions steps outside them.
    let tent = async_nats::ConnectOptions::with_user_and_password("tent".into(), "pw".into())
        .name("tent-app")
        .connect(server.url())
        .await
        .unwrap();
    tent.publish("forbidden.x", "hi".into()).await.unwrap();
    let _s1 = tent.subscribe("secret.>").await.unwrap();
    let _s2 = tent.queue_subscribe("secret.q", "grp".into()).await.unwrap();
    tent.publish("tentacular.ns.wf.ok", "fine".into()).await.unwrap();
    tent.flush().await.unwrap();

    // A wrong password.
    let bad = async_nats::ConnectOptions::with_user_and_password("tent".into(), "wrong".into())
        .name("badpw")
        .connect(server.url())
        .await;
    assert!(bad.is_err());

    c.until(Duration::from_secs(10), "first violations", |s| {
        count(s, ViolationKind::PublishDenied, Some("forbidden.x"), "tent") >= 1
            && count(s, ViolationKind::SubscribeDenied, Some("secret.>"), "tent") >= 1
            && count(s, ViolationKind::SubscribeDenied, Some("secret.q"), "tent") >= 1
            && count(s, ViolationKind::AuthFailed, None, "tent") >= 1
    })
    .await;

    // Sentinels: anything before them has been delivered, so the counts
    // below are final (log lines and events are each ordered).
    tent.publish("sentinel.log", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    let _ =
        async_nats::ConnectOptions::with_user_and_password("sentinel".into(), "x".into()).connect(server.url()).await;
    c.until(Duration::from_secs(10), "sentinels", |s| {
        count(s, ViolationKind::PublishDenied, Some("sentinel.log"), "tent") == 1
            && count(s, ViolationKind::AuthFailed, None, "sentinel") == 1
    })
    .await;

    let s = &c.seen;
    assert_eq!(count(s, ViolationKind::PublishDenied, Some("forbidden.x"), "tent"), 1);
    assert_eq!(count(s, ViolationKind::SubscribeDenied, Some("secret.>"), "tent"), 1);
    assert_eq!(count(s, ViolationKind::SubscribeDenied, Some("secret.q"), "tent"), 1);
    assert_eq!(count(s, ViolationKind::AuthFailed, None, "tent"), 1, "AUTH.ERR + $G DISCONNECT counted once");
    assert_eq!(s.len(), 6, "{s:#?}");
    let q = s.iter().find(|v| v.subject.as_deref() == Some("secret.q")).unwrap();
    assert_eq!(q.queue.as_deref(), Some("grp"));
    let p = s.iter().find(|v| v.subject.as_deref() == Some("forbidden.x")).unwrap();
    assert_eq!(p.account.as_deref(), Some("APP"));
    assert_eq!(p.client_name.as_deref(), Some("tent-app"));
    let a = s.iter().find(|v| v.kind == ViolationKind::AuthFailed && v.user.as_deref() == Some("tent")).unwrap();
    assert_eq!(a.client_name.as_deref(), Some("badpw"));
    assert_eq!(a.server.as_deref(), Some("n1"));
    // Attributed to the known identity.
    let store = &c.pipeline.store;
    assert!(store.groups().any(|g| g.key.identity == "ns/wf" && g.key.subject == "forbidden.x"));
    assert_eq!(store.totals().ingested, 6);
    for l in c.lines.iter().filter(|l| l.contains("Violation")) {
        eprintln!("real line: {l}");
    }

    // Rotation: rename the log, ask the server to reopen it (SIGUSR1, what
    // `nats-server --signal reopen=<pid>` sends).
    let rotated = dir.path().join("n1.log.1");
    std::fs::rename(&server.log_path, &rotated).unwrap();
    let pid = server.pid().unwrap() as i32;
    // SAFETY: plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_path.exists() {
        assert!(Instant::now() < deadline, "server did not reopen its log");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tent.publish("after.rotation", "x".into()).await.unwrap();
    tent.flush().await.unwrap();
    c.until(Duration::from_secs(10), "violation after rotation", |s| {
        count(s, ViolationKind::PublishDenied, Some("after.rotation"), "tent") == 1
    })
    .await;
    assert!(*rot_rx.borrow_and_update() >= 1, "follower saw the rotation");
    assert_eq!(c.seen.len(), 7);
    assert!(std::fs::read_to_string(&rotated).unwrap().contains("forbidden.x"));
    assert!(server.log().contains("after.rotation"));

    follow_task.abort();
    events_task.abort();
}
