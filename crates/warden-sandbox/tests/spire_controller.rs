//! The spire-controller emulation against the Kubernetes API double:
//! entries for the ClusterSPIFFEIDs of its class only, status stats, and
//! removal (pkg/spireentry/reconciler.go behaviour).

use std::time::Duration;

use kube_double::{KubeDouble, KubeDoubleConfig, KubeState};
use serde_json::{Value, json};
use warden_sandbox::scenario::running_pod;
use warden_sandbox::spire_controller::{ControllerConfig, SpireController, node_uid};

const API: &str = "spire.spiffe.io/v1alpha1";

/// The entries `spire-server entry show -output json` prints (via the
/// double's exec emulation state).
async fn entries(double: &KubeDouble) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kc, "t").unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kc).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, "spire-server");
    let ap = kube::api::AttachParams::default().container("spire-server").stdin(false).stdout(true).stderr(false);
    let mut p = pods.exec("spire-server-0", ["spire-server", "entry", "show", "-output", "json"], &ap).await.unwrap();
    let mut out = String::new();
    use tokio::io::AsyncReadExt;
    p.stdout().unwrap().read_to_string(&mut out).await.unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    v["entries"].as_array().cloned().unwrap_or_default()
}

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn seed(k: &KubeState) {
    warden_sandbox::crds::install(k).unwrap();
    k.add_pod("spire-server", "spire-server-0", &[], &["spire-server"]);
    for (i, name) in ["w-1", "w-2", "w-3"].iter().enumerate() {
        let labels = json!({"app": "w"});
        k.upsert(running_pod("apps", name, &labels, ["node-a", "node-b"][i % 2])).unwrap();
    }
    k.upsert(running_pod("other", "x-1", &json!({"app": "x"}), "node-a")).unwrap();
}

fn csid(name: &str, class: &str) -> Value {
    json!({"apiVersion": API, "kind": "ClusterSPIFFEID", "metadata": {"name": name},
           "spec": {"className": class, "ttl": "1h",
                    "spiffeIDTemplate": "spiffe://td.test/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}/{{ .PodMeta.Name }}",
                    "podSelector": {"matchLabels": {"app": "w"}},
                    "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["apps"]}]}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_entries_for_its_class_only_and_removes_them_on_delete() {
    let double = KubeDouble::start(KubeDoubleConfig::default()).await.unwrap();
    let k = double.state();
    seed(&k);
    let cfg = ControllerConfig::chart_default("td.test");
    let ctl = SpireController::spawn(k.clone(), cfg.clone());
    let synced = ctl.synced();
    let reconciled =
        async |rv: u64| wait_for("a pass that saw the write", async || (*synced.borrow() >= rv).then_some(())).await;

    // Another class: after a pass that saw it, no entry and no status.
    k.upsert(csid("theirs", "other-class")).unwrap();
    reconciled(k.resource_version()).await;
    assert!(entries(&double).await.is_empty());
    assert!(k.get(API, "ClusterSPIFFEID", "", "theirs").unwrap()["status"].get("stats").is_none());

    // Its class: one entry per selected pod, stats written.
    k.upsert(csid("mine", &cfg.class_name)).unwrap();
    let stats = wait_for("stats", async || {
        let o = k.get(API, "ClusterSPIFFEID", "", "mine")?;
        o["status"]["stats"].is_object().then(|| o["status"]["stats"].clone())
    })
    .await;
    assert_eq!(
        stats,
        json!({"namespacesSelected": 1, "namespacesIgnored": 0, "podsSelected": 3, "podEntryRenderFailures": 0,
               "entriesMasked": 0, "entriesToSet": 3, "entryFailures": 0})
    );
    let es = wait_for("3 entries", async || Some(entries(&double).await).filter(|e| e.len() == 3)).await;
    let w1 = es.iter().find(|e| e["spiffe_id"]["path"] == "/ns/apps/sa/default/w-1").expect("w-1's entry");
    let pod = k.get("v1", "Pod", "apps", "w-1").unwrap();
    assert_eq!(
        w1["selectors"],
        json!([{"type": "k8s", "value": format!("pod-uid:{}", pod["metadata"]["uid"].as_str().unwrap())}])
    );
    assert_eq!(w1["parent_id"]["path"], format!("/spire/agent/k8s_psat/example-cluster/{}", node_uid("node-a")));
    assert_eq!(w1["x509_svid_ttl"], 3600);
    assert!(w1["id"].as_str().unwrap().starts_with("example-cluster."));
    assert!(k.get(API, "ClusterSPIFFEID", "", "theirs").unwrap()["status"].get("stats").is_none());

    // Unrelated writes: same entry ids, no status rewrite.
    let rv = k.get(API, "ClusterSPIFFEID", "", "mine").unwrap()["metadata"]["resourceVersion"].clone();
    k.upsert(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "poke", "namespace": "apps"}}))
        .unwrap();
    reconciled(k.resource_version()).await;
    let again = entries(&double).await;
    let ids = |es: &[Value]| {
        let mut v: Vec<String> = es.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&again), ids(&es), "entry ids are stable");
    assert_eq!(
        k.get(API, "ClusterSPIFFEID", "", "mine").unwrap()["metadata"]["resourceVersion"],
        rv,
        "no status write loop"
    );

    // Delete it: the entries go.
    k.delete(API, "ClusterSPIFFEID", "", "mine").unwrap();
    wait_for("no entries", async || entries(&double).await.is_empty().then_some(())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_entries_of_the_class_are_set_as_given() {
    let double = KubeDouble::start(KubeDoubleConfig::default()).await.unwrap();
    let k = double.state();
    seed(&k);
    let cfg = ControllerConfig::chart_default("td.test");
    let _ctl = SpireController::spawn(k.clone(), cfg.clone());
    for (name, class) in [("mine", cfg.class_name.as_str()), ("theirs", "other")] {
        k.upsert(json!({"apiVersion": API, "kind": "ClusterStaticEntry", "metadata": {"name": name},
            "spec": {"className": class, "spiffeID": format!("spiffe://td.test/static/{name}"),
                     "parentID": "spiffe://td.test/spire/server", "selectors": ["unix:uid:0"], "x509SVIDTTL": "2h",
                     "dnsNames": ["a.example"]}}))
            .unwrap();
    }
    let es = wait_for("the static entry", async || Some(entries(&double).await).filter(|e| !e.is_empty())).await;
    assert_eq!(es.len(), 1);
    assert_eq!(es[0]["spiffe_id"]["path"], "/static/mine");
    assert_eq!(es[0]["x509_svid_ttl"], 7200);
    assert_eq!(es[0]["dns_names"], json!(["a.example"]));
    wait_for("rendered status", async || {
        (k.get(API, "ClusterStaticEntry", "", "mine")?["status"]["rendered"] == json!(true)).then_some(())
    })
    .await;
    assert!(
        k.get(API, "ClusterStaticEntry", "", "theirs")
            .unwrap()
            .get("status")
            .is_none_or(|s| s.get("rendered").is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwt_sandbox_fleet_gets_its_entries_from_the_controller() {
    use warden_sandbox::{operator_mode::OperatorWorld, scenario};
    let dir = tempfile::tempdir().unwrap();
    let world = OperatorWorld::generate(dir.path()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let fleet = scenario::mint_fleet(&world, now, 240).unwrap();
    let double = KubeDouble::start(KubeDoubleConfig::default()).await.unwrap();
    let k = double.state();
    scenario::seed(&k, &world, &fleet, now, now).unwrap();
    let _ctl = SpireController::spawn(k.clone(), scenario::controller_config());
    // Every tentacle has a ClusterSPIFFEID of the chart's class (the drifted
    // one included): one entry each, parented to its node's agent; plus the
    // NATS server's ClusterStaticEntry.
    let es = wait_for("an entry per tentacle and the static one", async || {
        Some(entries(&double).await).filter(|e| e.len() == fleet.len() + 1)
    })
    .await;
    assert!(es.iter().any(|e| e["spiffe_id"]["path"] == "/ns/tentacular-system/sa/nats"), "{es:?}");
    for t in &fleet {
        let path = format!("/ns/{}/wf/{}", t.namespace, t.workload);
        let e = es.iter().find(|e| e["spiffe_id"]["path"] == path).unwrap_or_else(|| panic!("no entry for {path}"));
        let parent = format!(
            "spiffe://{}{}",
            e["parent_id"]["trust_domain"].as_str().unwrap(),
            e["parent_id"]["path"].as_str().unwrap()
        );
        assert!(scenario::NODES.iter().any(|n| scenario::agent_id(n) == parent), "{parent}");
    }
    wait_for("the drifted tentacle's stats", async || {
        (k.get(API, "ClusterSPIFFEID", "", "tent-dev.orphan")?["status"]["stats"]["entriesToSet"] == 1).then_some(())
    })
    .await;
    wait_for("the static entry's status", async || {
        let st = &k.get(API, "ClusterStaticEntry", "", "nats-server")?["status"];
        (st["rendered"] == true && st["masked"] == false).then_some(())
    })
    .await;
}
