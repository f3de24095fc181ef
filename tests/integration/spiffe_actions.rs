//! SPIFFE-mode identity actions end to end: a real nats-server in TLS
//! `verify_and_map` mode, the Kubernetes API double, warden's real kube
//! client, and the real `warden identity` binary. The sandbox's config sync
//! plays the kubelet (ConfigMap key -> the server's include file).

use std::path::Path;
use std::time::Duration;

use async_nats::{Client, Event};
use kube_double::KubeDoubleConfig;
use serde_json::Value;
use tokio::sync::mpsc;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::permissions::Source;
use warden_core::identity::spiffe_authz::{AuthzDocument, DocumentShape};
use warden_core::kube::client::KubeSettings;
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::spiffe_mode::{ConfigSync, SpiffeWorld, Svid};

use super::harness::{eventually, warden};
use super::spiffe::{connect_with, delivered};

pub const TD: &str = "tentacular.local";
pub const CM_NS: &str = "tentacular-system";
pub const CM_NAME: &str = "nats-authz";

async fn connect(w: &SpiffeWorld, svid: &Svid, url: &str) -> anyhow::Result<(Client, mpsc::UnboundedReceiver<Event>)> {
    // No reconnects: a revoked workload's closed connection must stay closed.
    connect_with(w, svid, url, |o| o.max_reconnects(Some(0))).await
}

fn run(home: &Path, env: &[(&str, String)], args: &[&str]) -> (bool, String) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = warden(home, args, &env);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("$ warden {}\n{text}", args.join(" "));
    (out.status.success(), text)
}

fn authz_in_double(k: &kube_double::KubeState) -> Option<AuthzDocument> {
    let cm = k.get("v1", "ConfigMap", CM_NS, CM_NAME)?;
    Some(AuthzDocument::parse(cm["data"]["authz.conf"].as_str()?).unwrap())
}

/// A SPIFFE-mode world for the CLI and the console: a real nats-server in
/// `verify_and_map` mode, the strict Kubernetes double (CRDs installed,
/// `extra_namespaces` created), the config sync playing the kubelet, and a
/// warden home with its config file and NATS environment.
pub struct SpiffeSetup {
    _dir: tempfile::TempDir,
    pub world: SpiffeWorld,
    pub server: NatsServer,
    pub url: String,
    _double: kube_double::KubeDouble,
    pub k: kube_double::KubeState,
    pub kubeconfig: std::path::PathBuf,
    pub home: std::path::PathBuf,
    pub config: std::path::PathBuf,
    pub env: Vec<(&'static str, String)>,
    _sync: ConfigSync,
}

impl SpiffeSetup {
    pub async fn start(extra_namespaces: &[&str]) -> SpiffeSetup {
        let dir = tempfile::tempdir().unwrap();
        let world = SpiffeWorld::generate(dir.path(), TD).unwrap();
        world.write_authz(&AuthzDocument::new(DocumentShape::UsersArray)).unwrap();
        let server = NatsServer::start(dir.path(), "spiffe", &world.config_body()).unwrap();
        let url = server.url();
        let mut namespaces = vec!["default".to_string(), CM_NS.into(), "tent-dev".into()];
        namespaces.extend(extra_namespaces.iter().map(|n| n.to_string()));
        let double = crate::harness::strict_double(KubeDoubleConfig { namespaces, ..Default::default() }).await;
        let kubeconfig = dir.path().join("kubeconfig");
        double.write_kubeconfig(&kubeconfig, "double").unwrap();
        let k = double.state();
        let settings = KubeSettings { kubeconfig: Some(kubeconfig.clone()), context: None };
        let client = warden_core::kube::client::connect(&settings).await.unwrap().unwrap().client;
        let sync = ConfigSync::spawn(
            client,
            &format!("{CM_NS}/{CM_NAME}"),
            "authz.conf",
            vec![world.authz_file.clone()],
            Duration::from_millis(50),
        )
        .unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let config = home.join("warden.toml");
        std::fs::write(
            &config,
            format!(
                "[kubernetes]\nkubeconfig = {kubeconfig:?}\nauthz_configmap = \"{CM_NS}/{CM_NAME}\"\n\n\
                 [naming]\ntrust_domain = \"{TD}\"\n\n[identity]\nmode = \"spiffe\"\nauthz_file = {:?}\n",
                world.authz_file
            ),
        )
        .unwrap();
        let env = vec![
            ("WARDEN_CONFIG", config.display().to_string()),
            ("NATS_URL", url.clone()),
            ("NATS_CERT", world.system.cert_file.display().to_string()),
            ("NATS_KEY", world.system.key_file.display().to_string()),
            ("NATS_CA", world.bundle_file.display().to_string()),
        ];
        SpiffeSetup { _dir: dir, world, server, url, _double: double, k, kubeconfig, home, config, env, _sync: sync }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spiffe_register_grant_revoke_through_the_cli() {
    let setup = SpiffeSetup::start(&[]).await;
    let SpiffeSetup { world, server, url, k, home, env, .. } = &setup;
    let (url, home) = (url.clone(), home.clone());
    k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-operator")).unwrap();

    let naming = Naming::with_defaults(TD).unwrap();
    let a = IdentityName::parse("tent-dev/hn-digest").unwrap();
    let b = IdentityName::parse("tent-dev/summarizer").unwrap();
    let (a_id, b_id) = (naming.spiffe_id(&a), naming.spiffe_id(&b));

    // --read-only refuses before anything is touched.
    let (ok, text) = run(&home, env, &["--read-only", "identity", "register", "tent-dev/hn-digest"]);
    assert!(!ok && text.contains("--read-only"), "{text}");
    assert!(k.get("v1", "ConfigMap", CM_NS, CM_NAME).is_none());

    // Register both: ConfigMap entry, ClusterSPIFFEID, NatsIdentity, reload.
    let reloads = server.log().matches("Reloaded server configuration").count();
    for n in ["tent-dev/hn-digest", "tent-dev/summarizer"] {
        let (ok, text) = run(&home, env, &["identity", "register", n]);
        assert!(ok, "{text}");
        assert!(text.contains("ok    config sync"), "{text}");
        assert!(text.contains("ok    reload spiffe"), "{text}");
    }
    assert!(server.log().matches("Reloaded server configuration").count() >= reloads + 2, "{}", server.log());
    let doc = authz_in_double(k).expect("ConfigMap written");
    assert_eq!(doc.get(&a_id).unwrap().publish_allow, vec!["tentacular.tent-dev.hn-digest.>"]);
    assert!(doc.get(&b_id).is_some());
    let cs = k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "tent-dev.hn-digest").expect("ClusterSPIFFEID");
    assert_eq!(cs["spec"]["podSelector"]["matchLabels"]["tentacular.io/workflow"], "hn-digest");
    assert_eq!(cs["spec"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "tent-dev");
    assert_eq!(
        cs["spec"]["spiffeIDTemplate"],
        "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/wf/{{ index .PodMeta.Labels \"tentacular.io/workflow\" }}"
    );
    let rec = k.get("warden.dev/v1alpha1", "NatsIdentity", "tent-dev", "hn-digest").expect("NatsIdentity");
    assert_eq!(rec["spec"]["mode"], "spiffe", "{rec}");
    assert_eq!(rec["spec"]["spiffeId"], a_id.as_str(), "{rec}");
    assert_eq!(rec["status"]["phase"], "Active", "{rec}");
    assert!(!rec["status"]["approvedBy"].as_str().unwrap_or_default().is_empty(), "{rec}");

    // Idempotent: a second register changes nothing.
    let (ok, text) = run(&home, env, &["identity", "register", "tent-dev/hn-digest"]);
    assert!(ok, "{text}");
    assert!(text.contains("already present") && text.contains("already Active"), "{text}");

    // The workload connects with its SVID: own prefix yes, another's no.
    let a_svid = world.issue_svid(&a_id).unwrap();
    let b_svid = world.issue_svid(&b_id).unwrap();
    let (ca, mut a_events) = connect(world, &a_svid, &url).await.unwrap();
    let (cb, _b_events) = connect(world, &b_svid, &url).await.unwrap();
    let own = "tentacular.tent-dev.hn-digest.events";
    let mut own_sub = ca.subscribe(own).await.unwrap();
    assert!(delivered(&ca, &ca, &mut own_sub, own).await, "own prefix refused");
    let other = "tentacular.tent-dev.summarizer.in";
    let mut b_sub = cb.subscribe(other).await.unwrap();
    cb.flush().await.unwrap();
    assert!(!delivered(&ca, &cb, &mut b_sub, other).await, "cross publish allowed before grant");

    // Grant: the same live connection may now publish there.
    let (ok, text) = run(&home, env, &["identity", "grant", "tent-dev/hn-digest", "--publish", other]);
    assert!(ok, "{text}");
    assert!(delivered(&ca, &cb, &mut b_sub, other).await, "grant not in force");
    let rec = k.get("warden.dev/v1alpha1", "NatsIdentity", "tent-dev", "hn-digest").unwrap();
    assert_eq!(rec["spec"]["grants"][0]["subject"], other, "{rec}");
    let (ok, text) = run(&home, env, &["identity", "grant", "tent-dev/hn-digest", "--publish", other]);
    assert!(ok && text.contains("may already publish"), "{text}");

    // The permissions report shows the scope and the grant with their sources.
    let (ok, text) = run(&home, env, &["report", "permissions", "-o", "json"]);
    assert!(ok, "{text}");
    let rows: Vec<Value> = serde_json::from_str(&text[text.find('[').unwrap()..]).unwrap();
    let source_of = |subject: &str| {
        rows.iter()
            .find(|r| r["identity"] == "tent-dev/hn-digest" && r["subject"] == subject && r["dir"] == "pub")
            .map(|r| r["source"].clone())
    };
    assert_eq!(source_of(other), Some(Value::from(Source::Grant.label())), "{text}");
    let scope = Some(Value::from(Source::AuthzConfigMap.label()));
    assert_eq!(source_of("tentacular.tent-dev.hn-digest.>"), scope, "{text}");

    // Revoke: the live connection is closed, a new one refused, the
    // registration is gone, the record says who.
    while a_events.try_recv().is_ok() {}
    let (ok, text) = run(&home, env, &["identity", "revoke", "tent-dev/hn-digest"]);
    assert!(ok, "{text}");
    assert!(text.contains("ok    connections") || text.contains("kicked"), "{text}");
    eventually(Duration::from_secs(5), "the revoked connection closes", || {
        let closed = std::iter::from_fn(|| a_events.try_recv().ok()).any(|e| matches!(e, Event::Disconnected));
        let gone = ca.connection_state() != async_nats::connection::State::Connected;
        async move { (closed || gone).then_some(()) }
    })
    .await;
    let refused = connect(world, &a_svid, &url).await;
    assert!(refused.is_err(), "revoked identity could connect");
    assert!(k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "tent-dev.hn-digest").is_none());
    assert!(authz_in_double(k).unwrap().get(&a_id).is_none());
    let rec = k.get("warden.dev/v1alpha1", "NatsIdentity", "tent-dev", "hn-digest").unwrap();
    assert_eq!(rec["status"]["phase"], "Revoked", "{rec}");
    assert!(!rec["status"]["revokedBy"].as_str().unwrap_or_default().is_empty(), "{rec}");
    // The other identity is untouched.
    let mut b_own = cb.subscribe("tentacular.tent-dev.summarizer.still").await.unwrap();
    assert!(delivered(&cb, &cb, &mut b_own, "tentacular.tent-dev.summarizer.still").await);

    // Revoke again: idempotent.
    let (ok, text) = run(&home, env, &["identity", "revoke", "tent-dev/hn-digest"]);
    assert!(ok, "{text}");
    assert!(text.contains("already removed") && text.contains("already gone"), "{text}");

    // JWT-only verbs are refused in SPIFFE mode.
    let (ok, text) = run(&home, env, &["identity", "renew", "tent-dev/summarizer"]);
    assert!(!ok && text.contains("SPIRE rotates"), "{text}");

    // Every action is in the audit log, without secrets.
    let audit = std::fs::read_to_string(home.join("state/warden/audit.log")).unwrap();
    for verb in ["register", "grant", "revoke"] {
        assert!(audit.contains(&format!("\"action\":\"{verb}\"")), "{audit}");
    }
    assert!(!audit.contains("PRIVATE KEY"));
}

/// What a SPIFFE-mode registration becomes on a standard SPIRE install:
/// spire-controller-manager (the sandbox's emulation, configured like the
/// official chart) makes entries only for its own class. With another class
/// the ClusterSPIFFEID warden wrote is flagged and no entry appears; with the
/// chart's class the entry appears and nothing is flagged. Then, with the
/// read-only ClusterRole of `deploy/rbac/` enforced, the views still read
/// and an action is refused before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn registrations_meet_the_controller_class_and_the_read_only_role() {
    use warden_sandbox::scenario::{controller_config, running_pod};
    use warden_sandbox::spire_controller::SpireController;
    let setup = SpiffeSetup::start(&["spire-server"]).await;
    let SpiffeSetup { server, k, home, config, env, .. } = &setup;
    k.add_pod("spire-server", "spire-server-0", &[("app.kubernetes.io/name", "server")], &["spire-server"]);
    let labels = serde_json::json!({"tentacular.io/workflow": "hn-digest"});
    k.upsert(running_pod("tent-dev", "hn-digest-5f7c9", &labels, "node-a")).unwrap();
    let spire_report = || {
        let out = warden(home, &["report", "spire", "-o", "json"], &[("WARDEN_CONFIG", config.to_str().unwrap())]);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        crate::harness::spire_by_kind(&v, out.status.success())
    };
    // Waits until the controller has read everything written so far.
    let settle = |c: &warden_sandbox::spire_controller::SpireControllerHandle| {
        let mut synced = c.synced();
        let rv = k.resource_version();
        async move {
            tokio::time::timeout(Duration::from_secs(10), synced.wait_for(|seen| *seen >= rv))
                .await
                .expect("the controller read every write in time")
                .expect("controller running");
        }
    };

    // A controller of another class: no entry, the registration is flagged.
    let other = SpireController::spawn(k.clone(), {
        let mut c = controller_config();
        c.class_name = "other-class".into();
        c
    });
    let (ok, text) = run(home, env, &["identity", "register", "tent-dev/hn-digest"]);
    assert!(ok, "{text}");
    assert!(text.contains("class spire-server-spire"), "the step names the class: {text}");
    settle(&other).await;
    let cs = k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "tent-dev.hn-digest").unwrap();
    assert_eq!(cs["spec"]["className"], "spire-server-spire");
    assert!(cs.get("status").is_none_or(|s| s.get("stats").is_none()), "no controller reported: {cs}");
    let r = spire_report();
    assert_eq!(r["entries"], serde_json::json!([]), "{r}");
    let row = &r["cluster_spiffe_ids"][0];
    assert!(row["problem"].as_str().unwrap().starts_with("not reconciled"), "{row}");
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ids = warden(home, &["report", "identities", "-o", "json"], &env_refs);
    let ids: Vec<Value> =
        serde_json::from_slice(&ids.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&ids.stderr)));
    let hn = ids.iter().find(|i| i["workload"] == "hn-digest").unwrap();
    assert_eq!(hn["state"], "Drifted", "{hn}");
    assert!(hn["reason"].as_str().unwrap().contains("ClusterSPIFFEID tent-dev.hn-digest: not reconciled"), "{hn}");
    drop(other);

    // The chart's controller serves it: one entry for the pod, nothing flagged.
    let served = SpireController::spawn(k.clone(), controller_config());
    eventually(Duration::from_secs(10), "entry rendered", || async {
        let r = spire_report();
        (r["entries"].as_array().is_some_and(|e| e.len() == 1) && r["cluster_spiffe_ids"][0]["problem"].is_null())
            .then_some(r)
    })
    .await;
    let r = spire_report();
    let naming = Naming::with_defaults(TD).unwrap();
    let id = naming.spiffe_id(&IdentityName::parse("tent-dev/hn-digest").unwrap());
    let e = &r["entries"][0];
    assert_eq!(
        format!(
            "spiffe://{}{}",
            e["spiffe_id"]["trust_domain"].as_str().unwrap(),
            e["spiffe_id"]["path"].as_str().unwrap()
        ),
        id
    );
    settle(&served).await;

    // Read-only: the views read, a register is refused and writes nothing.
    k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-readonly")).unwrap();
    let rv = k.resource_version();
    let reloads = server.log().matches("Reloaded server configuration").count();
    let (ok, text) = run(home, env, &["identity", "register", "tent-dev/summarizer"]);
    assert!(!ok, "{text}");
    assert!(text.contains("forbidden, nothing was changed") && text.contains("configmaps"), "{text}");
    let (ok, text) = run(home, env, &["identity", "revoke", "tent-dev/hn-digest"]);
    assert!(!ok && text.contains("forbidden, nothing was changed"), "{text}");
    assert_eq!(k.resource_version(), rv, "nothing written in Kubernetes");
    assert_eq!(server.log().matches("Reloaded server configuration").count(), reloads, "no reload");
    assert!(authz_in_double(k).unwrap().get(&id).is_some(), "the authorization entry is still there");
    let r = spire_report();
    assert_eq!(r["entries"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["ok"], true, "every part read: {r}");
}
