//! Issue 3 with Kubernetes: the identity CLI with `--kubeconfig` against the
//! Kubernetes API double and a real operator-mode nats-server. NatsIdentity
//! approve / deny, register writing the creds Secret and the record, grant,
//! revoke deleting the ClusterSPIFFEID, and the reports' Kubernetes facts.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures::StreamExt;
use kube_double::{KubeDouble, KubeState};
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
        let double = crate::harness::shop_double().await;
        let kubeconfig = op.dir.path().join("kubeconfig");
        double.write_kubeconfig(&kubeconfig, "double").unwrap();
        let k = double.state();
        // warden runs with exactly the operator ClusterRole's verbs.
        k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-operator")).unwrap();
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

    /// A ClusterSPIFFEID named `name` selecting workload `wf` in namespace
    /// `ns`, of the official chart's controller class and with the stats
    /// that controller writes once it made the workload's entry.
    fn cluster_spiffe_id(&self, name: &str, ns: &str, wf: &str) {
        self.k
            .upsert(json!({
                "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
                "metadata": {"name": name},
                "status": {"stats": {"namespacesSelected": 1, "podsSelected": 1, "entriesToSet": 1}},
                "spec": {
                    "className": "spire-server-spire",
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
        expiry.iter().any(|r| r["kind"] == "user"
            && r["name"] == "shop/orders"
            && r["expires"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())),
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
    // A registration the SPIRE controller does not serve (another class)
    // makes the identity Drifted, with the reason.
    let mut csid = w.k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", "shop-orders").unwrap();
    let served = csid.clone();
    csid["spec"]["className"] = json!("other-class");
    w.k.upsert(csid).unwrap();
    let rows = w.report("identities").await;
    let row = rows.iter().find(|r| r["workload"] == "orders").unwrap();
    assert_eq!(row["state"], "Drifted", "{row}");
    assert!(row["reason"].as_str().unwrap().contains("className \"other-class\""), "{row}");
    w.k.upsert(served).unwrap();

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

/// `kubectl get natsidentities -A` shows what warden wrote in the columns
/// the CRD declares (PHASE, EXPIRES as an RFC 3339 date), and the status
/// warden writes validates against `deploy/crds/natsidentity.yaml` (the
/// double refuses anything else with the apiserver's 422).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_shows_phase_and_expiry_of_what_warden_wrote() {
    let w = World::new().await;
    let wl = SigningKey::generate(KeyKind::User);
    w.pending("shop", "cart", wl.public_key());
    let (ok, out, err) = w.warden(&["identity", "deny", "shop/cart", "--reason", "wrong team"]).await;
    assert!(ok, "{out}{err}");
    let rec = w.identity("shop", "cart").unwrap();
    assert_eq!(rec["status"]["phase"], "Denied");
    assert!(chrono::DateTime::parse_from_rfc3339(rec["status"]["deniedAt"].as_str().unwrap()).is_ok(), "{rec}");
    // Never an empty date-time: what is not set is absent.
    for absent in ["approvedAt", "revokedAt", "expiresAt", "jwt"] {
        assert!(rec["status"].get(absent).is_none(), "{absent}: {rec}");
    }
    let (ok, out, err) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{out}{err}");
    let rec = w.identity("shop", "orders").unwrap();
    let expires = rec["status"]["expiresAt"].as_str().expect("expiresAt").to_string();
    assert!(chrono::DateTime::parse_from_rfc3339(&expires).is_ok(), "{expires}");
    assert!(rec["status"].get("deniedAt").is_none() && rec["status"].get("expires").is_none(), "{rec}");
    let (ok, out, err) = crate::harness::kubectl(&w.kubeconfig, &["get", "natsidentities", "-A"]).await;
    assert!(ok, "{err}");
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAMESPACE", "NAME", "WORKLOAD", "PHASE", "EXPIRES", "AGE"], "{out}");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let row = |name: &str| rows.iter().find(|r| r[1] == name).unwrap_or_else(|| panic!("{name}: {out}"));
    assert_eq!(row("orders")[..5], ["shop", "orders", "orders", "Active", expires.as_str()], "{out}");
    // No expiry: the apiserver sends a null cell (tableconvertor.go), which
    // kubectl prints blank, so the next word is the AGE.
    assert_eq!(row("cart")[..4], ["shop", "cart", "cart", "Denied"], "{out}");
    assert_eq!(row("cart").len(), 5, "{out}");
}

/// With the read-only ClusterRole of `deploy/rbac/` enforced, the reports
/// still read everything, and every action is refused before it writes
/// anything, in NATS or in Kubernetes, naming the verb and resource.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_only_role_refuses_actions_before_any_write() {
    let w = World::new().await;
    let (ok, out, err) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{out}{err}");
    let wl = SigningKey::generate(KeyKind::User);
    w.pending("shop", "cart", wl.public_key());
    w.k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-readonly")).unwrap();
    let rv = w.k.resource_version();
    let (sys_creds, url) = (w.op.world.sys_creds_path.clone(), w.op.server.url());
    let app = w.op.world.app.public_key().to_string();
    let account_jwt = || {
        let (sys_creds, url, app) = (sys_creds.clone(), url.clone(), app.clone());
        async move {
            let c = ConnectOptions::with_credentials_file(&sys_creds).await.unwrap().connect(url).await.unwrap();
            let m = c.request(format!("$SYS.REQ.ACCOUNT.{app}.CLAIMS.LOOKUP"), "".into()).await.unwrap();
            String::from_utf8(m.payload.to_vec()).unwrap()
        }
    };
    let before = account_jwt().await;
    let user_key = w.identity("shop", "orders").unwrap()["status"]["userPublicKey"].as_str().unwrap().to_string();
    for args in [
        vec!["identity", "register", "shop/new", "--account", "APP"],
        vec!["identity", "approve", "shop/cart"],
        vec!["identity", "deny", "shop/cart"],
        vec!["identity", "renew", "shop/orders"],
        vec!["identity", "grant", "shop/orders", "--subscribe", "tentacular.shop.x"],
        vec!["identity", "revoke", "shop/orders", "--account", "APP"],
        vec!["identity", "revoke", user_key.as_str(), "--account", "APP"],
    ] {
        let (ok, out, err) = w.warden(&args).await;
        assert!(!ok, "{args:?} succeeded: {out}");
        let text = format!("{out}{err}");
        assert!(text.contains("Kubernetes permissions") && text.contains("forbidden, nothing was changed"), "{text}");
        assert!(text.contains("natsidentities"), "names the resource: {text}");
    }
    assert_eq!(w.k.resource_version(), rv, "nothing was written in Kubernetes");
    assert_eq!(account_jwt().await, before, "the account JWT is unchanged (no revocation pushed)");
    assert!(w.identity("shop", "new").is_none());
    // The views' reads are all allowed.
    for kind in ["identities", "expiry"] {
        let (ok, out, err) = w.warden(&["report", kind, "-o", "json"]).await;
        assert!(ok && !err.contains("forbidden"), "{kind}: {out}{err}");
    }
    let rows = w.report("identities").await;
    assert!(rows.iter().any(|r| r["workload"] == "cart" && r["state"] == "Pending"), "{rows:?}");
}

/// A bearer-token user: since 2.14.0 (2.11.17, 2.12.8) CONNZ omits its JWT
/// (server/monitor.go `redactBearerJWT`). warden joins its live connection
/// to the identity by the user key the NatsIdentity recorded, never drops
/// it, and revoke by name finds and revokes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bearer_token_user_is_joined_by_key_and_revoked_by_name() {
    let w = World::new().await;
    let key = SigningKey::generate(KeyKind::User);
    let mut claims = warden_core::nats::jwt::UserClaims::new_user(key.public_key(), "tentacle.shop.bearer");
    claims.nats.bearer_token = true;
    claims.nats.permissions.publish.allow = vec!["tentacular.shop.bearer.>".into()];
    let user = w.op.world.mint_user_claims(claims, &key).unwrap();
    w.k.upsert(json!({
        "apiVersion": NI, "kind": "NatsIdentity",
        "metadata": {"name": "bearer", "namespace": "shop"},
        "spec": {"workload": "bearer", "account": "APP", "user": "tentacle.shop.bearer"},
        "status": {"phase": "Active", "userPublicKey": key.public_key(), "jwt": user.jwt,
                   "accountPublicKey": w.op.world.app.public_key()}
    }))
    .unwrap();
    let client = ConnectOptions::with_credentials_file(user.creds_path.as_ref().unwrap())
        .await
        .unwrap()
        .max_reconnects(Some(0))
        .connect(w.op.server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let row = crate::harness::eventually(LIMIT, "the bearer user joined to shop/bearer", || async {
        let rows = w.report("identities").await;
        rows.into_iter().find(|r| r["workload"] == "bearer" && r["connections"] == 1)
    })
    .await;
    assert_eq!(row["user_key"], key.public_key(), "{row}");
    assert_eq!(row["live"], true, "{row}");
    let (ok, out, err) = w.warden(&["identity", "revoke", "shop/bearer", "--account", "APP"]).await;
    assert!(ok, "{out}{err}");
    assert!(w.identity("shop", "bearer").unwrap()["status"]["phase"] == "Revoked");
    crate::harness::eventually(LIMIT, "the bearer connection closed", || async {
        (client.connection_state() != async_nats::connection::State::Connected).then_some(())
    })
    .await;
}
