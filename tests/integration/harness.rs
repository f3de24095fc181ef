//! Shared test plumbing: real nats-servers in config mode with a system
//! account, running the real `warden` binary, and waiting on conditions.

use std::future::Future;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use warden_sandbox::nats_server::{NatsServer, free_port};

/// SYS (system account, user sys/sys) and APP (user app, password [`APP_PASSWORD`]).
pub const APP_PASSWORD: &str = "app-pw-7f3a";

pub const ACCOUNTS: &str = r#"
accounts {
  SYS { users = [ { user: sys, password: sys } ] }
  APP { users = [ { user: app, password: "app-pw-7f3a" } ] }
}
system_account: SYS
"#;

pub fn config_mode(dir: &Path, name: &str) -> NatsServer {
    NatsServer::start(dir, name, ACCOUNTS).expect("start nats-server")
}

/// Two servers joined by routes, both with the accounts above.
pub fn cluster(dir: &Path) -> (NatsServer, NatsServer) {
    let (r1, r2) = (free_port(), free_port());
    let body = |me: u16, peer: u16| format!("{ACCOUNTS}\n{}", cluster_block(me, peer));
    let a = NatsServer::start(dir, "n1", &body(r1, r2)).expect("start n1");
    let b = NatsServer::start(dir, "n2", &body(r2, r1)).expect("start n2");
    (a, b)
}

/// Runs the real binary with a clean environment: private XDG dirs, no
/// NATS_* variables from the developer's shell.
pub fn warden(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    warden_command(home, args, env).output().expect("run warden")
}

/// The real binary with a clean environment, not yet started (for tests
/// that stream its output).
pub fn warden_command(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn sys_env(url: &str) -> Vec<(&'static str, String)> {
    vec![("NATS_URL", url.to_string()), ("NATS_USER", "sys".into()), ("NATS_PASSWORD", "sys".into())]
}

/// Polls `f` until it yields `Some`, or panics after `limit` saying `what`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lines of a child's output stream, read on a thread of their own so a test
/// can wait for them with a deadline. The stream is drained to its end even
/// once the receiver is gone: closing the pipe under a running child would
/// kill it with a broken pipe on its next write.
pub fn lines_of(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::{BufRead, BufReader};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// `warden sandbox --headless` run as a child process, with what it printed.
/// Killed on drop if the test fails before `stop`.
pub struct HeadlessSandbox {
    child: Option<std::process::Child>,
    pub info: std::collections::HashMap<String, String>,
    pub home: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl HeadlessSandbox {
    /// Starts it with `extra` arguments and reads its `key: value` lines.
    pub fn start(extra: &[&str]) -> HeadlessSandbox {
        HeadlessSandbox::start_until(extra, "nats pid")
    }

    /// [`HeadlessSandbox::start`], reading lines until the `last` key.
    pub fn start_until(extra: &[&str], last: &str) -> HeadlessSandbox {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("world");
        let home = tmp.path().join("home");
        let mut args = vec!["sandbox", "--headless", "--dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(&args)
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let rx = lines_of(child.stdout.take().unwrap());
        let mut sb = HeadlessSandbox { child: Some(child), info: Default::default(), home, _tmp: tmp };
        while !sb.info.contains_key(last) {
            let line = rx.recv_timeout(Duration::from_secs(60)).expect("the sandbox prints how to reach it");
            if let Some((k, v)) = line.split_once(':').filter(|(k, _)| !k.starts_with(' ')) {
                sb.info.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        sb
    }

    /// WARDEN_CONFIG and KUBECONFIG, as a second warden uses them.
    pub fn env(&self) -> [(&'static str, &str); 2] {
        [("WARDEN_CONFIG", self.info["warden config"].as_str()), ("KUBECONFIG", self.info["kubeconfig"].as_str())]
    }

    /// Runs the real binary against the sandbox.
    pub fn warden(&self, args: &[&str]) -> Output {
        warden(&self.home, args, &self.env())
    }

    /// `field` of every connection in `warden report conns` (empty on failure).
    pub fn conns(&self, field: &str) -> Vec<String> {
        let out = self.warden(&["report", "conns", "-o", "json"]);
        if !out.status.success() {
            return vec![];
        }
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        rows.iter().filter_map(|r| r[field].as_str().map(str::to_string)).collect()
    }

    /// Waits until `user` is (or is no longer) among the connections' `field`.
    pub async fn wait_connected(&self, field: &str, user: &str, connected: bool) {
        let what = format!("{user} {}", if connected { "connected" } else { "gone" });
        eventually(Duration::from_secs(30), &what, || {
            let now = self.conns(field);
            async move { (!now.is_empty() && now.iter().any(|u| u == user) == connected).then_some(()) }
        })
        .await;
    }

    /// SIGTERM; the sandbox must exit cleanly and take nats-server with it.
    pub async fn stop(mut self) {
        // `nats pid`, or `nats pids` for several sites.
        let pids: Vec<i32> = self
            .info
            .get("nats pids")
            .or(self.info.get("nats pid"))
            .expect("pids printed")
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        // SAFETY: signal 0 only checks that the process exists.
        let running = move || pids.iter().filter(|&&pid| unsafe { libc::kill(pid, 0) == 0 }).count();
        let started = self.info.get("nats pids").or(self.info.get("nats pid")).unwrap().split_whitespace().count();
        assert_eq!(running(), started, "every nats-server runs until the sandbox stops");
        let mut child = self.child.take().unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "{status}");
        eventually(Duration::from_secs(10), "nats-server gone", || {
            let left = running();
            async move { (left == 0).then_some(()) }
        })
        .await;
    }
}

impl Drop for HeadlessSandbox {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            // SAFETY: signalling our own child (a no-op if it already exited).
            unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
        }
    }
}

/// The Kubernetes API double with warden's CRDs installed from
/// `deploy/crds/` (as `kubectl apply -f deploy/crds/` would): every write
/// is validated against their schemas, like on a real apiserver.
pub async fn strict_double(cfg: kube_double::KubeDoubleConfig) -> kube_double::KubeDouble {
    let double = kube_double::KubeDouble::start(cfg).await.expect("start the double");
    warden_sandbox::crds::install(&double.state()).expect("install deploy/crds");
    double
}

/// The strict double with the namespaces the JWT-mode Kubernetes tests use
/// (`shop` for the workloads).
pub async fn shop_double() -> kube_double::KubeDouble {
    let namespaces = ["default", "shop", "kube-system"].map(String::from).to_vec();
    strict_double(kube_double::KubeDoubleConfig { namespaces, ..Default::default() }).await
}

pub use kube_double::kubectl_on_path as kubectl_bin;

/// Runs kubectl with `--kubeconfig`, off the async runtime: (success,
/// stdout, stderr). Fails the test when kubectl is missing.
pub async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(kubectl_bin());
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("running kubectl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The repository's `deploy/` directory.
pub fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// The text of `deploy/rbac/<name>.yaml`.
pub fn rbac_role(name: &str) -> String {
    std::fs::read_to_string(deploy_dir().join(format!("rbac/{name}.yaml"))).expect("deploy/rbac role")
}

/// The console's loop minus the terminal, with the real workers: messages
/// go through `update`, commands through the console's own `route` (an
/// action can be held back, to race it against something else).
pub struct TestConsole {
    pub s: warden::app::state::AppState,
    pub rx: tokio::sync::mpsc::Receiver<warden::app::msg::Msg>,
    pub w: warden::ui::console::Workers,
    /// Actions are kept in `held` instead of sent while set.
    pub hold: bool,
    pub held: Vec<warden::app::msg::Cmd>,
    /// Every action the console asked for.
    pub sent: usize,
}

impl TestConsole {
    pub fn new(
        s: warden::app::state::AppState,
        rx: tokio::sync::mpsc::Receiver<warden::app::msg::Msg>,
        w: warden::ui::console::Workers,
    ) -> TestConsole {
        TestConsole { s, rx, w, hold: false, held: Vec::new(), sent: 0 }
    }

    pub fn dispatch(&mut self, cmds: Vec<warden::app::msg::Cmd>) {
        for c in cmds {
            if matches!(c, warden::app::msg::Cmd::Action(_)) {
                self.sent += 1;
                if self.hold {
                    self.held.push(c);
                    continue;
                }
            }
            warden::ui::console::route(c, &self.w);
        }
    }

    pub fn key(&mut self, code: ratatui::crossterm::event::KeyCode) {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let m = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        let out = warden::app::update::update(&mut self.s, warden::app::msg::Msg::Key(KeyEvent::new(code, m)));
        self.dispatch(out.cmds);
    }

    pub fn type_line(&mut self, text: &str) {
        use ratatui::crossterm::event::KeyCode;
        for ch in text.chars() {
            self.key(KeyCode::Char(ch));
        }
        self.key(KeyCode::Enter);
    }

    /// Selects the Identities row of workload `wf`.
    pub fn select(&mut self, wf: &str) {
        let t = &self.s.identities.table;
        let pos = t.visible.iter().position(|&i| self.s.identities.rows[i].workload == wf).expect("row");
        self.s.identities.table.selected = pos;
    }

    /// Runs the open progress dialog to its end; its steps as lines.
    pub async fn finished(&mut self) -> Vec<String> {
        use warden::app::dialog::model::Dialog;
        self.until("the action to finish", |s| matches!(&s.dialog, Some(Dialog::Progress { done: Some(_), .. }))).await;
        let Some(Dialog::Progress { steps, .. }) = self.s.dialog.take() else { unreachable!() };
        steps
            .iter()
            .map(|s| match &s.result {
                Ok(d) => format!("ok {}: {d}", s.step),
                Err(e) => format!("FAIL {}: {e}", s.step),
            })
            .collect()
    }

    /// Applies messages until `done` holds; panics after 30 s saying what
    /// the console showed.
    pub async fn until(&mut self, what: &str, done: impl Fn(&warden::app::state::AppState) -> bool) {
        self.until_within(Duration::from_secs(30), what, done).await
    }

    pub async fn until_within(
        &mut self,
        limit: Duration,
        what: &str,
        done: impl Fn(&warden::app::state::AppState) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.s) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(msg)) => {
                    let out = warden::app::update::update(&mut self.s, msg);
                    self.dispatch(out.cmds);
                }
                _ => panic!(
                    "timed out after {limit:?} waiting for {what}; identities: {:#?}; violations: {:#?}; \
                     kube: {:?}; dialog: {:?}; status: {:?}",
                    self.s
                        .identities
                        .rows
                        .iter()
                        .map(|r| (r.name(), &r.user, r.state.as_str(), r.connections))
                        .collect::<Vec<_>>(),
                    self.s.violations.live.newest().map(|r| (&r.identity, &r.violation.subject)).collect::<Vec<_>>(),
                    self.s.kube.link,
                    self.s.dialog,
                    self.s.status
                ),
            }
        }
    }
}

/// `report spire -o json` is an array of records with a `kind`; the records
/// of each kind under its table's name (`entries`, `cluster_spiffe_ids`,
/// `agents`), for assertions, and whether the report exited 0 (`ok`).
pub fn spire_by_kind(array: &serde_json::Value, ok: bool) -> serde_json::Value {
    let of = |kind: &str| {
        serde_json::Value::Array(
            array.as_array().expect("an array").iter().filter(|r| r["kind"] == kind).cloned().collect(),
        )
    };
    serde_json::json!({
        "entries": of("entry"),
        "cluster_spiffe_ids": of("clusterspiffeid"),
        "cluster_static_entries": of("clusterstaticentry"),
        "agents": of("agent"),
        "ok": ok,
    })
}

/// Applies the worker's messages to `s` until `done` holds (20 s at most).
pub async fn pump(
    s: &mut warden::app::state::AppState,
    rx: &mut tokio::sync::mpsc::Receiver<warden::app::msg::Msg>,
    what: &str,
    done: impl Fn(&warden::app::state::AppState) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(s) {
        let msg =
            tokio::time::timeout_at(deadline, rx.recv()).await.unwrap_or_else(|_| panic!("timed out: {what}")).unwrap();
        warden::app::update::update(s, msg);
    }
}

/// The findings of a doctor report with `code`.
pub fn findings_of<'a>(v: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    v["findings"].as_array().map(|a| a.iter().filter(|f| f["code"] == code).collect()).unwrap_or_default()
}

/// `cluster { ... }` joining this server (route port `me`) to `peer`.
pub fn cluster_block(me: u16, peer: u16) -> String {
    format!("cluster {{ name: c1, listen: \"127.0.0.1:{me}\", routes: [\"nats-route://127.0.0.1:{peer}\"] }}\n")
}

/// Asserts a `warden doctor -o json` read every site's cluster: a site that
/// could not be read is no comparison.
pub fn assert_every_cluster_read(v: &serde_json::Value) {
    let unread: Vec<&serde_json::Value> = v["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u.as_str().is_some_and(|u| u.contains("natsidentities") || u.contains("Kubernetes")))
        .collect();
    assert!(unread.is_empty(), "{unread:?}");
}
