//! `warden sandbox --headless` end to end: the real binary starts the world;
//! warden's own reports, kubectl and warden's identity actions reach it
//! through the files it prints; approving a pending identity makes its
//! simulated workload connect; revoking one disconnects it; nothing is left
//! running after SIGTERM.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{eventually, warden};

fn users(home: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let out = warden(home, &["report", "conns", "-o", "json"], env);
    if !out.status.success() {
        return vec![];
    }
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.iter().filter_map(|r| r["user_name"].as_str().map(str::to_string)).collect()
}

/// Kills the sandbox if the test fails before it stops it.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: signalling our own child (a no-op if it already exited).
        unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_sandbox_is_reachable_acts_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("world");
    let home = tmp.path().join("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["sandbox", "--headless", "--dir", dir.to_str().unwrap()])
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(child.id());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut info = HashMap::new();
    while !info.contains_key("nats pid") {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the sandbox prints how to reach it");
        if let Some((k, v)) = line.split_once(':').filter(|(k, _)| !k.starts_with(' ')) {
            info.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let config = info["warden config"].clone();
    let kubeconfig = info["kubeconfig"].clone();
    let nats_pid: u32 = info["nats pid"].parse().unwrap();
    let env = [("WARDEN_CONFIG", config.as_str()), ("KUBECONFIG", kubeconfig.as_str())];

    // Warden's own report sees the simulated workloads.
    eventually(Duration::from_secs(30), "steady workloads connected", || {
        let u = users(&home, &env);
        async move { u.contains(&"tentacle.tent-dev.hn-digest".to_string()).then_some(()) }
    })
    .await;
    assert!(!users(&home, &env).contains(&"tentacle.tent-dev.new-scraper".to_string()), "pending is not connected yet");

    // kubectl works against the double.
    if let Ok(out) = Command::new("kubectl")
        .args(["--kubeconfig", &kubeconfig, "get", "natsidentities", "-A", "-o", "name"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("natsidentity.warden.dev/new-scraper"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    } else {
        eprintln!("kubectl not on PATH: skipped the kubectl check");
    }

    // Approve the pending identity: its workload connects by itself.
    let out = warden(&home, &["identity", "approve", "tent-dev/new-scraper"], &env);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eventually(Duration::from_secs(30), "approved workload connected", || {
        let u = users(&home, &env);
        async move { u.contains(&"tentacle.tent-dev.new-scraper".to_string()).then_some(()) }
    })
    .await;

    // Revoke a steady one: it is disconnected and stays out.
    let out = warden(&home, &["identity", "revoke", "tent-dev/hn-digest", "--account", "APP"], &env);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eventually(Duration::from_secs(30), "revoked workload gone", || {
        let u = users(&home, &env);
        async move { (!u.is_empty() && !u.contains(&"tentacle.tent-dev.hn-digest".to_string())).then_some(()) }
    })
    .await;

    // SIGTERM: the sandbox stops and takes nats-server with it.
    assert!(alive(nats_pid));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    drop(guard);
    assert!(status.success(), "{status}");
    eventually(Duration::from_secs(10), "nats-server gone", || async move { (!alive(nats_pid)).then_some(()) }).await;
}
