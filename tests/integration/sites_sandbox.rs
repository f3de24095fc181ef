//! `warden sandbox --sites 3 --headless` end to end: three nats-servers
//! joined by gateways into one supercluster and three Kubernetes API
//! doubles; `warden doctor` (the real binary, with the config and
//! kubeconfig the sandbox prints) sees every server through one system
//! connection, names the drifted site's missing NatsIdentity and its older
//! account JWT, and finds nothing once both are fixed the way an operator
//! would (kubectl, a claims update); SIGTERM stops all three servers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use warden_core::nats::sys::SysClient;

use crate::harness::{HeadlessSandbox, eventually, kubectl};

const LIMIT: Duration = Duration::from_secs(60);

fn doctor(sb: &HeadlessSandbox) -> Vec<Value> {
    let out = sb.warden(&["doctor", "-o", "json"]);
    assert!(out.status.success(), "doctor failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("doctor JSON");
    crate::harness::assert_every_cluster_read(&v);
    v["findings"].as_array().unwrap().clone()
}

fn with_code<'a>(findings: &'a [Value], code: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["code"] == code).collect()
}

fn names_site(f: &Value, site: &str) -> bool {
    f["objects"].as_array().unwrap().iter().any(|o| o == &Value::String(format!("site {site}")))
}

/// The URL of `site`'s own server, from its `site NAME: nats URL ...` line.
fn site_url(sb: &HeadlessSandbox, site: &str) -> String {
    let line = &sb.info[&format!("site {site}")];
    line.split_whitespace().nth(1).expect("site line: nats URL").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_sites_one_supercluster_drift_found_then_fixed() {
    let sb = HeadlessSandbox::start_until(&["--sites", "3"], "nats pids");
    for site in ["east", "west", "south"] {
        let line = &sb.info[&format!("site {site}")];
        assert!(
            line.contains(&format!("server nats-{site}")) && line.contains(&format!("kube context {site}")),
            "{line}"
        );
    }
    assert_eq!(sb.info["drifted site"], "south");
    assert_eq!(sb.info["missing record"], "payments/settlement");
    assert_eq!(sb.info["nats pids"].split_whitespace().count(), 3);

    // One system connection (the config's URL is east's server) sees every
    // server, each in the cluster named after its site (the gateway name).
    let out = sb.warden(&["report", "servers", "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let clusters: BTreeMap<String, String> = rows
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["cluster"].as_str().unwrap().to_string()))
        .collect();
    let want: BTreeMap<String, String> =
        ["east", "west", "south"].iter().map(|s| (format!("nats-{s}"), s.to_string())).collect();
    assert_eq!(clusters, want);

    // The drift, as doctor reports it once every site's workloads run.
    let findings = eventually(LIMIT, "site-drift and account-jwt-drift naming south", || {
        let f = doctor(&sb);
        let record = with_code(&f, "site-drift")
            .iter()
            .any(|d| d["summary"] == "NatsIdentity payments/settlement is missing at south" && names_site(d, "south"));
        let jwt = with_code(&f, "account-jwt-drift").iter().any(|d| {
            d["evidence"].as_str().is_some_and(|e| e.contains("older JWT served by nats-south"))
                && d["summary"] == "account APP JWT differs between servers"
        });
        let account = with_code(&f, "site-drift").iter().any(|d| {
            d["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("account APP (") && s.ends_with("differs between sites"))
                && names_site(d, "south")
        });
        async move { (record && jwt && account).then_some(f) }
    })
    .await;
    // Only south is behind: the other sites hold the same JWT, and the
    // servers named stale are south's only.
    for d in with_code(&findings, "account-jwt-drift") {
        let e = d["evidence"].as_str().unwrap();
        let (older, _newest) = e.split_once("; the newest").unwrap_or((e, ""));
        assert_eq!(older, "older JWT served by nats-south", "{d:#}");
    }
    let account = with_code(&findings, "site-drift")
        .into_iter()
        .find(|d| d["summary"].as_str().unwrap().starts_with("account APP"))
        .unwrap();
    let evidence = account["evidence"].as_str().unwrap();
    let groups: Vec<&str> = evidence.split("; ").map(|g| g.split(':').next().unwrap()).collect();
    assert!(groups.contains(&"east, west") && groups.contains(&"south"), "{evidence}");

    // Fix 1: copy the record from east to south with kubectl.
    let kubeconfig = Path::new(&sb.info["kubeconfig"]).to_path_buf();
    let (ok, json, err) = kubectl(
        &kubeconfig,
        &["--context", "east", "get", "natsidentity", "-n", "payments", "settlement", "-o", "json"],
    )
    .await;
    assert!(ok, "{err}");
    let obj: Value = serde_json::from_str(&json).unwrap();
    let copy = serde_json::json!({
        "apiVersion": obj["apiVersion"], "kind": obj["kind"],
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"]},
        "spec": obj["spec"],
    });
    let file = sb.home.join("settlement.json");
    std::fs::create_dir_all(&sb.home).unwrap();
    std::fs::write(&file, copy.to_string()).unwrap();
    let (ok, _, err) = kubectl(&kubeconfig, &["--context", "south", "create", "-f", file.to_str().unwrap()]).await;
    assert!(ok, "{err}");

    // Fix 2: push the newest APP JWT to every server (south's resolver
    // keeps it: it is newer than the one it holds).
    let sys = async_nats::ConnectOptions::with_credentials_file(&sb.info["system creds"])
        .await
        .unwrap()
        .connect(site_url(&sb, "west"))
        .await
        .expect("system account connects at west");
    let (records, errors) =
        warden_core::nats::accounts::fetch_all(&SysClient::new(sys.clone()), &Default::default()).await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let app = records.iter().find(|r| r.name() == "APP").expect("APP");
    let replies = warden_core::nats::claims_update::push_account_jwt(
        &sys,
        &app.jwt,
        Duration::from_millis(300),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let ok: Vec<&str> = replies.iter().filter(|r| r.is_ok()).map(|r| r.server.name.as_str()).collect();
    assert!(ok.contains(&"nats-south"), "south took the update: {replies:?}");

    eventually(LIMIT, "no drift left", || {
        let f = doctor(&sb);
        let left: Vec<Value> =
            f.into_iter().filter(|d| d["code"] == "site-drift" || d["code"] == "account-jwt-drift").collect();
        async move { left.is_empty().then_some(()) }
    })
    .await;

    sb.stop().await;
}
