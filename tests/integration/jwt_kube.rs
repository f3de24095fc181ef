//! Issue 3 with Kubernetes: the identity CLI with `--kubeconfig` against the
//! Kubernetes API double and a real operator-mode nats-server. NatsIdentity
//! approve / deny, register writing the creds Secret and the record, grant,
//! revoke deleting the ClusterSPIFFEID, and the reports' Kubernetes facts.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures::StreamExt;
use kube_double::{KubeDouble, KubeDoubleConfig, KubeState};
use serde_json::{Value, json};
use warden_core::nats::jwt::{self, KeyKind, SigningKey};

use crate::jwt_actions::{Op, op_world};

const LIMIT: Duration = Duration::from_secs(10);
const NI: &str = "warden.dev/v1alpha1";

struct World {
    op: Op,
    _double: KubeDouble,
    k: KubeState,
    kubeconfig: PathBuf,
}

impl World {
    async fn new() -> World {
        let op = op_world();
        let cfg = KubeDoubleConfig {
            namespaces: vec!["default".into(), "shop".into(), "kube-system".into()],
            ..Default::default()
        };
        let double = KubeDouble::start(cfg).await.expect("double");
        let kubeconfig = op.dir.path().join("kubeconfig");
        double.write_kubeconfig(&kubeconfig, "double").unwrap();
        let k = double.state();
        World { op, _double: double, k, kubeconfig }
    }

    /// warden with `--kubeconfig` and both signing keys, off the runtime's
    /// worker (the double is served by this runtime).
    async fn warden(&self, args: &[&str]) -> (bool, String, String) {
        let mut a: Vec<String> = vec!["--kubeconfig".into(), self.kubeconfig.display().to_string()];
        a.extend(args.iter().map(|s| s.to_string()));
        if a.iter().any(|s| s == "identity") {
            a.extend([
                "--account-signing-key".to_string(),
                self.op.account_key.display().to_string(),
                "--operator-signing-key".to_string(),
                self.op.operator_key.display().to_string(),
            ]);
        }
        let url = self.op.server.url();
        let creds = self.op.world.sys_creds_path.display().to_string();
        let home = self.op.home();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            let out =
                crate::harness::warden(&home, &refs, &[("NATS_URL", url.as_str()), ("NATS_CREDS", creds.as_str())]);
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        })
        .await
        .unwrap()
    }

    fn identity(&self, ns: &str, name: &str) -> Option<Value> {
        self.k.get(NI, "NatsIdentity", ns, name)
    }

    fn pending(&self, ns: &str, wf: &str, public_key: &str) {
        self.k
            .upsert(json!({
                "apiVersion": NI, "kind": "NatsIdentity",
                "metadata": {"name": wf, "namespace": ns},
                "spec": {"workload": wf, "account": "APP", "publicKey": public_key, "ttl": "1h"}
            }))
            .expect("seed NatsIdentity");
    }

    /// A ClusterSPIFFEID named `name` selecting workload `wf` in namespace `ns`.
    fn cluster_spiffe_id(&self, name: &str, ns: &str, wf: &str) {
        self.k
            .upsert(json!({
                "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
                "metadata": {"name": name},
                "spec": {
                    "spiffeIDTemplate": format!("spiffe://tentacular.local/ns/{{{{ .PodMeta.Namespace }}}}/wf/{wf}"),
                    "podSelector": {"matchLabels": {"tentacular.io/workflow": wf}},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}
                }
            }))
            .expect("seed ClusterSPIFFEID");
    }

    async fn report(&self, kind: &str) -> Vec<Value> {
        let (ok, out, err) = self.warden(&["report", kind, "-o", "json"]).await;
        assert!(ok, "report {kind}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

async fn round_trip(client: &async_nats::Client, subject: &str) {
    let mut sub = client.subscribe(subject.to_string()).await.expect("subscribe");
    client.flush().await.expect("flush");
    client.publish(subject.to_string(), "hi".into()).await.expect("publish");
    let m = tokio::time::timeout(LIMIT, sub.next()).await.expect("in time").expect("open");
    assert_eq!(m.subject.as_str(), subject);
}

async fn connect_with(
    w: &World,
    jwt_text: &str,
    key: &SigningKey,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let path = w.op.dir.path().join(format!("wl-{}.creds", &key.public_key()[..8]));
    jwt::write_creds_file(&path, &jwt::render_creds(jwt_text, key).unwrap()).unwrap();
    ConnectOptions::with_credentials_file(&path).await.unwrap().connect(w.op.server.url()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_and_deny_pending_natsidentities() {
    let w = World::new().await;
    // The workload holds its own key; only the public key is in the request.
    let wl = SigningKey::generate(KeyKind::User);
    w.pending("shop", "cart", wl.public_key());
    let other = SigningKey::generate(KeyKind::User);
    w.pending("shop", "rogue", other.public_key());

    let rows = w.report("identities").await;
    let cart = rows.iter().find(|r| r["workload"] == "cart").unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(cart["state"], "Pending");

    let (ok, out, err) = w.warden(&["identity", "approve", "shop/cart"]).await;
    assert!(ok, "approve: {out}{err}");
    let rec = w.identity("shop", "cart").unwrap();
    assert_eq!(rec["status"]["phase"], "Active", "{rec}");
    assert_eq!(rec["status"]["userPublicKey"], wl.public_key());
    let token = rec["status"]["jwt"].as_str().unwrap().to_string();
    let claims = jwt::verify_user(&token, &w.op.world.app_claims, jwt::unix_now()).expect("verifies against APP");
    assert_eq!(claims.std.subject, wl.public_key());
    assert_eq!(claims.std.name, "tentacle.shop.cart");
    let left = claims.std.expires - jwt::unix_now();
    assert!((3500..=3600).contains(&left), "spec.ttl 1h: {left}");
    // The real server accepts it when the workload connects with its own seed.
    let client = connect_with(&w, &token, &wl).await.expect("approved identity connects");
    round_trip(&client, "tentacular.shop.cart.ready").await;
    // Idempotent.
    let (ok, out, _) = w.warden(&["identity", "approve", "shop/cart"]).await;
    assert!(ok && out.contains("already approved"), "{out}");

    // Deny: Denied with the reason; approve afterwards is refused.
    let (ok, out, err) = w.warden(&["identity", "deny", "shop/rogue", "--reason", "unknown workload"]).await;
    assert!(ok, "deny: {out}{err}");
    let rec = w.identity("shop", "rogue").unwrap();
    assert_eq!(rec["status"]["phase"], "Denied", "{rec}");
    assert_eq!(rec["status"]["message"], "unknown workload");
    assert_eq!(rec["status"].get("jwt").and_then(Value::as_str).unwrap_or(""), "");
    let (ok, out, _) = w.warden(&["identity", "approve", "shop/rogue"]).await;
    assert!(!ok && out.contains("Denied"), "{out}");
    let (ok, out, _) = w.warden(&["identity", "deny", "shop/rogue"]).await;
    assert!(ok && out.contains("already denied"), "{out}");

    let rows = w.report("identities").await;
    let state = |wf: &str| rows.iter().find(|r| r["workload"] == wf).map(|r| r["state"].clone());
    assert_eq!(state("cart"), Some(json!("Expiring")), "{rows:?}");
    assert_eq!(state("rogue"), Some(json!("Denied")), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn register_with_kubernetes_grant_and_revoke_removes_the_spire_registration() {
    let w = World::new().await;
    // orders is registered under the older `{ns}-{wf}` name: revoke finds it by its selectors.
    w.cluster_spiffe_id("shop-orders", "shop", "orders");
    w.cluster_spiffe_id("shop.ghost", "shop", "ghost");

    // Before: a SPIRE registration with nothing on the NATS side is Drifted.
    let rows = w.report("identities").await;
    let ghost = rows.iter().find(|r| r["workload"] == "ghost").unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(ghost["state"], "Drifted", "{ghost}");

    let (ok, out, err) = w.warden(&["identity", "register", "shop/orders", "--account", "APP", "--ttl", "48h"]).await;
    assert!(ok, "register: {out}{err}");
    assert!(out.contains("ok    creds Secret: shop/orders-nats-creds"), "{out}");
    // The Secret holds the creds (JWT + the seed warden generated).
    let secret = w.k.get("v1", "Secret", "shop", "orders-nats-creds").expect("creds Secret");
    assert_eq!(secret["metadata"]["labels"]["warden.dev/identity"], "orders", "{secret}");
    let b64 = secret["data"]["user.creds"].as_str().expect("data.user.creds");
    let text = String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap();
    let creds = jwt::parse_creds(&text).expect("a creds file");
    let user_key = creds.claims.std.subject.clone();
    // And the NatsIdentity records the same JWT.
    let rec = w.identity("shop", "orders").expect("NatsIdentity");
    assert_eq!(rec["spec"]["user"], "tentacle.shop.orders");
    assert_eq!(rec["status"]["phase"], "Active");
    assert_eq!(rec["status"]["jwt"].as_str(), Some(creds.jwt.as_str()));
    let path = w.op.dir.path().join("from-secret.creds");
    jwt::write_creds_file(&path, &jwt::render_creds(&creds.jwt, &creds.key).unwrap()).unwrap();
    let client = ConnectOptions::with_credentials_file(&path).await.unwrap().connect(w.op.server.url()).await.unwrap();
    round_trip(&client, "tentacular.shop.orders.new").await;
    // Idempotent.
    let (ok, out, _) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok && out.contains("already registered"), "{out}");

    // warden's own views never show the seed: reports, the audit log.
    let user_seed_line = text.lines().find(|l| l.starts_with("SU")).unwrap().to_string();
    for kind in ["identities", "expiry"] {
        let (ok, out, err) = w.warden(&["report", kind, "-o", "json"]).await;
        assert!(ok, "{err}");
        assert!(!out.contains(&user_seed_line) && !out.contains("NKEY SEED"), "{kind} shows a seed");
        let (_, out, _) = w.warden(&["report", kind]).await;
        assert!(!out.contains(&user_seed_line), "{kind} table shows a seed");
    }
    let rows = w.report("identities").await;
    let orders: Vec<&Value> = rows.iter().filter(|r| r["workload"] == "orders").collect();
    assert_eq!(orders.len(), 1, "{rows:?}");
    assert_eq!((orders[0]["state"].clone(), orders[0]["recorded"].clone()), (json!("Active"), json!(true)));
    assert!(rows.iter().all(|r| r["workload"] != "orders" || r["state"] != "Drifted"));
    let expiry = w.report("expiry").await;
    // The user JWT is listed from the identity (NatsIdentity status.jwt);
    // creds Secrets are not read (no cluster-wide Secret access).
    assert!(
        expiry.iter().any(|r| r["kind"] == "user" && r["name"] == "shop/orders" && r["expires"].is_i64()),
        "expiry lists the identity's JWT: {expiry:?}"
    );
    assert!(expiry.iter().all(|r| r["kind"] != "creds"), "{expiry:?}");

    // Grant: re-minted into status and the Secret, recorded in spec.grants.
    let (ok, out, err) =
        w.warden(&["identity", "grant", "shop/orders", "--subscribe", "tentacular.shop.payments.events"]).await;
    assert!(ok, "grant: {out}{err}");
    let rec = w.identity("shop", "orders").unwrap();
    assert_eq!(
        rec["spec"]["grants"],
        json!([{"direction": "subscribe", "subject": "tentacular.shop.payments.events"}])
    );
    let granted = jwt::decode_as::<jwt::User>(rec["status"]["jwt"].as_str().unwrap()).unwrap();
    assert!(granted.nats.permissions.subscribe.allow.contains(&"tentacular.shop.payments.events".to_string()));
    assert_eq!(granted.std.subject, user_key);
    let secret = w.k.get("v1", "Secret", "shop", "orders-nats-creds").unwrap();
    let text2 = String::from_utf8(
        data_encoding::BASE64.decode(secret["data"]["user.creds"].as_str().unwrap().as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(jwt::parse_creds(&text2).unwrap().jwt, rec["status"]["jwt"].as_str().unwrap(), "Secret follows");
    // A creds Secret that disagrees with the record is Drifted.
    let mut tampered = secret.clone();
    tampered["data"]["user.creds"] = json!(data_encoding::BASE64.encode(text.as_bytes()));
    w.k.upsert(tampered).unwrap();
    let rows = w.report("identities").await;
    let row = rows.iter().find(|r| r["workload"] == "orders").unwrap();
    assert_eq!(row["state"], "Drifted", "{row}");
    assert!(row["reason"].as_str().unwrap().contains("different JWT"), "{row}");

    // Revoke: account revocation, connection closed, ClusterSPIFFEID deleted
    // (not another namespace's registration of a workload with the same name).
    w.cluster_spiffe_id("other.orders", "other", "orders");
    let (ok, out, err) = w.warden(&["identity", "revoke", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "revoke: {out}{err}");
    assert!(out.contains("ok    SPIRE registration: ClusterSPIFFEID shop-orders deleted"), "{out}");
    assert!(w.k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "shop-orders").is_none());
    assert!(w.k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "shop.ghost").is_some());
    assert!(w.k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "other.orders").is_some());
    assert_eq!(w.identity("shop", "orders").unwrap()["status"]["phase"], "Revoked");
    let (ok, out, err) = w.warden(&["identity", "revoke", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("ClusterSPIFFEID shop.orders already gone") && out.contains("already revoked"), "{out}");
    assert!(!w.op.audit().contains(&user_seed_line));
}
