//! The Kubernetes side of the console through warden's real kube client
//! against the API double: SPIRE entries and agents over pods/exec,
//! ClusterSPIFFEIDs over watch (create/update/delete, 410 relist), per-panel
//! RBAC errors, and `warden report spire`.

use std::time::Duration;

use kube_double::{KubeDouble, KubeDoubleConfig, KubeState, spire_agent, spire_entry};
use serde_json::json;
use tokio::sync::mpsc;

use crate::harness::pump;
use warden::app::kube_worker;
use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden_core::config::file::KubeSection;
use warden_core::kube::client::KubeSettings;

fn cspiffeid(name: &str, pods: i64) -> serde_json::Value {
    json!({
        "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
        "metadata": {"name": name},
        "spec": {"spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/x",
                 "podSelector": {"matchLabels": {"tentacular.io/workflow": name}}},
        "status": {"stats": {"podsSelected": pods, "entriesToSet": pods}}
    })
}

async fn double() -> (KubeDouble, tempfile::TempDir, KubeSettings) {
    let d = crate::harness::strict_double(KubeDoubleConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    d.write_kubeconfig(&kc, "double").unwrap();
    let k = d.state();
    k.add_pod("spire-server", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
    k.set_spire_entries(vec![spire_entry("e1", "spiffe://td/ns/a/wf/one", "spiffe://td/spire/agent/x", &["k8s:ns:a"])]);
    k.set_spire_agents(vec![spire_agent("spiffe://td/spire/agent/x", "k8s_psat", "7", 1_900_000_000, &[])]);
    k.upsert(cspiffeid("one", 1)).unwrap();
    (d, dir, KubeSettings { kubeconfig: Some(kc), context: None })
}

fn names(s: &AppState) -> Vec<String> {
    s.spiffe_ids.rows.iter().map(|r| r.object.name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn spire_views_follow_the_cluster() {
    let (d, _dir, settings) = double().await;
    let k: KubeState = d.state();
    let (tx, mut rx) = mpsc::channel(1024);
    let _cmds = kube_worker::spawn(settings, KubeSection::default(), Duration::from_secs(1), tx);
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock::system());

    pump(&mut s, &mut rx, "entries, agents and ClusterSPIFFEIDs", |s| {
        s.entries.rows.len() == 1 && s.agents.rows.len() == 1 && s.spiffe_ids.rows.len() == 1
    })
    .await;
    assert_eq!(s.entries.rows[0].entry.spiffe_id.uri(), "spiffe://td/ns/a/wf/one");
    assert_eq!(s.agents.rows[0].agent.x509svid_expires_at, 1_900_000_000);
    assert_eq!(s.spiffe_ids.rows[0].object.stats.as_ref().map(|st| st.pods_selected), Some(1));

    // Watch: create, update, delete.
    k.upsert(cspiffeid("two", 3)).unwrap();
    pump(&mut s, &mut rx, "created", |s| names(s) == ["one", "two"]).await;
    k.upsert(cspiffeid("two", 5)).unwrap();
    pump(&mut s, &mut rx, "updated", |s| {
        s.spiffe_ids
            .rows
            .iter()
            .any(|r| r.object.name == "two" && r.object.stats.as_ref().is_some_and(|st| st.pods_selected == 5))
    })
    .await;
    k.delete("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "one").unwrap();
    pump(&mut s, &mut rx, "deleted", |s| names(s) == ["two"]).await;

    // 410 Gone: the watch relists and converges on what changed meanwhile.
    k.expire_watch_history();
    k.upsert(cspiffeid("three", 1)).unwrap();
    pump(&mut s, &mut rx, "relisted after 410", |s| names(s) == ["three", "two"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forbidden_resource_fails_its_panel_only() {
    let (d, _dir, settings) = double().await;
    d.state().deny("list", "spire.spiffe.io", "clusterspiffeids", None);
    let (tx, mut rx) = mpsc::channel(1024);
    let _cmds = kube_worker::spawn(settings, KubeSection::default(), Duration::from_secs(1), tx);
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock::system());
    pump(&mut s, &mut rx, "403 named on its panel, entries still shown", |s| {
        s.spiffe_ids.stale.as_deref().is_some_and(|e| e.starts_with("forbidden: list clusterspiffeids.spire.spiffe.io"))
            && s.entries.rows.len() == 1
    })
    .await;
    assert!(s.entries.stale.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn report_spire_through_the_binary() {
    let (_d, dir, settings) = double().await;
    let kc = settings.kubeconfig.unwrap();
    let kc = kc.to_str().unwrap();
    let home = dir.path().join("home");
    let out = crate::harness::warden(&home, &["report", "spire", "-o", "json", "--kubeconfig", kc], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.is_array(), "an array, like every report: {v}");
    let v = crate::harness::spire_by_kind(&v, out.status.success());
    assert_eq!(v["entries"][0]["spiffe_id"]["path"], "/ns/a/wf/one");
    assert_eq!(v["cluster_spiffe_ids"][0]["name"], "one");
    assert_eq!(v["agents"][0]["attestation_type"], "k8s_psat");
    assert_eq!(v["ok"], json!(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_outage_keeps_the_rows_marked_stale_and_recovers() {
    let (d, _dir, settings) = double().await;
    let k = d.state();
    let (tx, mut rx) = mpsc::channel(1024);
    let _cmds = kube_worker::spawn(settings, KubeSection::default(), Duration::from_secs(1), tx);
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock::system());
    pump(&mut s, &mut rx, "listed", |s| names(s) == ["one"]).await;

    // The API answers 503 for ClusterSPIFFEIDs; the watch restarts (410) and cannot relist.
    k.set_outage("spire.spiffe.io", "clusterspiffeids", Some(503));
    k.expire_watch_history();
    // First the 410 is reported, then the failing relist's 503.
    pump(&mut s, &mut rx, "stale with the 503, rows kept", |s| {
        s.spiffe_ids.stale.as_deref().is_some_and(|e| e.contains("503")) && names(s) == ["one"]
    })
    .await;
    assert!(s.entries.stale.is_none(), "other panels keep working");

    k.set_outage("spire.spiffe.io", "clusterspiffeids", None);
    k.upsert(cspiffeid("two", 1)).unwrap();
    pump(&mut s, &mut rx, "recovered", |s| s.spiffe_ids.stale.is_none() && names(s) == ["one", "two"]).await;
}

/// With only the read-only ClusterRole of `deploy/rbac/` (no Secret, no
/// Deployment, no cluster-wide pod reads), every Kubernetes-fed view loads:
/// each watched store syncs without an error and the SPIRE CLI answers.
#[tokio::test(flavor = "multi_thread")]
async fn every_view_loads_with_the_read_only_role() {
    let (d, _dir, settings) = double().await;
    let k = d.state();
    k.upsert(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "nats-authz", "namespace": "tentacular-system"}, "data": {"authz.conf": ""}}))
        .unwrap();
    k.upsert(json!({"apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterStaticEntry",
        "metadata": {"name": "node-agent-bootstrap"},
        "spec": {"className": "spire-server-spire", "spiffeID": "spiffe://td/static/one",
                 "parentID": "spiffe://td/spire/agent/x", "selectors": ["unix:uid:0"]},
        "status": {"rendered": true, "masked": false, "set": true}}))
        .unwrap();
    k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-readonly")).unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let _cmds = kube_worker::spawn(settings, KubeSection::default(), Duration::from_secs(1), tx);
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock::system());
    pump(&mut s, &mut rx, "every store synced, SPIRE read", |s| {
        warden_core::kube::resources::Watched::ALL.iter().all(|w| s.kube.problem(*w).is_none())
            && s.entries.rows.len() == 1
            && s.agents.rows.len() == 1
            && s.static_entries.rows.len() == 1
    })
    .await;
    assert!(s.entries.stale.is_none() && s.agents.stale.is_none());
    assert_eq!(s.static_entries.rows[0].problem, None, "served, rendered and set");
    assert_eq!(names(&s), ["one"]);
}

/// `kubectl apply -f deploy/crds/` and `kubectl apply -f deploy/rbac/`
/// succeed on a bare apiserver (the double validates CRDs and serves RBAC),
/// and the kinds then exist with the declared columns.
#[tokio::test(flavor = "multi_thread")]
async fn kubectl_applies_the_deploy_manifests() {
    let d = KubeDouble::start(KubeDoubleConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    d.write_kubeconfig(&kc, "double").unwrap();
    let deploy = crate::harness::deploy_dir();
    let crds = deploy.join("crds");
    let (ok, out, err) = crate::harness::kubectl(&kc, &["apply", "-f", crds.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    for name in
        ["natsidentities.warden.dev", "clusterspiffeids.spire.spiffe.io", "clusterstaticentries.spire.spiffe.io"]
    {
        assert!(out.contains(&format!("customresourcedefinition.apiextensions.k8s.io/{name} created")), "{out}");
    }
    let rbac = deploy.join("rbac");
    let (ok, out, err) = crate::harness::kubectl(&kc, &["apply", "-f", rbac.to_str().unwrap()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("clusterrole.rbac.authorization.k8s.io/warden-readonly created"), "{out}");
    assert!(out.contains("clusterrole.rbac.authorization.k8s.io/warden-operator created"), "{out}");
    // Applying again is unchanged, like on a cluster.
    let (ok, out, _) = crate::harness::kubectl(&kc, &["apply", "-f", crds.to_str().unwrap()]).await;
    assert!(ok && out.contains("unchanged"), "{out}");
    let (ok, out, err) = crate::harness::kubectl(&kc, &["get", "clusterspiffeids,natsidentities", "-A"]).await;
    assert!(ok, "{out}{err}");
}

/// `:ctx` takes only a context of the kubeconfig (Tab completes it), and a
/// switch clears everything the old cluster showed before the new one's
/// data arrives.
#[tokio::test(flavor = "multi_thread")]
async fn ctx_switch_accepts_known_contexts_and_clears_the_old_cluster() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    let (_d, _dir, settings) = double().await;
    let (tx, mut rx) = mpsc::channel(1024);
    let _cmds = kube_worker::spawn(settings, KubeSection::default(), Duration::from_secs(1), tx);
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock::system());
    s.kube_contexts = vec!["double".into(), "prod-eu".into(), "prod-us".into()];
    pump(&mut s, &mut rx, "listed", |s| names(s) == ["one"] && s.entries.rows.len() == 1).await;
    let type_line = |s: &mut AppState, line: &str, tab: bool| {
        update(s, Msg::Key(KeyEvent::from(KeyCode::Char(':'))));
        for c in line.chars() {
            update(s, Msg::Key(KeyEvent::from(KeyCode::Char(c))));
        }
        if tab {
            update(s, Msg::Key(KeyEvent::from(KeyCode::Tab)));
        }
        update(s, Msg::Key(KeyEvent::from(KeyCode::Enter))).cmds
    };
    let cmds = type_line(&mut s, "ctx nope", false);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(s.status.as_ref().unwrap().1.contains("unknown Kubernetes context \"nope\""), "{:?}", s.status);
    assert_eq!(names(&s), ["one"], "nothing switched, nothing cleared");
    // `ctx prod-e<Tab>` completes to the one context it can be.
    let cmds = type_line(&mut s, "ctx prod-e", true);
    assert_eq!(cmds, [warden::app::msg::Cmd::SwitchContext("prod-eu".into())]);
    assert!(names(&s).is_empty() && s.entries.rows.is_empty(), "the old cluster's rows are gone");
    assert!(s.spiffe_ids.stale.is_some(), "and the panels say they are waiting for the new one");
}
