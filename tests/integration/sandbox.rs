//! `warden sandbox --headless` end to end: the real binary starts the world;
//! warden's own reports, kubectl and warden's identity actions reach it
//! through the files it prints; approving a pending identity makes its
//! simulated workload connect; revoking one disconnects it; nothing is left
//! running after SIGTERM.

use std::process::Command;

use crate::harness::HeadlessSandbox;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_sandbox_is_reachable_acts_and_cleans_up() {
    let sb = HeadlessSandbox::start(&[]);
    // Warden's own report sees the simulated workloads (by their JWT name).
    sb.wait_connected("user_name", "tentacle.tent-dev.hn-digest", true).await;
    assert!(
        !sb.conns("user_name").iter().any(|u| u == "tentacle.tent-dev.new-scraper"),
        "pending is not connected yet"
    );

    // kubectl works against the double.
    let kubeconfig = sb.info["kubeconfig"].clone();
    if let Ok(out) = Command::new("kubectl")
        .args(["--kubeconfig", &kubeconfig, "get", "natsidentities", "-A", "-o", "name"])
        .output()
    {
        let t = text(&out);
        assert!(t.contains("natsidentity.warden.dev/new-scraper"), "{t}");
    } else {
        eprintln!("kubectl not on PATH: skipped the kubectl check");
    }

    // Approve the pending identity: its workload connects by itself.
    let out = sb.warden(&["identity", "approve", "tent-dev/new-scraper"]);
    assert!(out.status.success(), "{}", text(&out));
    sb.wait_connected("user_name", "tentacle.tent-dev.new-scraper", true).await;

    // Revoke a steady one: it is disconnected and stays out.
    let out = sb.warden(&["identity", "revoke", "tent-dev/hn-digest", "--account", "APP"]);
    assert!(out.status.success(), "{}", text(&out));
    sb.wait_connected("user_name", "tentacle.tent-dev.hn-digest", false).await;

    sb.stop().await;
}
