//! Issue 12, the action side: actions do exactly what the operator saw, in
//! the cluster they saw it in. The CLI against a real operator-mode
//! nats-server and the strict Kubernetes double (operator ClusterRole
//! enforced), and the console with its real workers (NATS, Kubernetes, the
//! action worker) fed into `update` as the console loop does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube_double::{KubeDouble, KubeState};
use ratatui::crossterm::event::KeyCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warden::app::action_worker::{self, ActionCmd};
use warden::app::dialog::model::{Button, Dialog};
use warden::app::kube_state::KubeLink;
use warden::app::kube_worker::{self};
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden_core::config::file::KubeSection;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::identity::actions::Mode;
use warden_core::identity::jwt_actions::{KeyRef, SigningConfig};
use warden_core::identity::naming::Naming;
use warden_core::kube::client::KubeSettings;
use warden_core::nats::jwt::{self, KeyKind, SigningKey};

use crate::jwt_actions::{Op, op_world};

const NI: &str = "warden.dev/v1alpha1";

struct World {
    op: Op,
    _double: KubeDouble,
    k: KubeState,
    kubeconfig: PathBuf,
}

impl World {
    /// A kubeconfig with two contexts (`ctx-a`, `ctx-b`) on the same double.
    async fn new() -> World {
        let op = op_world();
        let double = crate::harness::shop_double().await;
        let kubeconfig = op.dir.path().join("kubeconfig");
        let text = double.kubeconfig_yaml("ctx-a");
        let (head, rest) = text.split_once("contexts:\n").unwrap();
        let (ctxs, tail) = rest.split_once("current-context:").unwrap();
        let b = ctxs.replacen("- name: \"ctx-a\"", "- name: \"ctx-b\"", 1);
        std::fs::write(&kubeconfig, format!("{head}contexts:\n{ctxs}{b}current-context:{tail}")).unwrap();
        let k = double.state();
        k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-operator")).unwrap();
        World { op, _double: double, k, kubeconfig }
    }

    async fn warden(&self, args: &[&str]) -> (bool, String) {
        let mut a: Vec<String> =
            vec!["--kubeconfig".into(), self.kubeconfig.display().to_string(), "--kube-context".into(), "ctx-a".into()];
        a.extend(args.iter().map(|s| s.to_string()));
        if a.iter().any(|s| s == "identity") {
            a.extend([
                "--account-signing-key".to_string(),
                self.op.account_key.display().to_string(),
                "--operator-signing-key".to_string(),
                self.op.operator_key.display().to_string(),
            ]);
        }
        let (url, creds, home) =
            (self.op.server.url(), self.op.world.sys_creds_path.display().to_string(), self.op.home());
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            let out =
                crate::harness::warden(&home, &refs, &[("NATS_URL", url.as_str()), ("NATS_CREDS", creds.as_str())]);
            (
                out.status.success(),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            )
        })
        .await
        .unwrap()
    }

    fn identity(&self, ns: &str, name: &str) -> Value {
        self.k.get(NI, "NatsIdentity", ns, name).unwrap_or(Value::Null)
    }

    fn pending(&self, wf: &str, key: &str, extra: Value) {
        let mut spec = json!({"workload": wf, "account": "APP", "publicKey": key, "ttl": "720h"});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        self.k
            .upsert(json!({
                "apiVersion": NI, "kind": "NatsIdentity",
                "metadata": {"name": wf, "namespace": "shop"},
                "spec": spec
            }))
            .expect("seed NatsIdentity");
    }

    fn cluster_spiffe_id(&self, wf: &str) {
        self.k
            .upsert(json!({
                "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
                "metadata": {"name": format!("shop.{wf}")},
                "spec": {
                    "className": "spire-server-spire",
                    "spiffeIDTemplate": format!("spiffe://tentacular.local/ns/{{{{ .PodMeta.Namespace }}}}/wf/{wf}"),
                    "podSelector": {"matchLabels": {"tentacular.io/workflow": wf}},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}
                }
            }))
            .expect("seed ClusterSPIFFEID");
    }

    fn has_cluster_spiffe_id(&self, wf: &str) -> bool {
        self.k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", &format!("shop.{wf}")).is_some()
    }

    fn expires_in(&self, wf: &str) -> i64 {
        let rec = self.identity("shop", wf);
        let token = rec["status"]["jwt"].as_str().unwrap_or_else(|| panic!("no JWT: {rec}"));
        jwt::decode_as::<jwt::User>(token).unwrap().std.expires - jwt::unix_now()
    }
}

fn key() -> String {
    SigningKey::generate(KeyKind::User).public_key().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_approve_checks_scope_key_and_ttl_and_renew_keeps_spec_ttl() {
    let w = World::new().await;
    let cart_key = key();
    w.pending("cart", &cart_key, json!({"publish": [">"], "subscribe": ["tentacular.payments.*"]}));

    // A spec asking for more than its scope is refused without --allow-broad, and says what.
    let (ok, out) = w.warden(&["identity", "approve", "shop/cart"]).await;
    assert!(!ok && out.contains("--allow-broad") && out.contains("OVER-BROAD"), "{out}");
    assert!(out.contains("publish >") && out.contains("subscribe tentacular.payments.*"), "{out}");
    assert!(w.identity("shop", "cart")["status"].get("jwt").is_none(), "nothing minted");

    // TTLs outside the bounds are refused before anything connects or mints.
    for ttl in ["0s", "99999999h"] {
        let (ok, out) = w.warden(&["identity", "approve", "shop/cart", "--allow-broad", "--ttl", ttl]).await;
        assert!(!ok && out.contains("outside the allowed range"), "--ttl {ttl}: {out}");
        assert!(w.identity("shop", "cart")["status"].get("jwt").is_none(), "nothing minted");
    }

    // With consent: minted for spec.ttl (720h), and renew keeps it.
    let (ok, out) = w.warden(&["identity", "approve", "shop/cart", "--allow-broad"]).await;
    assert!(ok, "{out}");
    let left = w.expires_in("cart");
    assert!((720 * 3600 - 60..=720 * 3600).contains(&left), "spec.ttl 720h: {left}");
    let (ok, out) = w.warden(&["identity", "renew", "shop/cart"]).await;
    assert!(ok, "{out}");
    let left = w.expires_in("cart");
    assert!((720 * 3600 - 60..=720 * 3600).contains(&left), "renew keeps spec.ttl 720h: {left}");

    // A record may not take over a key bound to another identity.
    w.pending("thief", &cart_key, json!({}));
    let (ok, out) = w.warden(&["identity", "approve", "shop/thief"]).await;
    assert!(!ok && out.contains("already bound to NatsIdentity shop/cart"), "{out}");
    assert!(w.identity("shop", "thief")["status"].get("jwt").is_none());

    // A non-ASCII publicKey is reported (report and approve), never a panic.
    w.pending("weird", "Uéééééééééééééééééé", json!({}));
    let (ok, out) = w.warden(&["report", "identities"]).await;
    assert!(ok && out.contains("not a valid user public key"), "{out}");
    let (ok, out) = w.warden(&["report", "identities", "-o", "json"]).await;
    assert!(ok, "{out}");
    let (ok, out) = w.warden(&["identity", "approve", "shop/weird", "--allow-broad"]).await;
    assert!(!ok && out.contains("spec.publicKey") && !out.contains("panicked"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_creds_out_refuses_an_existing_file_and_an_unwritable_path_before_minting() {
    let op = op_world();
    let file = op.dir.path().join("someone-else.creds");
    let args_for = |name: &str, path: &Path, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["identity", "register", name, "--account", "APP", "--no-kube", "--creds-out"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push(path.display().to_string());
        v.extend(["--account-signing-key".into(), op.account_key.display().to_string()]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let args = |path: &Path, extra: &[&str]| args_for("shop/orders", path, extra);
    let run = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        op.warden(&refs)
    };
    // The file holds another identity's creds: the only copy of its seed.
    let (ok, out, err) = run(args_for("shop/payments", &file, &[]));
    assert!(ok, "{out}{err}");
    let original = std::fs::read(&file).unwrap();
    let (ok, out, err) = run(args(&file, &[]));
    assert!(!ok && out.contains("already exists") && out.contains("--force"), "{out}{err}");
    assert!(!out.contains("mint user JWT"), "refused before minting: {out}");
    assert_eq!(std::fs::read(&file).unwrap(), original, "left byte-identical");
    let missing = op.dir.path().join("no/such/dir/x.creds");
    let (ok, out, err) = run(args(&missing, &[]));
    assert!(!ok && out.contains("does not exist") && !out.contains("mint user JWT"), "{out}{err}");
    // --ttl bounds on the command line too.
    let fresh = op.dir.path().join("fresh.creds");
    let (ok, out, err) = run(args(&fresh, &["--ttl", "0s"]));
    assert!(!ok && format!("{out}{err}").contains("outside the allowed range"), "{out}{err}");
    assert!(!fresh.exists());
    // --force replaces it.
    let (ok, out, err) = run(args(&file, &["--force"]));
    assert!(ok, "{out}{err}");
    assert_ne!(std::fs::read(&file).unwrap(), original);
}

type Console = crate::harness::TestConsole;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_approve_asks_twice_revoke_matches_cli_and_a_changed_context_is_refused() {
    let w = World::new().await;
    w.pending("broad", &key(), json!({"publish": [">"]}));
    w.pending("other", &key(), json!({}));
    for wf in ["orders", "cart"] {
        w.cluster_spiffe_id(wf);
        let (ok, out) = w.warden(&["identity", "register", &format!("shop/{wf}"), "--account", "APP"]).await;
        assert!(ok, "{out}");
    }

    let nats = NatsSettings {
        url: w.op.server.url(),
        auth: NatsAuth::Creds(w.op.world.sys_creds_path.clone()),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let kube = KubeSettings { kubeconfig: Some(w.kubeconfig.clone()), context: Some("ctx-a".into()) };
    let section = KubeSection { kubeconfig: Some(w.kubeconfig.clone()), ..Default::default() };
    let naming = Naming::with_defaults("tentacular.local").unwrap();
    let (tx, rx) = mpsc::channel(1024);
    let nats_cmds = warden::app::worker::spawn(nats.clone(), Duration::from_millis(500), tx.clone());
    let kube_cmds = kube_worker::spawn(kube.clone(), section.clone(), Duration::from_secs(30), tx.clone());
    let actions = action_worker::spawn(
        action_worker::ActionSettings {
            nats,
            kube,
            kube_section: section.clone(),
            signing: SigningConfig {
                account: Some(KeyRef::File(w.op.account_key.clone())),
                operator: Some(KeyRef::File(w.op.operator_key.clone())),
            },
            audit_log: w.op.dir.path().join("console-audit.log"),
            identity: Default::default(),
            naming: naming.clone(),
            read_only: false,
            mode: Mode::Jwt,
            ttl: Default::default(),
        },
        tx.clone(),
    );
    drop(tx);
    let mut s = AppState::new(w.op.server.url(), "test".into(), Clock::system());
    s.size = (160, 40);
    s.naming = naming;
    s.kube_section = section;
    let target = warden::app::kube_target::KubeTarget::new(Default::default());
    let mut c = Console::new(s, rx, warden::ui::console::Workers { nats: nats_cmds, kube: kube_cmds, actions, target });
    c.key(KeyCode::Char('8'));
    c.until("identities, servers and the context", |s| {
        let has = |wf: &str| s.identities.rows.iter().any(|r| r.workload == wf);
        has("broad")
            && has("other")
            && s.identities.rows.iter().any(|r| r.workload == "orders" && !r.user_key.is_empty())
            && !s.servers.rows.is_empty()
            && matches!(&s.kube.link, KubeLink::Connected { context } if context == "ctx-a")
    })
    .await;

    // Approve of a spec asking for `>`: the marked summary, then a second
    // confirmation; nothing is minted until both are confirmed.
    c.select("broad");
    c.key(KeyCode::Char('a'));
    match &c.s.dialog {
        Some(Dialog::Confirm { detail, then: Some(_), focus: Button::Cancel, .. }) => {
            let text = detail.join("\n");
            assert!(text.contains("!! publish   >  (OVER-BROAD"), "{text}");
            assert!(text.contains("ttl       720h") && text.contains("account   APP"), "{text}");
        }
        d => panic!("no approve summary: {d:?} {:?}", c.s.status),
    }
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    assert!(matches!(&c.s.dialog, Some(Dialog::Confirm { then: None, focus: Button::Cancel, .. })), "second question");
    assert_eq!(c.sent, 0, "nothing sent after one confirmation");
    assert!(w.identity("shop", "broad")["status"].get("jwt").is_none(), "nothing minted");
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    assert_eq!(c.sent, 1);
    let steps = c.finished().await;
    assert!(steps.iter().all(|s| s.starts_with("ok")), "{steps:?}");
    assert_eq!(w.identity("shop", "broad")["status"]["phase"], "Active");

    // Console revoke of shop/orders leaves what CLI revoke of shop/cart leaves.
    c.select("orders");
    c.key(KeyCode::Char('X'));
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    let steps = c.finished().await;
    assert!(steps.iter().all(|s| s.starts_with("ok")), "{steps:?}");
    let (ok, out) = w.warden(&["identity", "revoke", "shop/cart", "--account", "APP"]).await;
    assert!(ok, "{out}");
    for wf in ["orders", "cart"] {
        let rec = w.identity("shop", wf);
        assert_eq!(rec["status"]["phase"], "Revoked", "{wf}: {rec}");
        assert!(!w.has_cluster_spiffe_id(wf), "{wf}: ClusterSPIFFEID removed");
    }
    let (_, acc) = warden_core::nats::accounts::current(
        &warden_core::nats::sys::SysClient::new(
            async_nats::ConnectOptions::with_credentials_file(&w.op.world.sys_creds_path)
                .await
                .unwrap()
                .connect(w.op.server.url())
                .await
                .unwrap(),
        ),
        &w.op.world.app_claims.std.subject,
    )
    .await
    .unwrap()
    .unwrap();
    for wf in ["orders", "cart"] {
        let k = w.identity("shop", wf)["status"]["userPublicKey"].as_str().unwrap().to_string();
        assert!(acc.nats.revocations.contains_key(&k), "{wf}'s key revoked in the account");
    }

    // Confirmed for context ctx-a; the worker now connects with ctx-b: refused.
    c.select("other");
    c.key(KeyCode::Char('x'));
    c.key(KeyCode::Right);
    c.w.actions.send(ActionCmd::UseContext(Some("ctx-b".into()))).unwrap();
    c.key(KeyCode::Enter);
    let steps = c.finished().await;
    assert!(steps.iter().any(|s| s.starts_with("FAIL refused") && s.contains("context ctx-a, now ctx-b")), "{steps:?}");
    assert!(w.identity("shop", "other")["status"].get("phase").is_none_or(|p| p == "Pending"));
    let audit = std::fs::read_to_string(w.op.dir.path().join("console-audit.log")).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!((last["kube_context"].as_str(), last["mode"].as_str()), (Some("ctx-b"), Some("jwt")), "{last}");
    assert!(!last["servers"].as_array().unwrap().is_empty(), "{last}");
}
