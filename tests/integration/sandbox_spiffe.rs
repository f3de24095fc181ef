//! `warden sandbox --headless --mode spiffe` end to end: the real binary
//! starts a `verify_and_map` nats-server, the Kubernetes API double with the
//! authorization ConfigMap, and workloads holding X.509 SVIDs; warden's
//! report (through the config file it wrote: TLS with warden's own SVID)
//! sees them by SPIFFE ID; approving the pending identity lets its workload
//! in; revoking one shuts it out; nothing is left running after SIGTERM.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{eventually, warden};

const HN_DIGEST: &str = "spiffe://tentacular.local/ns/tent-dev/wf/hn-digest";
const NEW_SCRAPER: &str = "spiffe://tentacular.local/ns/tent-dev/wf/new-scraper";

/// The `authorized_user` of every connection (empty when the report fails).
fn users(home: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let out = warden(home, &["report", "conns", "-o", "json"], env);
    if !out.status.success() {
        return vec![];
    }
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.iter().filter_map(|r| r["authorized_user"].as_str().map(str::to_string)).collect()
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

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_spiffe_sandbox_is_reachable_acts_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("world");
    let home = tmp.path().join("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["sandbox", "--headless", "--mode", "spiffe", "--dir", dir.to_str().unwrap()])
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
    assert_eq!(info["mode"], "spiffe", "{info:?}");
    assert!(info["NATS URL"].starts_with("tls://"), "{info:?}");
    let config = info["warden config"].clone();
    let kubeconfig = info["kubeconfig"].clone();
    let nats_pid: u32 = info["nats pid"].parse().unwrap();
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains("mode = \"spiffe\"") && written.contains("trust_domain = \"tentacular.local\""),
        "{written}"
    );
    let env = [("WARDEN_CONFIG", config.as_str()), ("KUBECONFIG", kubeconfig.as_str())];

    // warden's report (TLS with its own SVID) sees the workloads by SPIFFE ID.
    eventually(Duration::from_secs(30), "active workloads connected", || {
        let u = users(&home, &env);
        async move { u.iter().any(|u| u == HN_DIGEST).then_some(()) }
    })
    .await;
    assert!(!users(&home, &env).iter().any(|u| u == NEW_SCRAPER), "pending is not connected yet");

    // Approve (the mode comes from the config): the pending workload, which
    // kept retrying with its SVID, gets in after the reload.
    let out = warden(&home, &["identity", "approve", "tent-dev/new-scraper"], &env);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ok    reload nats-0"), "{}", text(&out));
    eventually(Duration::from_secs(30), "approved workload connected", || {
        let u = users(&home, &env);
        async move { u.iter().any(|u| u == NEW_SCRAPER).then_some(()) }
    })
    .await;

    // Revoke an active one: its connection closes and its retries are refused.
    let out = warden(&home, &["identity", "revoke", "tent-dev/hn-digest"], &env);
    assert!(out.status.success(), "{}", text(&out));
    eventually(Duration::from_secs(30), "revoked workload gone", || {
        let u = users(&home, &env);
        async move { (!u.is_empty() && !u.iter().any(|u| u == HN_DIGEST)).then_some(()) }
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
