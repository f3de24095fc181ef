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
    let out = Command::new(crate::harness::kubectl_bin())
        .args(["--kubeconfig", &kubeconfig, "get", "natsidentities", "-A", "-o", "name"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success() && t.contains("natsidentity.warden.dev/new-scraper"), "{t}");
    // The token is in the sandbox's private kubeconfig only (0600), and
    // without it the API answers 401.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text_kc = std::fs::read_to_string(&kubeconfig).unwrap();
    let token_line = text_kc.lines().find(|l| l.trim_start().starts_with("token:")).expect("a token").to_string();
    let token = token_line.split_once(':').unwrap().1.trim().trim_matches('"').to_string();
    assert!(token.len() >= 32, "a random token");
    assert!(!sb.info.values().any(|v| v.contains(&token)), "the token is printed");
    let anonymous = std::path::Path::new(&kubeconfig).with_file_name("anonymous-kubeconfig");
    std::fs::write(&anonymous, text_kc.replace(&token_line, "    token: \"not-the-token\"")).unwrap();
    let out = Command::new(crate::harness::kubectl_bin())
        .args(["--kubeconfig", anonymous.to_str().unwrap(), "get", "natsidentities", "-A"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success() && t.contains("Unauthorized"), "{t}");

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
