//! Issue 2: the console skeleton against real nats-servers, through the same
//! entry points a user runs (the binary's reports, the console's worker,
//! update and render).

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use tokio::sync::mpsc;
use warden::app::msg::Msg;
use warden::app::state::{AppState, Link};
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::app::worker;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::secret::Secret;

use crate::harness::*;

fn env_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

fn try_json_report(home: &std::path::Path, kind: &str, url: &str) -> Result<Vec<Value>, String> {
    let env = sys_env(url);
    let out = warden(home, &["report", kind, "--output", "json"], &env_refs(&env));
    if !out.status.success() {
        return Err(format!("report {kind} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("report {kind} is not JSON: {e}"))
}

fn json_report(home: &std::path::Path, kind: &str, url: &str) -> Vec<Value> {
    try_json_report(home, kind, url).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_cover_every_server_and_connection_of_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let (n1, n2) = cluster(dir.path());
    // Application clients on both servers, with names the report must show.
    let c1 = async_nats::ConnectOptions::new()
        .user_and_password("app".into(), APP_PASSWORD.into())
        .name("tentacle-a")
        .connect(n1.url())
        .await
        .unwrap();
    let c2 = async_nats::ConnectOptions::new()
        .user_and_password("app".into(), APP_PASSWORD.into())
        .name("tentacle-b")
        .connect(n2.url())
        .await
        .unwrap();
    c1.flush().await.unwrap();
    c2.flush().await.unwrap();

    let home = dir.path().join("home");
    let url = n1.url();
    // Routes take a moment to form; until then a report may see one server.
    let servers = eventually(Duration::from_secs(15), "both cluster members answer VARZ", || {
        let rows = try_json_report(&home, "servers", &url);
        async move { rows.ok().filter(|r| r.len() == 2) }
    })
    .await;
    let names: Vec<&str> = servers.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["n1", "n2"]);
    for r in &servers {
        assert_eq!(r["cluster"], "c1");
        assert_eq!(r["version"], "2.15.1");
        assert_eq!(r["system_account"], "SYS");
        assert!(r["id"].as_str().unwrap().starts_with('N'));
    }

    let conns = json_report(&home, "conns", &url);
    let find =
        |name: &str| conns.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} missing in {conns:#?}"));
    assert_eq!(find("tentacle-a")["server"], "n1");
    assert_eq!(find("tentacle-b")["server"], "n2");
    for n in ["tentacle-a", "tentacle-b"] {
        assert_eq!(find(n)["account"], "APP");
        assert_eq!(find(n)["authorized_user"], "app");
    }
    // The table form carries the console's column titles.
    let env = sys_env(&url);
    let table = warden(&home, &["report", "conns"], &env_refs(&env));
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.lines().next().unwrap().starts_with("SERVER  CID"), "{text}");
    assert!(text.contains("tentacle-a") && text.contains("tentacle-b"));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_account_is_told_plainly_instead_of_empty_tables() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let url = n1.url();
    let env =
        [("NATS_URL", url.as_str()), ("NATS_USER", "app"), ("NATS_PASSWORD", APP_PASSWORD), ("WARDEN_LOG", "trace")];
    let out = warden(dir.path(), &["report", "servers"], &env);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connected as account APP; server views need the system account"), "{err}");
    assert!(out.stdout.is_empty());
    // The password never appears in anything warden wrote, even at trace level.
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path().join("state/warden")).unwrap() {
        let path = entry.unwrap().path();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(APP_PASSWORD), "log leaks the password: {text}");
        files += 1;
    }
    assert!(files > 0, "a log file was written");
    assert!(!err.contains(APP_PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn natscli_context_selects_the_server_and_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let ctx_dir = dir.path().join("config/nats/context");
    std::fs::create_dir_all(&ctx_dir).unwrap();
    let ctx = serde_json::json!({"description": "test", "url": n1.url(), "user": "sys", "password": "sys"});
    std::fs::write(ctx_dir.join("local.json"), ctx.to_string()).unwrap();
    let out = warden(dir.path(), &["report", "servers", "-o", "json"], &[("NATS_CONTEXT", "local")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["name"], "n1");
}

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

fn screen(state: &AppState, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(state, &Theme::builtin("default").unwrap(), f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

/// Runs the console's IO worker against the server and applies its messages
/// through `update`, until `done(state)` holds.
async fn pump(
    state: &mut AppState,
    rx: &mut mpsc::Receiver<Msg>,
    cmds: &mpsc::UnboundedSender<warden::app::msg::Cmd>,
    what: &str,
    done: impl Fn(&AppState) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(state) {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("timed out waiting for: {what}; state: {:?} / {:?}", state.conn, state.servers.stale)
            })
            .expect("worker alive");
        for c in update(state, msg).cmds {
            let _ = cmds.send(c);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn console_shows_live_data_and_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut n1 = config_mode(dir.path(), "n1");
    let (tx, mut rx) = mpsc::channel(1024);
    let cmds = worker::spawn(sys_settings(n1.url()), Duration::from_secs(1), tx);
    let mut s = AppState::new(n1.url(), "test".into(), Clock::system());
    s.size = (120, 30);

    pump(&mut s, &mut rx, &cmds, "servers listed", |s| s.servers.rows.len() == 1 && s.conn.link == Link::Connected)
        .await;
    assert_eq!(s.conn.account.as_deref(), Some("SYS"));
    assert_eq!(s.conn.notice, None);
    let text = screen(&s, 120, 30);
    assert!(text.contains("● connected") && text.contains("n1") && text.contains("2.15.1"), "{text}");

    // Switch to connections with the keyboard path ('2'); the worker refreshes.
    let key = ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char('2'));
    for c in update(&mut s, Msg::Key(key)).cmds {
        cmds.send(c).unwrap();
    }
    assert_eq!(s.view, ViewId::Conns);
    pump(&mut s, &mut rx, &cmds, "own connection listed", |s| s.conns.rows.iter().any(|r| r.info.name == "warden"))
        .await;
    assert!(screen(&s, 120, 30).contains("warden"));

    // Kill the server: the banner says so and data is marked stale, not wiped.
    n1.stop();
    pump(&mut s, &mut rx, &cmds, "reconnecting shown", |s| {
        matches!(s.conn.link, Link::Reconnecting(_) | Link::Disconnected)
    })
    .await;
    assert!(!s.servers.rows.is_empty());
    assert!(s.servers.stale.is_some());
    let text = screen(&s, 120, 30);
    assert!(text.contains("STALE"), "{text}");

    n1.restart().unwrap();
    pump(&mut s, &mut rx, &cmds, "reconnected with fresh data", |s| {
        s.conn.link == Link::Connected && s.servers.stale.is_none() && s.conns.stale.is_none()
    })
    .await;
    assert!(screen(&s, 120, 30).contains("● connected"));
    // Live STATSZ is resubscribed after the reconnect.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, rx.recv()).await.expect("a STATSZ event after reconnect").unwrap();
        if matches!(msg, Msg::Statsz(_)) {
            break;
        }
        for c in update(&mut s, msg).cmds {
            let _ = cmds.send(c);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_custom_ca_and_a_client_certificate() {
    use warden_sandbox::spiffe_mode::SpiffeWorld;
    let dir = tempfile::tempdir().unwrap();
    let world = SpiffeWorld::generate(dir.path(), "tentacular.local").unwrap();
    let server = warden_sandbox::nats_server::NatsServer::start(dir.path(), "tls", &world.config_body()).unwrap();
    let url = format!("tls://127.0.0.1:{}", server.port);
    let (ca, cert, key) = (
        world.bundle_file.display().to_string(),
        world.system.cert_file.display().to_string(),
        world.system.key_file.display().to_string(),
    );
    let home = dir.path().join("home");

    // mTLS with warden's SVID: the server maps its URI SAN to the system user.
    let out = warden(
        &home,
        &["report", "servers", "-o", "json", "--tlsca", &ca, "--tlscert", &cert, "--tlskey", &key],
        &[("NATS_URL", &url)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["name"], "tls");
    let conns = warden(
        &home,
        &["report", "conns", "-o", "json"],
        &[("NATS_URL", &url), ("NATS_CA", &ca), ("NATS_CERT", &cert), ("NATS_KEY", &key)],
    );
    let conns: Vec<Value> = serde_json::from_slice(&conns.stdout).unwrap();
    let me = conns.iter().find(|c| c["name"] == "warden").expect("warden's own connection");
    assert_eq!(me["authorized_user"], "spiffe://tentacular.local/warden");
    assert!(me["tls_version"].as_str().unwrap().starts_with("1."));

    // The radar lists the server's certificate from VARZ tls_cert_not_after.
    let exp = warden(
        &home,
        &["report", "expiry", "-o", "json"],
        &[("NATS_URL", &url), ("NATS_CA", &ca), ("NATS_CERT", &cert), ("NATS_KEY", &key)],
    );
    assert!(exp.status.success(), "{}", String::from_utf8_lossy(&exp.stderr));
    let exp: Vec<Value> = serde_json::from_slice(&exp.stdout).unwrap();
    let tls = exp.iter().find(|r| r["kind"] == "server tls").expect("the server's certificate on the radar");
    assert_eq!(tls["name"], "tls");
    let expires = warden::app::format::unix_of_rfc3339(tls["expires"].as_str().unwrap_or_default());
    assert!(expires.is_some_and(|e| e > warden_core::nats::jwt::unix_now()), "{tls}");

    // Without the client certificate the server refuses; without the CA the
    // server's certificate is not trusted. Both say so and fail.
    let no_cert = warden(&home, &["report", "servers", "--tlsca", &ca], &[("NATS_URL", &url)]);
    assert!(!no_cert.status.success());
    let no_ca = warden(&home, &["report", "servers", "--tlscert", &cert, "--tlskey", &key], &[("NATS_URL", &url)]);
    assert!(!no_ca.status.success());
    assert!(String::from_utf8_lossy(&no_ca.stderr).contains("connecting to tls://127.0.0.1"));
}

/// A client's name is wire data: `warden report conns` shows an escape
/// sequence in it as visible characters, never as a live OSC/CSI sequence
/// for the operator's terminal.
#[tokio::test(flavor = "multi_thread")]
async fn report_never_writes_wire_control_sequences_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = config_mode(dir.path(), "n1");
    let evil = "evil\x1b]0;PWNED\x07\x1b[2J";
    let _c = async_nats::ConnectOptions::with_user_and_password("app".into(), super::harness::APP_PASSWORD.into())
        .name(evil)
        .connect(n1.url())
        .await
        .unwrap();
    let home = dir.path().join("home");
    let url = n1.url();
    let env = sys_env(&url);
    let text = eventually(Duration::from_secs(10), "the client listed", || {
        let out = warden(&home, &["report", "conns"], &env_refs(&env));
        async move { String::from_utf8(out.stdout).ok().filter(|t| t.contains("PWNED")) }
    })
    .await;
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(text.contains("evil␛]0;PWNED␇␛[2J"), "{text}");
}

/// The selection is the row the operator looked at, not a position: a CONNZ
/// refresh that inserts connections above it (another server sorts first)
/// leaves the same connection selected, through the real worker.
#[tokio::test(flavor = "multi_thread")]
async fn selection_survives_a_refresh_that_inserts_rows_above_it() {
    use warden::app::table::TableRow;
    let dir = tempfile::tempdir().unwrap();
    let (n1, n2) = cluster(dir.path());
    let app = |name: &'static str, url: String| async move {
        async_nats::ConnectOptions::new()
            .user_and_password("app".into(), APP_PASSWORD.into())
            .name(name)
            .connect(url)
            .await
            .unwrap()
    };
    let watched = app("watched-on-n2", n2.url()).await;
    watched.flush().await.unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let cmds = worker::spawn(sys_settings(n1.url()), Duration::from_secs(1), tx);
    let mut s = AppState::new(n1.url(), "test".into(), Clock::system());
    s.size = (120, 30);
    s.view = ViewId::Conns;
    let pos_of =
        |s: &AppState, name: &str| s.conns.table.visible.iter().position(|&i| s.conns.rows[i].info.name == name);
    pump(&mut s, &mut rx, &cmds, "the watched connection listed", |s| pos_of(s, "watched-on-n2").is_some()).await;
    let pos = pos_of(&s, "watched-on-n2").unwrap();
    s.conns.table.move_by(pos as isize - s.conns.table.selected as isize, 20);
    let key = s.conns.selected().unwrap().key();
    // Five more clients on n1, whose rows sort above n2's.
    let mut more = Vec::new();
    for name in ["n1-a", "n1-b", "n1-c", "n1-d", "n1-e"] {
        let c = app(name, n1.url()).await;
        c.flush().await.unwrap();
        more.push(c);
    }
    pump(&mut s, &mut rx, &cmds, "the new rows listed above", |s| {
        pos_of(s, "n1-e").is_some_and(|p| p < pos_of(s, "watched-on-n2").unwrap_or(0))
    })
    .await;
    assert_eq!(s.conns.selected().map(|r| r.key()), Some(key), "the selection followed the row");
    assert_ne!(s.conns.table.selected, pos, "and the row moved");
}
