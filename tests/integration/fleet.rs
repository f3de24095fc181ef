//! Issue 13: the Connections view follows connect/disconnect events, heals
//! missed ones with the reconciling sweep, and the console says
//! "connecting" (never "connection lost") before its first connection.
//! Correctness only: timings are in `examples/fleet_scale.rs`.

use std::time::Duration;

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use crate::harness::{ACCOUNTS, APP_PASSWORD, config_mode};
use warden::app::msg::{Cmd, Msg};
use warden::app::state::{AppState, Link};
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::worker::{self, WorkerOptions};
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::nats::types::{CONNECT_EVENT_TYPE, DISCONNECT_EVENT_TYPE};
use warden_core::secret::Secret;
use warden_sandbox::nats_server::{NatsServer, free_port};

fn sys_settings(url: String) -> NatsSettings {
    NatsSettings {
        url,
        auth: NatsAuth::UserPassword { user: "sys".into(), password: Secret::new("sys") },
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    }
}

fn screen(state: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 30)).unwrap();
    t.draw(|f| render(state, &Theme::builtin("default").unwrap(), f)).unwrap();
    t.backend().to_string()
}

/// Applies the worker's messages through `update` until `done` holds;
/// `each` sees the state after every message.
async fn pump(
    s: &mut AppState,
    rx: &mut mpsc::Receiver<Msg>,
    cmds: &mpsc::UnboundedSender<Cmd>,
    what: &str,
    mut each: impl FnMut(&AppState),
    done: impl Fn(&AppState) -> bool,
) {
    // Generous: a debug build applying tens of thousands of rows on a busy CI machine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done(s) {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for: {what}"))
            .expect("worker alive");
        for c in update(s, msg).cmds {
            let _ = cmds.send(c);
        }
        each(s);
    }
}

fn has(s: &AppState, name: &str) -> bool {
    s.conns.rows.iter().any(|r| r.info.name == name)
}

async fn app_client(url: &str, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password("app".into(), APP_PASSWORD.into())
        .name(name)
        .connect(url)
        .await
        .expect("app connects")
}

fn start(url: String, reconcile: Duration) -> (AppState, mpsc::Receiver<Msg>, mpsc::UnboundedSender<Cmd>) {
    let (tx, rx) = mpsc::channel(1024);
    let opts = WorkerOptions { reconcile, ..WorkerOptions::new(Duration::from_secs(5)) };
    let cmds = worker::spawn_with(sys_settings(url.clone()), opts, tx, None);
    let mut s = AppState::new(url, "test".into(), Clock::system());
    s.size = (120, 30);
    (s, rx, cmds)
}

#[tokio::test]
async fn connections_come_and_go_with_events_and_no_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    // Every CONNZ request anyone makes, seen by a system-account client.
    let watcher =
        async_nats::ConnectOptions::with_user_and_password("sys".into(), "sys".into()).connect(n1.url()).await.unwrap();
    let mut reqs = watcher.subscribe("$SYS.REQ.SERVER.>").await.unwrap();
    watcher.flush().await.unwrap();
    let (counted_tx, mut counted) = tokio::sync::watch::channel(0usize);
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(m) = reqs.next().await {
            if m.subject.ends_with(".CONNZ") {
                n += 1;
                let _ = counted_tx.send(n);
            }
        }
    });

    let (mut s, mut rx, cmds) = start(n1.url(), Duration::from_secs(3600));
    pump(&mut s, &mut rx, &cmds, "the first sweep", |_| {}, |s| s.conns.fetched_at.is_some()).await;
    // The watcher sees the request as the server routes it, maybe a moment
    // after the worker had its answer.
    tokio::time::timeout(Duration::from_secs(20), counted.wait_for(|n| *n >= 1))
        .await
        .expect("the first sweep is a CONNZ request")
        .unwrap();
    let after_sweep = *counted.borrow_and_update();

    let app = app_client(&n1.url(), "fleet-evt").await;
    pump(&mut s, &mut rx, &cmds, "the connect event's row", |_| {}, |s| has(s, "fleet-evt")).await;
    let row = s.conns.rows.iter().find(|r| r.info.name == "fleet-evt").unwrap();
    assert_eq!((row.info.account.as_str(), row.info.authorized_user.as_str()), ("APP", "app"));
    app.drain().await.unwrap();
    pump(&mut s, &mut rx, &cmds, "the disconnect event removing it", |_| {}, |s| !has(s, "fleet-evt")).await;

    // No sweep happened for either: the rows came from events. A request
    // the server routed before this round trip has reached the watcher.
    watcher.flush().await.unwrap();
    tokio::task::yield_now().await;
    assert_eq!(*counted.borrow(), after_sweep, "no CONNZ request after the first sweep");
}

#[tokio::test]
async fn a_missed_event_is_healed_by_the_reconciling_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let (mut s, mut rx, cmds) = start(n1.url(), Duration::from_secs(1));
    let app = app_client(&n1.url(), "fleet-heal").await;
    pump(&mut s, &mut rx, &cmds, "the live row", |_| {}, |s| has(s, "fleet-heal")).await;
    let row = s.conns.rows.iter().find(|r| r.info.name == "fleet-heal").unwrap().clone();

    // Forged advisories: the row's disconnect (as if its connect had been
    // missed) and a ghost's connect (as if its disconnect had been missed).
    let sys =
        async_nats::ConnectOptions::with_user_and_password("sys".into(), "sys".into()).connect(n1.url()).await.unwrap();
    let server = serde_json::json!({ "id": row.server_id, "name": row.server });
    let gone = serde_json::json!({ "type": DISCONNECT_EVENT_TYPE, "server": server, "client": { "id": row.info.cid } });
    let ghost = serde_json::json!({
        "type": CONNECT_EVENT_TYPE, "server": server,
        "client": { "id": 987_654, "acc": "APP", "user": "app", "name": "fleet-ghost" },
    });
    sys.publish("$SYS.ACCOUNT.APP.DISCONNECT", gone.to_string().into()).await.unwrap();
    sys.publish("$SYS.ACCOUNT.APP.CONNECT", ghost.to_string().into()).await.unwrap();
    sys.flush().await.unwrap();
    pump(
        &mut s,
        &mut rx,
        &cmds,
        "the forged events applied",
        |_| {},
        |s| !has(s, "fleet-heal") && has(s, "fleet-ghost"),
    )
    .await;

    pump(
        &mut s,
        &mut rx,
        &cmds,
        "the reconcile healing both",
        |_| {},
        |s| has(s, "fleet-heal") && !has(s, "fleet-ghost"),
    )
    .await;
    drop(app);
}

#[tokio::test]
async fn before_the_first_connection_the_console_is_connecting_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let (mut s, mut rx, cmds) = start(url, Duration::from_secs(3600));
    let first = screen(&s);
    assert!(first.contains("connecting"), "{first}");
    assert!(!first.contains("connection lost"), "{first}");

    // Nobody listens yet: attempts fail (the status line says why).
    let never_lost = |s: &AppState| {
        let sc = screen(s);
        assert!(!sc.contains("connection lost"), "{sc}");
        assert!(!sc.contains("STALE"), "{sc}");
    };
    pump(&mut s, &mut rx, &cmds, "a failed attempt", never_lost, |s| s.status.is_some()).await;
    assert_eq!(s.conn.link, Link::Connecting);
    assert!(screen(&s).contains("connecting"));

    let _n1 = NatsServer::start_on(dir.path(), "n1", port, ACCOUNTS).expect("start nats-server");
    pump(&mut s, &mut rx, &cmds, "connected with connections listed", never_lost, |s| {
        s.conn.link == Link::Connected && s.conns.fetched_at.is_some()
    })
    .await;
}

/// A slow consumer: the console stops reading (its channel holds one
/// message), a flood of system events overflows the worker's subscription
/// (async-nats drops and reports it), and a client that connects while the
/// subscription is full has its CONNECT event dropped for certain. Once the
/// console reads again the drop is counted on screen and the sweep it
/// triggers finds that client: only the sweep can have.
///
/// The flood is CONNECTs of phantom clients: each changes the fleet, so at
/// its second flush the fleet task blocks on the full console channel and
/// stops draining the subscription whatever the machine's speed (a flood of
/// no-op DISCONNECTs let a fast enough fleet task keep up on CI).
#[tokio::test]
async fn a_slow_consumer_drop_is_reported_and_healed_by_a_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let (tx, mut rx) = mpsc::channel(1);
    let opts = WorkerOptions { reconcile: Duration::from_secs(3600), ..WorkerOptions::new(Duration::from_secs(5)) };
    let cmds = worker::spawn_with(sys_settings(n1.url()), opts, tx, None);
    let mut s = AppState::new(n1.url(), "test".into(), Clock::system());
    s.size = (120, 30);
    let _app = app_client(&n1.url(), "fleet-real").await;
    pump(&mut s, &mut rx, &cmds, "the first sweep", |_| {}, |s| has(s, "fleet-real")).await;
    let server = {
        let r = s.conns.rows.iter().find(|r| r.info.name == "fleet-real").unwrap();
        serde_json::json!({ "id": r.server_id.to_string(), "name": r.server.to_string() })
    };

    // The console reads nothing now; several times more events than
    // async-nats buffers for one subscription (65,536 by default) arrive.
    let sys =
        async_nats::ConnectOptions::with_user_and_password("sys".into(), "sys".into()).connect(n1.url()).await.unwrap();
    for cid in 0..300_000u64 {
        let phantom = serde_json::json!({
            "type": CONNECT_EVENT_TYPE, "server": server,
            "client": { "id": 1_000_000 + cid, "acc": "APP", "user": "app", "name": "phantom" },
        });
        sys.publish("$SYS.ACCOUNT.APP.CONNECT", phantom.to_string().into()).await.unwrap();
    }
    sys.flush().await.unwrap();
    // The subscription is full and nobody drains it: this CONNECT is lost.
    let _late = app_client(&n1.url(), "fleet-late").await;

    let dropped = |s: &AppState| s.conns.errors.iter().any(|e| e.contains("dropped (slow consumer)"));
    pump(&mut s, &mut rx, &cmds, "the drop reported", |_| {}, dropped).await;
    s.view = warden::app::view_id::ViewId::Conns;
    assert!(screen(&s).contains("slow consumer"), "{}", screen(&s));
    pump(&mut s, &mut rx, &cmds, "the sweep after the drop finding the late client", |_| {}, |s| has(s, "fleet-late"))
        .await;
    assert!(has(&s, "fleet-real"));
}
