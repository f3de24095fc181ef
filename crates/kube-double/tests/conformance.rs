//! The Kubernetes API double, driven by the real clients: kube-rs built
//! from the written kubeconfig, and kubectl when it is on PATH.

use std::path::PathBuf;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, ApiResource, AttachParams, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch,
    PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube_double::{KubeDouble, KubeDoubleConfig, spire_agent, spire_entry};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

mod common;
use common::{kubectl, kubectl_ok, run_kubectl};

const T: Duration = Duration::from_secs(10);

const NATS_CRD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds/natsidentity.yaml"));

/// A stand-in CRD for ClusterSPIFFEID (cluster-scoped, status subresource,
/// everything preserved): custom kinds exist only once their CRD does.
const SPIFFEID_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusterspiffeids.spire.spiffe.io
spec:
  group: spire.spiffe.io
  scope: Cluster
  names: {plural: clusterspiffeids, singular: clusterspiffeid, kind: ClusterSPIFFEID, listKind: ClusterSPIFFEIDList}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

struct Fixture {
    double: KubeDouble,
    client: kube::Client,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    fixture_with(KubeDoubleConfig::default()).await
}

async fn fixture_with(cfg: KubeDoubleConfig) -> Fixture {
    let double = KubeDouble::start(cfg).await.expect("start double");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kubeconfig, "double").unwrap();
    let kc = Kubeconfig::read_from(&kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.unwrap();
    assert_eq!(cfg.default_namespace, "default");
    let client = kube::Client::try_from(cfg).unwrap();
    Fixture { double, client, kubeconfig, _dir: dir }
}

fn cm(name: &str, labels: Value, data: Value) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels}, "data": data
    }))
    .unwrap()
}

fn api_error(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn dyn_api(client: &kube::Client, g: &str, v: &str, kind: &str, plural: &str, ns: Option<&str>) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, kind), plural);
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

#[tokio::test]
async fn crud_with_conflicts_and_not_found() {
    let f = fixture().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(f.client.clone());
    let pp = PostParams::default();

    let created = cms.create(&pp, &cm("a", json!({"app": "x"}), json!({"k": "1"}))).await.unwrap();
    let rv1 = created.metadata.resource_version.clone().unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let (code, reason, msg) = api_error(cms.create(&pp, &cm("a", json!({}), json!({}))).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(msg, "configmaps \"a\" already exists");

    let got = cms.get("a").await.unwrap();
    assert_eq!(got.data.unwrap()["k"], "1");

    // replace with the current RV works, with a stale one conflicts
    let mut next = cms.get("a").await.unwrap();
    next.data = Some([("k".to_string(), "2".to_string())].into());
    let replaced = cms.replace("a", &pp, &next).await.unwrap();
    assert!(replaced.metadata.resource_version.as_ref().unwrap().parse::<u64>().unwrap() > rv1.parse::<u64>().unwrap());
    let (code, reason, msg) = api_error(cms.replace("a", &pp, &next).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert!(msg.starts_with("Operation cannot be fulfilled on configmaps \"a\": the object has been modified"));

    // merge patch and JSON patch
    let patched =
        cms.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"m": "merged"}}))).await.unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["m"], "merged");
    assert_eq!(patched.data.as_ref().unwrap()["k"], "2");
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/k", "value": "3"},
        {"op": "remove", "path": "/data/m"}
    ]))
    .unwrap();
    let patched = cms.patch("a", &PatchParams::default(), &Patch::Json::<()>(ops)).await.unwrap();
    assert_eq!(patched.data.clone().unwrap(), [("k".to_string(), "3".to_string())].into());
    // a merge patch carrying a stale resourceVersion is a conflict
    let stale = cms
        .patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"resourceVersion": rv1}})))
        .await
        .unwrap_err();
    assert_eq!(api_error(stale).0, 409);

    // list carries the list resourceVersion
    let list = cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());

    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let (code, reason, msg) = api_error(cms.get("a").await.unwrap_err());
    assert_eq!((code, reason.as_str(), msg.as_str()), (404, "NotFound", "configmaps \"a\" not found"));
    assert_eq!(api_error(cms.delete("a", &DeleteParams::default()).await.unwrap_err()).0, 404);
    let missing = cms.patch("nope", &PatchParams::default(), &Patch::Merge(json!({}))).await;
    assert_eq!(api_error(missing.unwrap_err()).0, 404);

    // creating in a namespace that does not exist is a 404, like a real cluster
    let other: Api<ConfigMap> = Api::namespaced(f.client.clone(), "nowhere");
    let (code, _, msg) = api_error(other.create(&pp, &cm("b", json!({}), json!({}))).await.unwrap_err());
    assert_eq!((code, msg.as_str()), (404, "namespaces \"nowhere\" not found"));
}

#[tokio::test]
async fn custom_resources_and_status_subresource() {
    let f = fixture().await;
    f.double.state().apply_manifest(NATS_CRD).unwrap();
    f.double.state().apply_manifest(SPIFFEID_CRD).unwrap();
    let ids = dyn_api(&f.client, "warden.dev", "v1alpha1", "NatsIdentity", "natsidentities", Some("default"));
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
        "metadata": {"name": "orders"},
        "spec": {"workload": "orders"},
        "status": {"phase": "Active"}
    }))
    .unwrap();
    let created = ids.create(&PostParams::default(), &obj).await.unwrap();
    // status is ignored on the main resource ...
    assert!(created.data.get("status").is_none());
    // ... and only written through /status
    let st = ids
        .patch_status(
            "orders",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Pending"}, "spec": {"workload": "evil"}})),
        )
        .await
        .unwrap();
    assert_eq!(st.data["status"]["phase"], "Pending");
    assert_eq!(st.data["spec"]["workload"], "orders");
    assert_eq!(st.metadata.generation, Some(1));
    let sp = ids.patch("orders", &PatchParams::default(), &Patch::Merge(json!({"spec": {"ttl": "1h"}}))).await.unwrap();
    assert_eq!(sp.metadata.generation, Some(2));
    assert_eq!(sp.data["status"]["phase"], "Pending");

    // cluster-scoped SPIRE resources, seeded from Rust with status.stats
    f.double
        .state()
        .upsert(json!({
            "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
            "metadata": {"name": "tentacles"},
            "spec": {"spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/{{ .PodMeta.Name }}"},
            "status": {"stats": {"namespacesSelected": 2, "entriesMasked": 0, "entriesToSet": 3}}
        }))
        .unwrap();
    let cs = dyn_api(&f.client, "spire.spiffe.io", "v1alpha1", "ClusterSPIFFEID", "clusterspiffeids", None);
    let got = cs.get("tentacles").await.unwrap();
    assert_eq!(got.data["status"]["stats"]["entriesToSet"], 3);
    assert!(got.metadata.namespace.is_none());
}

#[tokio::test]
async fn label_and_field_selectors() {
    let f = fixture().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(f.client.clone());
    for (n, l) in [
        ("a", json!({"app": "web", "tier": "front"})),
        ("b", json!({"app": "api"})),
        ("c", json!({"app": "db", "skip": "yes"})),
    ] {
        cms.create(&PostParams::default(), &cm(n, l, json!({}))).await.unwrap();
    }
    let names = |l: Vec<ConfigMap>| -> Vec<String> { l.into_iter().map(|c| c.metadata.name.unwrap()).collect() };
    let q = |s: &str| ListParams::default().labels(s);
    assert_eq!(names(cms.list(&q("app=web")).await.unwrap().items), ["a"]);
    assert_eq!(names(cms.list(&q("app!=web")).await.unwrap().items), ["b", "c"]);
    assert_eq!(names(cms.list(&q("app in (web,db)")).await.unwrap().items), ["a", "c"]);
    assert_eq!(names(cms.list(&q("app notin (web,db)")).await.unwrap().items), ["b"]);
    assert_eq!(names(cms.list(&q("tier")).await.unwrap().items), ["a"]);
    assert_eq!(names(cms.list(&q("!skip")).await.unwrap().items), ["a", "b"]);
    let by_name = ListParams::default().fields("metadata.name=b");
    assert_eq!(names(cms.list(&by_name).await.unwrap().items), ["b"]);
    let (code, _, _) = api_error(cms.list(&q("app in web")).await.unwrap_err());
    assert_eq!(code, 400);
    // paging with limit/continue visits everything once
    let page1 = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page1.items.len(), 2);
    let tok = page1.metadata.continue_.clone().unwrap();
    let page2 = cms.list(&ListParams::default().limit(2).continue_token(&tok)).await.unwrap();
    assert_eq!(names(page2.items), ["c"]);
}

/// Collects watcher events (as short strings) into a channel.
fn spawn_watcher(api: Api<ConfigMap>) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut s = watcher(api, watcher::Config::default()).boxed();
        while let Some(ev) = s.next().await {
            let line = match ev {
                Ok(watcher::Event::Init) => "Init".to_string(),
                Ok(watcher::Event::InitApply(o)) => {
                    format!("InitApply {}", o.metadata.name.unwrap())
                }
                Ok(watcher::Event::InitDone) => "InitDone".to_string(),
                Ok(watcher::Event::Apply(o)) => {
                    format!("Apply {} {:?}", o.metadata.name.unwrap(), o.data.unwrap_or_default().get("v"))
                }
                Ok(watcher::Event::Delete(o)) => format!("Delete {}", o.metadata.name.unwrap()),
                Err(e) => format!("Err {e}"),
            };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

async fn expect(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, want: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let r = tokio::time::timeout(T, async {
        while let Some(l) = rx.recv().await {
            let hit = l.starts_with(want);
            seen.push(l);
            if hit {
                return;
            }
        }
    })
    .await;
    assert!(r.is_ok(), "did not see {want:?}; saw {seen:?}");
    seen
}

#[tokio::test]
async fn watcher_sees_changes_and_relists_after_410() {
    let f =
        fixture_with(KubeDoubleConfig { bookmark_interval: Duration::from_millis(200), ..KubeDoubleConfig::default() })
            .await;
    let cms: Api<ConfigMap> = Api::default_namespaced(f.client.clone());
    cms.create(&PostParams::default(), &cm("pre", json!({}), json!({}))).await.unwrap();
    let mut rx = spawn_watcher(cms.clone());
    let seen = expect(&mut rx, "InitDone").await;
    assert_eq!(seen, ["Init", "InitApply pre", "InitDone"]);

    cms.create(&PostParams::default(), &cm("w", json!({}), json!({"v": "1"}))).await.unwrap();
    expect(&mut rx, "Apply w Some(\"1\")").await;
    cms.patch("w", &PatchParams::default(), &Patch::Merge(json!({"data": {"v": "2"}}))).await.unwrap();
    expect(&mut rx, "Apply w Some(\"2\")").await;
    cms.delete("w", &DeleteParams::default()).await.unwrap();
    expect(&mut rx, "Delete w").await;

    // History gone: the open watch gets ERROR 410, the watcher relists and
    // converges on the current state (including a change made meanwhile).
    let state = f.double.state();
    state.expire_watch_history();
    let seen = expect(&mut rx, "Err").await;
    assert!(seen.last().unwrap().contains("410") || seen.last().unwrap().contains("too old"), "{seen:?}");
    state
        .upsert(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "default"}}))
        .unwrap();
    let seen = expect(&mut rx, "InitDone").await;
    assert!(seen.contains(&"Init".to_string()), "{seen:?}");
    let mut all = seen.join(" ");
    if !all.contains("late") {
        all += &expect(&mut rx, "Apply late").await.join(" ");
    }
    assert!(all.contains("pre"), "{all}");
}

#[tokio::test]
async fn raw_watch_bookmarks_and_410_on_old_resource_version() {
    let f = fixture_with(KubeDoubleConfig {
        bookmark_interval: Duration::from_millis(100),
        watch_history: 3,
        ..KubeDoubleConfig::default()
    })
    .await;
    let cms: Api<ConfigMap> = Api::default_namespaced(f.client.clone());
    let rv0 = cms.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    for i in 0..5 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}"), json!({}), json!({}))).await.unwrap();
    }
    // rv0 fell out of the 3-event history
    let wp = kube::api::WatchParams::default().timeout(5);
    let mut s = cms.watch(&wp, &rv0).await.unwrap().boxed();
    match tokio::time::timeout(T, s.next()).await.unwrap() {
        Some(Ok(kube::api::WatchEvent::Error(e))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected 410, got {other:?}"),
    }
    // a current resourceVersion streams, with bookmarks
    let rv = cms.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut wp = wp;
    wp.bookmarks = true;
    let mut s = cms.watch(&wp, &rv).await.unwrap().boxed();
    match tokio::time::timeout(T, s.next()).await.unwrap() {
        Some(Ok(kube::api::WatchEvent::Bookmark(b))) => {
            assert!(!b.metadata.resource_version.is_empty())
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
}

#[tokio::test]
async fn forbidden_rule_and_outage_hit_only_their_resource() {
    let f = fixture().await;
    let state = f.double.state();
    state.apply_manifest(SPIFFEID_CRD).unwrap();
    state.deny("list", "spire.spiffe.io", "clusterspiffeids", None);
    let cs = dyn_api(&f.client, "spire.spiffe.io", "v1alpha1", "ClusterSPIFFEID", "clusterspiffeids", None);
    let (code, reason, msg) = api_error(cs.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        msg,
        "clusterspiffeids.spire.spiffe.io is forbidden: User \"warden\" cannot list resource \"clusterspiffeids\" in API group \"spire.spiffe.io\" at the cluster scope"
    );
    // other resources (and other verbs) still work
    let cms: Api<ConfigMap> = Api::default_namespaced(f.client.clone());
    cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(api_error(cs.get("x").await.unwrap_err()).0, 404);

    state.deny("get", "", "secrets", Some("default"));
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::default_namespaced(f.client.clone());
    let (_, _, msg) = api_error(secrets.get("creds").await.unwrap_err());
    assert_eq!(
        msg,
        "secrets \"creds\" is forbidden: User \"warden\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\""
    );

    state.clear_denials();
    cs.list(&ListParams::default()).await.unwrap();

    state.set_outage("", "configmaps", Some(500));
    let (code, reason, _) = api_error(cms.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (500, "InternalError"));
    cs.list(&ListParams::default()).await.unwrap();
    state.set_outage("", "configmaps", None);
    cms.list(&ListParams::default()).await.unwrap();

    // 503: kube-rs retries it by default (up to 15 times, exponential
    // backoff), so a client meant to see it at once turns that off.
    let kc = Kubeconfig::read_from(&f.kubeconfig).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.unwrap();
    cfg.default_retry = false;
    let no_retry: Api<ConfigMap> = Api::default_namespaced(kube::Client::try_from(cfg).unwrap());
    state.set_outage("", "configmaps", Some(503));
    let (code, reason, _) = api_error(no_retry.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (503, "ServiceUnavailable"));
    state.set_outage("", "configmaps", None);
}

#[tokio::test]
async fn pod_log_follow_sees_appends_and_ends_at_restart() {
    let f = fixture().await;
    let state = f.double.state();
    state.add_pod("nats", "nats-0", &[("app", "nats")], &["nats"]);
    state.append_pod_log("nats", "nats-0", "nats", "[INF] starting");
    let pods: Api<Pod> = Api::namespaced(f.client.clone(), "nats");
    let lp = LogParams { follow: true, container: Some("nats".into()), ..LogParams::default() };
    let mut lines = pods.log_stream("nats-0", &lp).await.unwrap().lines();
    assert_eq!(next(&mut lines).await.unwrap().unwrap(), "[INF] starting");
    state.append_pod_log("nats", "nats-0", "nats", "[ERR] Publish Violation - Subject \"x\"");
    assert_eq!(next(&mut lines).await.unwrap().unwrap(), "[ERR] Publish Violation - Subject \"x\"");

    state.restart_pod("nats", "nats-0").unwrap();
    assert!(next(&mut lines).await.is_none(), "follow ends at restart");
    let pod = pods.get("nats-0").await.unwrap();
    assert_eq!(pod.status.unwrap().container_statuses.unwrap()[0].restart_count, 1);
    // the old log is `previous`, the new one starts empty
    let prev = pods.logs("nats-0", &LogParams { previous: true, ..LogParams::default() }).await.unwrap();
    assert_eq!(prev.lines().count(), 2);
    assert_eq!(pods.logs("nats-0", &LogParams::default()).await.unwrap(), "");
    state.append_pod_log("nats", "nats-0", "nats", "a");
    state.append_pod_log("nats", "nats-0", "nats", "b");
    let tail = pods.logs("nats-0", &LogParams { tail_lines: Some(1), ..LogParams::default() }).await.unwrap();
    assert_eq!(tail, "b\n");
    assert_eq!(api_error(pods.logs("ghost", &LogParams::default()).await.unwrap_err()).0, 404);
}

async fn next<S: futures::Stream<Item = std::io::Result<String>> + Unpin>(
    s: &mut S,
) -> Option<std::io::Result<String>> {
    tokio::time::timeout(T, s.next()).await.expect("log line in time")
}

async fn exec_out(
    pods: &Api<Pod>,
    cmd: &[&str],
) -> (String, String, k8s_openapi::apimachinery::pkg::apis::meta::v1::Status) {
    let ap = AttachParams::default().container("spire-server").stdin(false).stdout(true).stderr(true);
    let mut p = pods.exec("spire-server-0", cmd.to_vec(), &ap).await.unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    let mut so = p.stdout().unwrap();
    let mut se = p.stderr().unwrap();
    let status = p.take_status().unwrap();
    let (a, b) = tokio::join!(so.read_to_string(&mut out), se.read_to_string(&mut err));
    a.unwrap();
    b.unwrap();
    let status = tokio::time::timeout(T, status).await.unwrap().expect("status frame");
    (out, err, status)
}

#[tokio::test]
async fn exec_answers_spire_server_cli() {
    let f = fixture().await;
    let state = f.double.state();
    state.add_pod("spire", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
    state.set_spire_entries(vec![spire_entry(
        "e-1",
        "spiffe://td/ns/shop/wf/orders",
        "spiffe://td/spire/agent/k8s_psat/c/n1",
        &["k8s:ns:shop", "k8s:pod-label:tentacular.io/workflow:orders"],
    )]);
    state.set_spire_agents(vec![spire_agent(
        "spiffe://td/spire/agent/k8s_psat/c/n1",
        "k8s_psat",
        "1234",
        1_900_000_000,
        &["k8s_psat:cluster:c"],
    )]);
    let pods: Api<Pod> = Api::namespaced(f.client.clone(), "spire");

    let (out, _, status) = exec_out(&pods, &["/opt/spire/bin/spire-server", "entry", "show", "-output", "json"]).await;
    assert_eq!(status.status.as_deref(), Some("Success"));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"][0]["spiffe_id"], json!({"trust_domain": "td", "path": "/ns/shop/wf/orders"}));
    assert_eq!(v["entries"][0]["selectors"][1]["value"], "pod-label:tentacular.io/workflow:orders");

    let (out, _, _) = exec_out(&pods, &["/opt/spire/bin/spire-server", "agent", "list", "-output", "json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["agents"][0]["x509svid_expires_at"], "1900000000");

    let (out, err, status) = exec_out(&pods, &["/opt/spire/bin/spire-server", "bundle", "frob"]).await;
    assert!(out.is_empty() && !err.is_empty());
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let causes = status.details.unwrap().causes.unwrap();
    assert_eq!(causes[0].reason.as_deref(), Some("ExitCode"));

    state.deny("create", "", "pods/exec", None);
    let ap = AttachParams::default().stdout(true);
    let err = pods.exec("spire-server-0", ["spire-server", "entry", "show"], &ap).await.err().unwrap();
    assert_eq!(api_error(err).0, 403);
}

// ---- kubectl ----

#[tokio::test]
async fn kubectl_get_apply_delete_logs_exec() {
    let bin = kubectl();
    let f = fixture().await;
    let kc = f.kubeconfig.clone();
    let k = kubectl_ok(bin.clone(), kc.clone());
    let crd =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds/natsidentity.yaml")).unwrap();
    let out = k(vec!["apply", "-f", "-"], Some(crd)).await;
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/natsidentities.warden.dev created"), "{out}");

    let ni =
        "apiVersion: warden.dev/v1alpha1\nkind: NatsIdentity\nmetadata:\n  name: orders\nspec:\n  workload: orders\n";
    let out = k(vec!["apply", "-f", "-"], Some(ni.into())).await;
    assert!(out.contains("natsidentity.warden.dev/orders created"), "{out}");
    let out = k(vec!["apply", "-f", "-"], Some(ni.replace("workload: orders", "workload: orders\n  ttl: 1h"))).await;
    assert!(out.contains("natsidentity.warden.dev/orders configured"), "{out}");
    let out = k(vec!["get", "natsidentities", "-o", "json"], None).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["items"][0]["spec"]["ttl"], "1h");
    let out = k(vec!["get", "natsid"], None).await;
    assert!(out.contains("orders"), "{out}");

    let cmy = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nats-auth\ndata:\n  auth.conf: \"users = []\"\n";
    assert!(k(vec!["apply", "-f", "-"], Some(cmy.into())).await.contains("configmap/nats-auth created"));
    let out = k(vec!["apply", "-f", "-"], Some(cmy.replace("[]", "[1]"))).await;
    assert!(out.contains("configmap/nats-auth configured"), "{out}");
    let out = k(vec!["get", "configmap", "nats-auth", "-o", "jsonpath={.data.auth\\.conf}"], None).await;
    assert_eq!(out, "users = [1]");
    let out = k(vec!["get", "cm"], None).await;
    assert!(out.contains("NAME") && out.contains("nats-auth"), "{out}");

    assert!(k(vec!["apply", "-f", "-"], Some(SPIFFEID_CRD.into())).await.contains("created"));
    let csid = "apiVersion: spire.spiffe.io/v1alpha1\nkind: ClusterSPIFFEID\nmetadata:\n  name: tentacles\nspec:\n  spiffeIDTemplate: x\n";
    assert!(
        k(vec!["apply", "-f", "-"], Some(csid.into()))
            .await
            .contains("clusterspiffeid.spire.spiffe.io/tentacles created")
    );
    let out = k(vec!["get", "clusterspiffeids", "-o", "name"], None).await;
    assert_eq!(out.trim(), "clusterspiffeid.spire.spiffe.io/tentacles");

    assert!(k(vec!["delete", "configmap", "nats-auth"], None).await.contains("deleted"));
    assert!(k(vec!["delete", "natsidentity", "orders"], None).await.contains("deleted"));
    assert!(k(vec!["delete", "clusterspiffeid", "tentacles"], None).await.contains("deleted"));
    let (ok, _, err) = run_kubectl(&bin, &kc, &["get", "configmap", "nats-auth"], None).await;
    assert!(!ok && err.contains("configmaps \"nats-auth\" not found"), "{err}");

    // logs and exec
    let state = f.double.state();
    state.add_pod("spire", "spire-server-0", &[], &["spire-server"]);
    state.append_pod_log("spire", "spire-server-0", "spire-server", "level=info msg=started");
    let out = k(vec!["logs", "-n", "spire", "spire-server-0"], None).await;
    assert_eq!(out, "level=info msg=started\n");
    state.set_spire_entries(vec![spire_entry("e-1", "spiffe://td/ns/a/wf/b", "spiffe://td/agent", &["k8s:ns:a"])]);
    let out = k(
        vec![
            "exec",
            "-n",
            "spire",
            "spire-server-0",
            "-c",
            "spire-server",
            "--",
            "/opt/spire/bin/spire-server",
            "entry",
            "show",
            "-output",
            "json",
        ],
        None,
    )
    .await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"][0]["id"], "e-1");
    let (ok, _, err) =
        run_kubectl(&bin, &kc, &["exec", "-n", "spire", "spire-server-0", "--", "spire-server", "nope"], None).await;
    assert!(!ok && err.contains("unknown command"), "{err}");

    // denial shows up in kubectl's words too
    state.deny("list", "spire.spiffe.io", "clusterspiffeids", None);
    let (ok, _, err) = run_kubectl(&bin, &kc, &["get", "clusterspiffeids"], None).await;
    assert!(!ok && err.contains("User \"warden\" cannot list resource \"clusterspiffeids\""), "{err}");
}
