//! `warden sandbox --headless --mode spiffe` end to end: the real binary
//! starts a `verify_and_map` nats-server, the Kubernetes API double with the
//! authorization ConfigMap, and workloads holding X.509 SVIDs; warden's
//! report (through the config file it wrote: TLS with warden's own SVID)
//! sees them by SPIFFE ID; approving the pending identity lets its workload
//! in; revoking one shuts it out; nothing is left running after SIGTERM.

use crate::harness::HeadlessSandbox;

const HN_DIGEST: &str = "spiffe://tentacular.local/ns/tent-dev/wf/hn-digest";
const NEW_SCRAPER: &str = "spiffe://tentacular.local/ns/tent-dev/wf/new-scraper";

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_spiffe_sandbox_is_reachable_acts_and_cleans_up() {
    let sb = HeadlessSandbox::start(&["--mode", "spiffe"]);
    let info = &sb.info;
    assert_eq!(info["mode"], "spiffe", "{info:?}");
    assert!(info["NATS URL"].starts_with("tls://"), "{info:?}");
    let written = std::fs::read_to_string(&info["warden config"]).unwrap();
    assert!(
        written.contains("mode = \"spiffe\"") && written.contains("trust_domain = \"tentacular.local\""),
        "{written}"
    );

    // warden's report (TLS with its own SVID) sees the workloads by SPIFFE ID.
    sb.wait_connected("authorized_user", HN_DIGEST, true).await;
    assert!(!sb.conns("authorized_user").iter().any(|u| u == NEW_SCRAPER), "pending is not connected yet");

    // Approve (the mode comes from the config): the pending workload, which
    // kept retrying with its SVID, gets in after the reload.
    let out = sb.warden(&["identity", "approve", "tent-dev/new-scraper"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ok    reload nats-0"), "{}", text(&out));
    sb.wait_connected("authorized_user", NEW_SCRAPER, true).await;

    // Revoke an active one: its connection closes and its retries are refused.
    let out = sb.warden(&["identity", "revoke", "tent-dev/hn-digest"]);
    assert!(out.status.success(), "{}", text(&out));
    sb.wait_connected("authorized_user", HN_DIGEST, false).await;

    sb.stop().await;
}
