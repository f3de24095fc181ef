//! Shared test plumbing: real nats-servers in config mode with a system
//! account, running the real `warden` binary, and waiting on conditions.

use std::future::Future;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use warden::sandbox::nats_server::{NatsServer, free_port};

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
    let body = |me: u16, peer: u16| {
        format!(
            "{ACCOUNTS}\ncluster {{ name: c1, listen: \"127.0.0.1:{me}\", routes: [\"nats-route://127.0.0.1:{peer}\"] }}\n"
        )
    };
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
