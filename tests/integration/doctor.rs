//! `warden doctor` and `warden check` through the real binary against real
//! nats-servers: each finding appears when its cause is present and goes
//! when it is fixed; check exit codes; Prometheus output parsed back.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use warden_sandbox::nats_server::NatsServer;

use crate::harness::{eventually, sys_env, warden};

const LIMIT: Duration = Duration::from_secs(20);

/// SYS holds warden's `sys` and a batch job that does not belong there.
const SYS_WITH_BATCH: &str = r#"
accounts {
  SYS { users = [ { user: sys, password: sys }, { user: batch, password: batch-pw } ] }
  APP { users = [ { user: app, password: app-pw } ] }
}
system_account: SYS
"#;

fn env_of(url: &str) -> Vec<(&'static str, String)> {
    sys_env(url)
}

fn doctor_json(home: &std::path::Path, url: &str) -> Value {
    let env = env_of(url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = warden(home, &["doctor", "-o", "json"], &env);
    assert!(out.status.success(), "doctor failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("doctor JSON")
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

fn check(home: &std::path::Path, url: &str, args: &[&str]) -> (i32, String) {
    let env = env_of(url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut a = vec!["check"];
    a.extend_from_slice(args);
    let out = warden(home, &a, &env);
    (out.status.code().expect("exit code"), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Text exposition format parsed back: `name{labels} value` per sample,
/// `# HELP`/`# TYPE` once per name before its samples.
fn parse_prometheus(text: &str) -> Vec<(String, HashMap<String, String>, f64)> {
    let mut typed = std::collections::HashSet::new();
    let mut samples = vec![];
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert_eq!(kind, "gauge");
            assert!(typed.insert(name.to_string()), "TYPE twice for {name}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), HashMap::new()),
            Some((n, l)) => {
                let l = l.strip_suffix('}').expect("labels close");
                let mut m = HashMap::new();
                for pair in l.split("\",").map(|p| p.trim_end_matches('"')) {
                    let (k, v) = pair.split_once("=\"").expect("label k=\"v\"");
                    m.insert(k.to_string(), v.to_string());
                }
                (n.to_string(), m)
            }
        };
        assert!(typed.contains(&name), "sample before its TYPE: {line}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "metric name {name}");
        samples.push((name, labels, value));
    }
    samples
}

#[tokio::test]
async fn a_workload_in_the_system_account_is_found_until_it_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", SYS_WITH_BATCH).expect("start");
    let home = dir.path().join("home");
    let url = server.url();

    // Clean: warden's own sys user is not a finding; exit 0.
    let v = doctor_json(&home, &url);
    assert!(codes(&v).is_empty(), "{v:#}");
    let (code, out) = check(&home, &url, &["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("WARDEN DOCTOR OK: 0 critical, 0 warning"), "{out}");

    // The batch job connects in SYS.
    let batch = async_nats::ConnectOptions::with_user_and_password("batch".into(), "batch-pw".into())
        .name("nightly-batch")
        .connect(&url)
        .await
        .expect("batch connects");
    let v = doctor_json(&home, &url);
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "sys-account-workload").expect("found");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["objects"][1], "user batch", "{f:#}");
    assert!(f["evidence"].as_str().unwrap().contains("nightly-batch"), "{f:#}");
    assert_eq!(codes(&v), vec!["sys-account-workload"], "only this one: {v:#}");

    let (code, out) = check(&home, &url, &["doctor"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("WARDEN DOCTOR CRITICAL: 1 critical"), "{out}");
    assert!(out.contains("sys-account-workload"), "{out}");

    let (code, out) = check(&home, &url, &["doctor", "--format", "prometheus"]);
    assert_eq!(code, 2);
    let samples = parse_prometheus(&out);
    let status = samples.iter().find(|(n, l, _)| n == "warden_check_status" && l["check"] == "doctor").expect("status");
    assert_eq!(status.2, 2.0);
    let by_code = samples
        .iter()
        .find(|(n, l, _)| {
            n == "warden_doctor_finding" && l.get("code").map(String::as_str) == Some("sys-account-workload")
        })
        .expect("per-code sample");
    assert_eq!((by_code.1["severity"].as_str(), by_code.2), ("critical", 1.0));

    let (code, out) = check(&home, &url, &["doctor", "--format", "json"]);
    let j: Value = serde_json::from_str(&out).expect("check JSON");
    assert_eq!((code, j["status"].as_str(), j["status_code"].as_u64()), (2, Some("CRITICAL"), Some(2)));

    // Gone once it leaves.
    batch.drain().await.expect("drain");
    eventually(LIMIT, "the finding to go after the batch job left", || {
        let v = doctor_json(&home, &url);
        async move { codes(&v).is_empty().then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_no_auth_user_is_reported_as_no_auth_and_fixed_by_removing_it() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{SYS_WITH_BATCH}\nno_auth_user: app\n");
    let mut server = NatsServer::start(dir.path(), "n1", &body).expect("start");
    let home = dir.path().join("home");
    let url = server.url();
    let v = doctor_json(&home, &url);
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["code"] == "no-auth").expect("no-auth found");
    assert!(f["evidence"].as_str().unwrap().contains("no_auth_user"), "{f:#}");
    let (code, _) = check(&home, &url, &["doctor"]);
    assert_eq!(code, 2);

    server.rewrite_config(SYS_WITH_BATCH).expect("rewrite");
    server.restart().expect("restart");
    let url = server.url();
    eventually(LIMIT, "no-auth to go once no_auth_user is removed", || {
        let v = doctor_json(&home, &url);
        async move { (!codes(&v).contains(&"no-auth".to_string())).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn checks_say_unknown_or_critical_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let port = warden_sandbox::nats_server::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let (code, out) = check(&home, &url, &["connection"]);
    assert_eq!(code, 2, "a refused connection is CRITICAL: {out}");
    assert!(out.starts_with("WARDEN CONNECTION CRITICAL: connecting failed"), "{out}");
    let (code, out) = check(&home, &url, &["doctor"]);
    assert_eq!(code, 3, "nothing to examine is UNKNOWN: {out}");
    assert!(out.starts_with("WARDEN DOCTOR UNKNOWN"), "{out}");

    let server = NatsServer::start(dir.path(), "n1", SYS_WITH_BATCH).expect("start");
    let (code, out) = check(&home, &server.url(), &["connection", "--format", "prometheus"]);
    assert_eq!(code, 0, "{out}");
    let samples = parse_prometheus(&out);
    assert!(samples.iter().any(|(n, _, v)| n == "warden_connection_connect_seconds" && *v > 0.0), "{out}");
}

/// The sandbox's seeded world through `warden trace` and `warden check expiry`.
#[tokio::test(flavor = "multi_thread")]
async fn trace_verdicts_and_the_expiry_check_on_the_sandbox() {
    let sb = crate::harness::HeadlessSandbox::start(&[]);
    sb.wait_connected("user_name", "tentacle.tent-dev.hn-digest", true).await;
    let out = sb.warden(&["trace", "tent-prod/old-batch"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a broken link exits 1: {text}");
    assert!(text.contains("verdict: user JWT: JWT expired"), "{text}");
    let out = sb.warden(&["trace", "tent-dev/hn-digest", "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["verdict"], "healthy", "{t:#}");
    assert!(t["links"].as_array().unwrap().iter().all(|l| l["state"] == "ok"), "{t:#}");
    // The ClusterSPIFFEID's pods, listed by their workload label.
    let pods = t["links"].as_array().unwrap().iter().find(|l| l["name"] == "pods").expect("a pods link");
    assert!(pods["detail"].as_str().unwrap().starts_with("1 running: hn-digest-7d9f"), "{pods:#}");

    let out = sb.warden(&["check", "expiry"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "an expired user JWT is CRITICAL: {text}");
    assert!(text.starts_with("WARDEN EXPIRY CRITICAL"), "{text}");
    assert!(text.contains("tent-prod/old-batch expired"), "{text}");

    let out = sb.warden(&["doctor", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for code in ["registration-without-authz", "user-jwt-no-expiry"] {
        assert!(codes(&v).iter().any(|c| c == code), "{code} missing: {v:#}");
    }
    sb.stop().await;
}

/// Two sites (two Kubernetes API doubles, one NATS): a NatsIdentity one
/// site has and the other lacks is a finding until the other has it too.
#[tokio::test(flavor = "multi_thread")]
async fn sites_are_compared_and_the_missing_record_found() {
    use kube_double::KubeDoubleConfig;
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(dir.path(), "n1", SYS_WITH_BATCH).expect("start");
    let (mut clusters, mut contexts, mut users) = (String::new(), String::new(), String::new());
    let mut doubles = Vec::new();
    for name in ["east", "west"] {
        let cfg = KubeDoubleConfig { namespaces: vec!["default".into(), "shop".into()], ..Default::default() };
        let token = cfg.token.clone();
        let d = crate::harness::strict_double(cfg).await;
        clusters.push_str(&format!(
            "- name: c-{name}\n  cluster:\n    server: \"{}\"\n    certificate-authority-data: \"{}\"\n",
            d.url(),
            d.ca_data()
        ));
        contexts.push_str(&format!("- name: {name}\n  context:\n    cluster: c-{name}\n    user: u-{name}\n"));
        users.push_str(&format!("- name: u-{name}\n  user:\n    token: \"{token}\"\n"));
        doubles.push(d);
    }
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}current-context: east\nusers:\n{users}"),
    )
    .unwrap();
    let record = |publish: &str| {
        json!({
            "apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
            "metadata": {"name": "orders", "namespace": "shop"},
            "spec": {"workload": "orders", "account": "APP", "publish": [publish]}
        })
    };
    doubles[0].state().upsert(record("tentacular.shop.orders.>")).unwrap();

    let home = dir.path().join("home");
    let kc = kubeconfig.display().to_string();
    let run = || {
        let mut env = env_of(&server.url());
        env.push(("KUBECONFIG", kc.clone()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = warden(&home, &["doctor", "-o", "json", "--site", "east=east", "--site", "west=west"], &env);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        crate::harness::assert_every_cluster_read(&v);
        v["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "site-drift").cloned().collect::<Vec<_>>()
    };
    let drift = run();
    assert_eq!(drift.len(), 1, "{drift:#?}");
    assert_eq!(drift[0]["summary"], "NatsIdentity shop/orders is missing at west");
    assert_eq!(drift[0]["evidence"], "present at east");

    // West gets it, but with other subjects: still drift, now "differs".
    doubles[1].state().upsert(record("tentacular.shop.other.>")).unwrap();
    let drift = run();
    assert_eq!(drift.len(), 1, "{drift:#?}");
    assert_eq!(drift[0]["summary"], "NatsIdentity shop/orders differs between sites");
    // The same everywhere: no drift.
    doubles[1].state().upsert(record("tentacular.shop.orders.>")).unwrap();
    assert!(run().is_empty());
}
