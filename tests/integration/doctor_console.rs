//! The `:doctor` view with the real Kubernetes worker against the strict
//! double: SPIRE and registration findings appear from the cluster's state
//! and go when it is fixed.

use std::time::Duration;

use kube_double::{KubeDoubleConfig, spire_agent, spire_entry};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use tokio::sync::mpsc;

use crate::harness::pump;
use warden::app::kube_worker;
use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden_core::config::file::KubeSection;
use warden_core::kube::client::KubeSettings;

const AGENT: &str = "spiffe://td/spire/agent/k8s_psat/c1/node-a";

fn registration(ns: &str, wl: &str) -> serde_json::Value {
    json!({
        "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
        "metadata": {"name": format!("{ns}-{wl}")},
        "spec": {"spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/{{ index .PodMeta.Labels \"tentacular.io/workflow\" }}",
                 "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                 "podSelector": {"matchLabels": {"tentacular.io/workflow": wl}}}
    })
}

fn agent(banned: bool, expires_at: i64) -> serde_json::Value {
    let mut a = spire_agent(AGENT, "k8s_psat", "7", expires_at, &[]);
    a["banned"] = json!(banned);
    a
}

fn codes(s: &AppState) -> Vec<String> {
    s.doctor.rows.iter().map(|r| format!("{} {}", r.finding.code, r.finding.objects.join(","))).collect()
}

fn key(s: &mut AppState, code: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_view_finds_spire_and_registration_problems_and_forgets_fixed_ones() {
    let d = crate::harness::strict_double(KubeDoubleConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    d.write_kubeconfig(&kc, "double").unwrap();
    let k = d.state();
    k.add_pod("spire-server", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
    let now = warden_core::nats::jwt::unix_now();
    k.set_spire_entries(vec![spire_entry(
        "e1",
        "spiffe://tentacular.local/ns/shop/wf/orders",
        AGENT,
        &["k8s:ns:shop"],
    )]);
    k.set_spire_agents(vec![agent(true, now + 3600)]);
    k.upsert(registration("shop", "orders")).unwrap();

    let (tx, mut rx) = mpsc::channel(1024);
    let settings = KubeSettings { kubeconfig: Some(kc), context: None };
    let _cmds = kube_worker::spawn(settings, KubeSection::default(), Duration::from_secs(1), tx);
    let mut s = AppState::new("nats://x".into(), "test".into(), Clock::system());
    pump(&mut s, &mut rx, "SPIRE data and the ClusterSPIFFEID", |s| {
        s.agents.rows.len() == 1 && s.spiffe_ids.rows.len() == 1 && s.entries.rows.len() == 1
    })
    .await;

    // `:doctor` opens the view and examines what the console holds.
    key(&mut s, KeyCode::Char(':'));
    for c in "doctor".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.view, ViewId::Doctor);
    assert_eq!(
        codes(&s),
        vec![
            format!("agent-svid-expiring agent {AGENT}"),
            // No spec.className: the official chart's controller (watchClassless false) ignores it.
            "class-not-served ClusterSPIFFEID shop-orders".to_string(),
            format!("agent-banned-hosting agent {AGENT}"),
            "registration-without-authz ClusterSPIFFEID shop-orders,identity shop/orders".to_string(),
        ],
        "worst first"
    );
    assert!(s.doctor.rows[1].finding.evidence.contains("className"), "{:?}", s.doctor.rows[1].finding);
    let detail = s.doctor.rows[3].finding.evidence.clone();
    assert!(detail.contains("no NatsIdentity and no live user for shop/orders"), "{detail}");

    // `T` on the identity traces its chain; the verdict names the first broken link.
    key(&mut s, KeyCode::Char('8'));
    assert_eq!(s.view, ViewId::Identities);
    let pos = s.identities.table.visible.iter().position(|&i| s.identities.rows[i].workload == "orders").expect("row");
    s.identities.table.selected = pos;
    update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('T'), KeyModifiers::SHIFT)));
    let d = s.describe.clone().expect("a trace overlay");
    assert_eq!(d.title, "trace shop/orders");
    assert!(d.text.contains("verdict: ClusterSPIFFEID: SVID not issued: ClusterSPIFFEID shop-orders:"), "{}", d.text);
    assert!(d.text.contains("BROKEN SPIRE agent"), "{}", d.text);
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char(':'));
    for c in "doctor".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);

    // Fixed in the cluster: the registration removed, the agent unbanned and re-attested.
    k.delete("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "shop-orders").unwrap();
    k.set_spire_agents(vec![agent(false, now + 30 * 86_400)]);
    pump(&mut s, &mut rx, "the fixes to arrive", |s| {
        s.spiffe_ids.rows.is_empty() && s.agents.rows.first().is_some_and(|a| !a.agent.banned)
    })
    .await;
    update(&mut s, Msg::Tick(Clock::system()));
    assert!(codes(&s).is_empty(), "{:?}", codes(&s));
}
