//! `warden sandbox --headless --connections N --identities K` in both modes:
//! the sandbox holds N extra live client connections spread round robin
//! over K identities (`fleet/wl<i>`), and the real server says so. Read
//! through the real binary's `warden report conns -o json` (the config file
//! the sandbox wrote: creds in JWT mode, warden's SVID in SPIFFE mode),
//! which pages CONNZ as the system user.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{HeadlessSandbox, eventually};

const CONNECTIONS: usize = 300;
const IDENTITIES: usize = 20;

/// The fleet's connections (named `fleet-<i>` by the sandbox), once all
/// `CONNECTIONS` of them are listed.
async fn fleet_rows(sb: &HeadlessSandbox) -> Vec<serde_json::Value> {
    eventually(Duration::from_secs(60), &format!("{CONNECTIONS} fleet connections listed"), || async {
        let out = sb.warden(&["report", "conns", "-o", "json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).ok()?;
        let fleet: Vec<_> =
            rows.into_iter().filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with("fleet-"))).collect();
        (fleet.len() >= CONNECTIONS).then_some(fleet)
    })
    .await
}

/// Connections per authorized user: exactly `IDENTITIES` users, each with
/// its round-robin share.
fn assert_spread(fleet: &[serde_json::Value]) -> BTreeMap<String, usize> {
    assert_eq!(fleet.len(), CONNECTIONS, "one row per fleet connection");
    let mut per_user = BTreeMap::<String, usize>::new();
    for r in fleet {
        *per_user.entry(r["authorized_user"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    assert_eq!(per_user.len(), IDENTITIES, "{per_user:?}");
    assert!(per_user.values().all(|&n| n == CONNECTIONS / IDENTITIES), "{per_user:?}");
    per_user
}

#[tokio::test(flavor = "multi_thread")]
async fn spiffe_sandbox_holds_a_tls_fleet_over_its_identities() {
    let (n, k) = (CONNECTIONS.to_string(), IDENTITIES.to_string());
    let sb = HeadlessSandbox::start(&["--mode", "spiffe", "--connections", &n, "--identities", &k]);
    assert_eq!(sb.info["mode"], "spiffe", "{:?}", sb.info);
    let fleet = fleet_rows(&sb).await;
    let per_user = assert_spread(&fleet);
    // Authorized by verify_and_map as the fleet's SPIFFE IDs (the URI SAN of
    // the SVID each presented), over TLS, in the tentacles' account.
    let expected: Vec<String> =
        (0..IDENTITIES).map(|i| format!("spiffe://tentacular.local/ns/fleet/wf/wl{i}")).collect();
    let mut users: Vec<String> = per_user.into_keys().collect();
    users.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(users, want);
    for r in &fleet {
        assert!(r["tls_version"].as_str().is_some_and(|v| !v.is_empty()), "not TLS: {r}");
        assert_eq!(r["account"], "APP", "{r}");
        assert_eq!(r["jwt"].as_str().unwrap_or_default(), "", "no JWT in SPIFFE mode: {r}");
    }
    // The authorization ConfigMap carries the fleet's entries too (the
    // server's include file follows it), so an action that rewrites it
    // keeps them.
    let settings = warden_core::kube::client::KubeSettings {
        kubeconfig: Some(sb.info["kubeconfig"].clone().into()),
        context: None,
    };
    let client = warden_core::kube::client::connect(&settings).await.unwrap().map_err(|e| e.0).unwrap().client;
    let section = warden_core::config::file::KubeSection::default();
    let (ns, name) = section.authz_configmap.split_once('/').unwrap();
    let cm = kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client, ns).get(name).await.unwrap();
    let text = &cm.data.unwrap()[&section.authz_key];
    let doc = warden_core::identity::spiffe_authz::AuthzDocument::parse(text).unwrap();
    for id in &expected {
        assert!(doc.get(id).is_some(), "{id} missing from the ConfigMap:\n{text}");
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn jwt_sandbox_holds_a_fleet_over_its_identities_and_accounts() {
    let (n, k) = (CONNECTIONS.to_string(), IDENTITIES.to_string());
    let sb = HeadlessSandbox::start(&["--connections", &n, "--identities", &k, "--accounts", "4"]);
    assert_eq!(sb.info["mode"], "jwt", "{:?}", sb.info);
    let fleet = fleet_rows(&sb).await;
    let per_user = assert_spread(&fleet);
    assert!(per_user.keys().all(|u| u.starts_with('U') && u.len() == 56), "user public keys: {per_user:?}");
    for r in &fleet {
        assert!(r["jwt"].as_str().is_some_and(|j| !j.is_empty()), "{r}");
        assert_eq!(r["tls_version"].as_str().unwrap_or_default(), "", "{r}");
    }
    // Four accounts (APP and FLEET1-3), each holding a quarter: the server
    // accepted users signed by each of them.
    let mut per_account = BTreeMap::<String, usize>::new();
    for r in &fleet {
        *per_account.entry(r["account"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    assert_eq!(per_account.len(), 4, "{per_account:?}");
    assert!(per_account.values().all(|&n| n == CONNECTIONS / 4), "{per_account:?}");
    sb.stop().await;
}

#[test]
fn spiffe_mode_refuses_several_accounts() {
    let home = tempfile::tempdir().unwrap();
    let out = crate::harness::warden(
        home.path(),
        &["sandbox", "--headless", "--mode", "spiffe", "--connections", "1", "--accounts", "2"],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--accounts needs --mode jwt"), "{err}");
}

/// The raw client underneath: an SVID the server's authorization lists gets
/// in; one the same CA signed for an unlisted ID is refused; one from
/// another trust bundle fails the handshake; and a held connection answers
/// the server's PINGs (an unheld one beside it is closed as stale).
#[tokio::test(flavor = "multi_thread")]
async fn raw_svid_connections_authenticate_and_answer_pings() {
    use warden_core::identity::naming::{IdentityName, Naming};
    use warden_core::identity::spiffe_authz::{AuthzDocument, DocumentShape};
    use warden_sandbox::connections::{Identity, hold, open};
    use warden_sandbox::spiffe_mode::SpiffeWorld;

    const TD: &str = "tentacular.local";
    let dir = tempfile::tempdir().unwrap();
    let world = SpiffeWorld::generate(&dir.path().join("a"), TD).unwrap();
    let other = SpiffeWorld::generate(&dir.path().join("b"), TD).unwrap();
    let naming = Naming::with_defaults(TD).unwrap();
    let name = IdentityName::parse("fleet/wl0").unwrap();
    let id = naming.spiffe_id(&name);
    let mut doc = AuthzDocument::new(DocumentShape::UsersArray);
    doc.upsert_scope(&id, &naming.scope(&name)).unwrap();
    world.write_authz(&doc).unwrap();
    // PINGs every 200 ms, closed after one unanswered.
    let body = format!("{}ping_interval: \"200ms\"\nping_max: 1\n", world.config_body());
    let server = warden_sandbox::nats_server::NatsServer::start(&world.dir, "n1", &body).unwrap();
    let addr = server.url().trim_start_matches("nats://").to_string();
    let svid = |w: &SpiffeWorld, id: &str| {
        let s = w.issue_svid(id).unwrap();
        Identity::svid(id, &s.cert_file, &s.key_file, &w.bundle_file).unwrap()
    };

    let listed = svid(&world, &id);
    let unlisted = svid(&world, "spiffe://tentacular.local/ns/fleet/wf/stranger");
    let foreign = svid(&other, &id);
    let refused = open(&addr, &unlisted, "stranger").await.err().expect("an unlisted SPIFFE ID is refused");
    assert!(format!("{refused:#}").contains("Authorization Violation"), "{refused:#}");
    let foreign = open(&addr, &foreign, "foreign").await.err().expect("another trust bundle's SVID is refused");
    assert!(format!("{foreign:#}").contains("closed") || format!("{foreign:#}").contains("TLS"), "{foreign:#}");

    let held = open(&addr, &listed, "held").await.unwrap();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(hold(vec![held], stop));

    let sys = warden_sandbox::workloads::Credentials::Svid {
        cert: world.system.cert_file.clone(),
        key: world.system.key_file.clone(),
        bundle: world.bundle_file.clone(),
    }
    .options("sys")
    .connect(server.url().replacen("nats://", "tls://", 1))
    .await
    .unwrap();
    let open_names = || async {
        let r = sys.request("$SYS.REQ.SERVER.PING.CONNZ", "{}".into()).await.ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.payload).ok()?;
        let conns = v["data"]["connections"].as_array()?.clone();
        Some(conns.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect::<Vec<_>>())
    };
    // A connection nobody holds never answers: the server closes it as
    // stale after two ping intervals. Three of them in turn, each opened
    // after the last one closed, take at least six intervals; the held one
    // answers every PING and stays all along.
    for round in 0..3 {
        let unheld = format!("unheld-{round}");
        let _conn = open(&addr, &listed, &unheld).await.unwrap();
        let names = eventually(Duration::from_secs(20), &format!("{unheld} closed as stale"), || async {
            open_names().await.filter(|n| !n.contains(&unheld))
        })
        .await;
        assert!(names.iter().any(|n| n == "held"), "after {unheld}: {names:?}");
    }
    drop(server);
}
