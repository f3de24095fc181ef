//! Server findings that need a server configured wrong (TLS without mapped
//! users, SPIFFE mode without client verification, a certificate running
//! out, a shared token) or several servers that disagree (account JWT
//! drift) or an account whose JWT expires: real nats-servers, the real
//! `warden doctor -o json`; each finding appears naming its object and goes
//! once the cause is fixed.

use std::time::Duration;

use serde_json::Value;
use warden_core::nats::jwt::{self, AccountClaims, KeyKind, SigningKey, UserClaims};
use warden_sandbox::nats_server::{NatsServer, free_port};
use warden_sandbox::operator_mode::OperatorWorld;
use warden_sandbox::spiffe_mode::{SpiffeWorld, signal_reload};

use crate::harness::{ACCOUNTS, cluster_block, eventually, findings_of, warden};

const TD: &str = "tls.test";
const LIMIT: Duration = Duration::from_secs(30);

fn refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The doctor report once it succeeds and `ok` holds for it; on timeout
/// the panic says what the last run printed.
async fn doctor_until(
    home: &std::path::Path,
    env: &[(&'static str, String)],
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let out = warden(home, &["doctor", "-o", "json"], &refs(env));
        let v: Option<Value> = out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten();
        if let Some(v) = v.filter(|v| ok(v)) {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {LIMIT:?} waiting for: {what}; last run: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has(v: &Value, code: &str) -> bool {
    !findings_of(v, code).is_empty()
}

/// A `tls { }` block with the world's server certificate and CA and `verify`
/// (`verify: true`, or nothing: server-side TLS only).
fn tls_block(w: &SpiffeWorld, verify: &str) -> String {
    format!(
        "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  ca_file: {:?}\n  {verify}\n  timeout: 2\n}}\n",
        w.server_cert_file.display().to_string(),
        w.server_key_file.display().to_string(),
        w.bundle_file.display().to_string()
    )
}

/// warden as user sys/sys over TLS (trusting the world's CA), with its SVID
/// as client certificate when `cert`.
fn password_env(url: &str, w: &SpiffeWorld, cert: bool) -> Vec<(&'static str, String)> {
    let mut env = crate::harness::sys_env(url);
    env.push(("NATS_CA", w.bundle_file.display().to_string()));
    if cert {
        env.push(("NATS_CERT", w.system.cert_file.display().to_string()));
        env.push(("NATS_KEY", w.system.key_file.display().to_string()));
    }
    env
}

/// warden authenticated by its SVID alone (the SPIFFE-mode system user).
fn svid_env(url: &str, w: &SpiffeWorld) -> Vec<(&'static str, String)> {
    vec![
        ("NATS_URL", url.to_string()),
        ("NATS_CA", w.bundle_file.display().to_string()),
        ("NATS_CERT", w.system.cert_file.display().to_string()),
        ("NATS_KEY", w.system.key_file.display().to_string()),
    ]
}

/// Client certificates required and verified (`verify: true`) but users
/// still authenticate by password: every certificate holder is alike.
/// Mapping certificates to users (`verify_and_map`) fixes it.
#[tokio::test]
async fn verified_certificates_without_mapped_users_are_mtls_without_auth_until_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let world = SpiffeWorld::generate(&dir.path().join("pki"), TD).unwrap();
    let body = format!("{}{ACCOUNTS}", tls_block(&world, "verify: true"));
    let mut server = NatsServer::start(&world.dir, "n1", &body).expect("start");
    let home = dir.path().join("home");
    let env = password_env(&server.url(), &world, true);

    let v = doctor_until(&home, &env, "mtls-without-auth", |v| has(v, "mtls-without-auth")).await;
    let f = findings_of(&v, "mtls-without-auth")[0];
    assert_eq!(f["objects"][0], "server n1", "{f:#}");
    assert!(f["evidence"].as_str().unwrap().contains("tls_verify is true"), "{f:#}");
    assert!(!has(&v, "no-auth") && !has(&v, "spiffe-without-mtls"), "{v:#}");

    // The fix: map certificates to users (warden's SVID is the system user).
    // verify_and_map is not reloadable (`server/reload.go` `diffOptions`
    // has no case for TLSMap): a restart.
    server.rewrite_config(&world.config_body()).unwrap();
    server.restart().unwrap();
    let env = svid_env(&server.url(), &world);
    doctor_until(&home, &env, "mtls-without-auth to go once certificates map to users", |v| {
        !has(v, "mtls-without-auth") && !has(v, "no-auth")
    })
    .await;
}

/// warden configured for SPIFFE mode, but the server only offers TLS and
/// takes passwords: the SVIDs are never checked. verify_and_map fixes it.
#[tokio::test]
async fn a_spiffe_deployment_whose_server_does_not_verify_clients_is_spiffe_without_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let world = SpiffeWorld::generate(&dir.path().join("pki"), TD).unwrap();
    let body = format!("{}{ACCOUNTS}", tls_block(&world, ""));
    let mut server = NatsServer::start(&world.dir, "n1", &body).expect("start");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[kubernetes]\nenabled = false\n\n[naming]\ntrust_domain = \"{TD}\"\n\n[identity]\nmode = \"spiffe\"\n"
        ),
    )
    .unwrap();
    let with_config = |mut env: Vec<(&'static str, String)>| {
        env.push(("WARDEN_CONFIG", config.display().to_string()));
        env
    };
    let env = with_config(password_env(&server.url(), &world, false));
    let v = doctor_until(&home, &env, "spiffe-without-mtls", |v| has(v, "spiffe-without-mtls")).await;
    let f = findings_of(&v, "spiffe-without-mtls")[0];
    assert_eq!((f["objects"][0].as_str(), f["severity"].as_str()), (Some("server n1"), Some("critical")), "{f:#}");
    assert_eq!(f["evidence"], "VARZ tls_verify is false (tls_required true)", "{f:#}");
    assert!(!has(&v, "mtls-without-auth"), "SPIFFE mode expects certificates: {v:#}");

    // Not reloadable (see above): a restart.
    server.rewrite_config(&world.config_body()).unwrap();
    server.restart().unwrap();
    let env = with_config(svid_env(&server.url(), &world));
    doctor_until(&home, &env, "spiffe-without-mtls to go once clients are verified", |v| {
        !has(v, "spiffe-without-mtls") && !has(v, "mtls-without-auth")
    })
    .await;
}

/// VARZ `tls_cert_not_after` (`server/monitor.go` `tlsCertNotAfter`,
/// refreshed on reload by `updateVarzConfigReloadableFields`): a
/// certificate with two hours left is critical; a renewed one and a reload
/// clear it.
#[tokio::test]
async fn a_server_certificate_running_out_is_found_until_renewed_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let world = SpiffeWorld::generate(&dir.path().join("pki"), TD).unwrap();
    let not_after = world.reissue_server_cert(Duration::from_secs(2 * 3600)).unwrap();
    let server = NatsServer::start(&world.dir, "n1", &world.config_body()).expect("start");
    let home = dir.path().join("home");
    let env = svid_env(&server.url(), &world);

    let v = doctor_until(&home, &env, "server-tls-cert-expiring", |v| has(v, "server-tls-cert-expiring")).await;
    let f = findings_of(&v, "server-tls-cert-expiring")[0];
    assert_eq!((f["objects"][0].as_str(), f["severity"].as_str()), (Some("server n1"), Some("critical")), "{f:#}");
    let stamp = warden_core::identity::record::rfc3339_of(not_after.unix_timestamp());
    let day = &stamp[..10];
    assert!(f["evidence"].as_str().unwrap().contains(day), "the certificate's own expiry ({day}): {f:#}");

    world.reissue_server_cert(Duration::from_secs(60 * 86_400)).unwrap();
    signal_reload(server.pid().unwrap()).unwrap();
    doctor_until(&home, &env, "server-tls-cert-expiring to go after the renewal", |v| {
        !has(v, "server-tls-cert-expiring")
    })
    .await;
}

/// A server authenticates by a shared token. nats-server refuses a token
/// beside `accounts` (`server/opts.go`), so warden cannot log in to that
/// server's system account; but the token server still has the default
/// system account `$SYS` (`server/server.go` `DEFAULT_SYSTEM_ACCOUNT`), and
/// a peer that names its system account `$SYS` too shares it over the route:
/// warden logs in there and the token server answers `$SYS.REQ.SERVER.PING.*`
/// like any other. Its CONNZ shows token clients as `[REDACTED]`.
#[tokio::test]
async fn a_token_server_in_a_cluster_is_token_auth_until_it_names_its_users() {
    const TOKEN: &str = "s3cret-shared-token-4b1d";
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2) = (free_port(), free_port());
    let token_body = format!("authorization {{ token: \"{TOKEN}\" }}\n{}", cluster_block(r1, r2));
    let tok = NatsServer::start(dir.path(), "tok", &token_body).expect("start tok");
    let sys_body = format!(
        "accounts {{ \"$SYS\" {{ users = [ {{ user: sys, password: sys }} ] }} }}\nsystem_account: \"$SYS\"\n{}",
        cluster_block(r2, r1)
    );
    let acc = NatsServer::start(dir.path(), "acc", &sys_body).expect("start acc");
    let home = dir.path().join("home");
    let env = crate::harness::sys_env(&acc.url());

    let legacy = async_nats::ConnectOptions::with_token(TOKEN.into())
        .name("legacy-cron")
        .connect(tok.url())
        .await
        .expect("token client connects");
    let v = doctor_until(&home, &env, "token-auth on tok", |v| has(v, "token-auth")).await;
    let f = findings_of(&v, "token-auth");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["objects"][0], "server tok", "{v:#}");
    assert!(f[0]["evidence"].as_str().unwrap().contains("[REDACTED] on 1 connection"), "{v:#}");
    assert!(!v.to_string().contains(TOKEN), "the token never reaches the report");
    assert!(!has(&v, "no-auth"), "{v:#}");

    // The fix: named users. The reload closes the token client.
    let users = "authorization { users = [ { user: legacy, password: \"legacy-pw\" } ] }\n";
    tok.rewrite_config(&format!("{users}{}", cluster_block(r1, r2))).unwrap();
    signal_reload(tok.pid().unwrap()).unwrap();
    let tok_url = tok.url();
    let named = eventually(LIMIT, "the reload to accept named users", || {
        let c = async_nats::ConnectOptions::with_user_and_password("legacy".into(), "legacy-pw".into())
            .connect(tok_url.clone());
        async move { c.await.ok() }
    })
    .await;
    doctor_until(&home, &env, "token-auth to go once users are named", |v| !has(v, "token-auth")).await;
    // tok is still examined: it is not the finding that went, but its cause.
    let out = warden(&home, &["report", "servers", "-o", "json"], &refs(&env));
    let servers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("servers JSON");
    assert!(servers.iter().any(|s| s["name"] == "tok"), "{servers:?}");
    drop((legacy, named));
}

fn creds_for(dir: &std::path::Path, name: &str, account: &SigningKey, now: i64) -> std::path::PathBuf {
    let user = SigningKey::generate(KeyKind::User);
    let mut c = UserClaims::new_user(user.public_key(), name);
    let token = jwt::encode_user(&mut c, account, account.public_key(), now).unwrap();
    let path = dir.join(format!("{name}.creds"));
    jwt::write_creds_file(&path, &jwt::render_creds(&token, &user).unwrap()).unwrap();
    path
}

/// Two routed operator-mode servers with a MEMORY resolver, each preloading
/// a different JWT of APP: the drift names both servers; pushing the newer
/// JWT to `$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE` (which memory resolvers
/// take for loaded accounts, `server/events.go` `accountClaimUpdate`) ends it.
#[tokio::test]
async fn two_servers_preloading_different_account_jwts_drift_until_one_is_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = OperatorWorld::generate(&dir.path().join("world")).unwrap();
    let old = world.app_jwt.clone();
    let new = world.resign_app().unwrap();
    let (r1, r2) = (free_port(), free_port());
    let n1 = NatsServer::start(
        &dir.path().join("n1"),
        "n1",
        &format!("{}{}", world.memory_resolver_body(&old), cluster_block(r1, r2)),
    )
    .expect("start n1");
    let n2 = NatsServer::start(
        &dir.path().join("n2"),
        "n2",
        &format!("{}{}", world.memory_resolver_body(&new), cluster_block(r2, r1)),
    )
    .expect("start n2");
    // A user of APP on each server, so each has APP loaded.
    let mut users = vec![];
    for (i, s) in [&n1, &n2].into_iter().enumerate() {
        let u = world.mint_user(&warden_sandbox::operator_mode::UserSpec::tentacle("shop", &format!("w{i}"))).unwrap();
        let c = async_nats::ConnectOptions::with_credentials_file(u.creds_path.unwrap())
            .await
            .unwrap()
            .connect(s.url())
            .await
            .expect("APP user connects");
        users.push(c);
    }
    let home = dir.path().join("home");
    let env = vec![("NATS_URL", n1.url()), ("NATS_CREDS", world.sys_creds_path.display().to_string())];
    let app_obj = format!("account APP ({})", world.app.public_key());

    let v = doctor_until(&home, &env, "account-jwt-drift", |v| has(v, "account-jwt-drift")).await;
    let f = findings_of(&v, "account-jwt-drift")[0];
    assert_eq!(f["objects"][0], app_obj.as_str(), "{f:#}");
    let ev = f["evidence"].as_str().unwrap();
    let new_jti = jwt::decode_as::<jwt::Account>(&new).unwrap().std.id;
    assert!(ev.contains("older JWT served by n1") && ev.contains("by n2"), "both servers named: {ev}");
    assert!(ev.contains(&new_jti[..8]), "the newest jti: {ev}");

    let sys = async_nats::ConnectOptions::with_credentials_file(world.sys_creds_path.clone())
        .await
        .unwrap()
        .connect(n1.url())
        .await
        .unwrap();
    let subject = format!("$SYS.REQ.ACCOUNT.{}.CLAIMS.UPDATE", world.app.public_key());
    let reply = sys.request(subject, new.clone().into()).await.expect("a server answers the update");
    assert!(String::from_utf8_lossy(&reply.payload).contains("jwt updated"), "{:?}", reply.payload);
    doctor_until(&home, &env, "the drift to go once both servers hold the newer JWT", |v| !has(v, "account-jwt-drift"))
        .await;
    drop(users);
}

/// An account JWT pushed to a full resolver that expires seconds later:
/// `CLAIMS.LIST` leaves it out once expired (`server/dirstore.go`
/// `PackWalk`), but the server still has it loaded (ACCOUNTZ), so the
/// doctor finds it expired; a fresh JWT pushed ends it.
#[tokio::test]
async fn an_account_jwt_that_expires_is_found_expired_until_a_fresh_one_is_pushed() {
    use warden_core::nats::claims_update::push_account_jwt;
    let dir = tempfile::tempdir().unwrap();
    let world = OperatorWorld::generate(&dir.path().join("world")).unwrap();
    let server = NatsServer::start(&dir.path().join("nats"), "n1", world.config_body()).expect("start");
    let sys = async_nats::ConnectOptions::with_credentials_file(world.sys_creds_path.clone())
        .await
        .unwrap()
        .connect(server.url())
        .await
        .unwrap();
    let push = |token: String| {
        let sys = sys.clone();
        async move {
            let replies =
                push_account_jwt(&sys, &token, Duration::from_millis(300), Duration::from_secs(5)).await.unwrap();
            assert!(replies.iter().all(|r| r.is_ok()), "{replies:?}");
        }
    };

    let eph = SigningKey::generate(KeyKind::Account);
    let mut claims = AccountClaims::new_account(eph.public_key(), "EPHEMERAL");
    let now = jwt::unix_now();
    claims.std.expires = now + 5;
    push(jwt::encode_at(&mut claims, &world.operator_signing, now).unwrap()).await;
    // A user of it connects while it is valid: the server loads the account.
    let user = async_nats::ConnectOptions::with_credentials_file(creds_for(dir.path(), "short", &eph, now))
        .await
        .unwrap()
        .connect(server.url())
        .await
        .expect("EPHEMERAL user connects");

    let home = dir.path().join("home");
    let env = vec![("NATS_URL", server.url()), ("NATS_CREDS", world.sys_creds_path.display().to_string())];
    let obj = format!("account EPHEMERAL ({})", eph.public_key());
    let v = doctor_until(&home, &env, "account-jwt-expired", |v| has(v, "account-jwt-expired")).await;
    let f = findings_of(&v, "account-jwt-expired")[0];
    assert_eq!((f["objects"][0].as_str(), f["severity"].as_str()), (Some(obj.as_str()), Some("critical")), "{f:#}");
    // What made it unreachable before: CLAIMS.LIST no longer names it.
    let sysc = warden_core::nats::sys::SysClient::new(sys.clone());
    let (listed, _) = warden_core::nats::accounts::list_ids(&sysc).await.unwrap();
    assert!(!listed.contains(eph.public_key()), "CLAIMS.LIST omits the expired account");

    claims.std.expires = jwt::unix_now() + 365 * 86_400;
    push(jwt::encode_reissue(&mut claims, &world.operator_signing, jwt::unix_now()).unwrap()).await;
    doctor_until(&home, &env, "account-jwt-expired to go after a fresh JWT", |v| {
        let about_it = |f: &&Value| f["objects"][0] == obj.as_str();
        !["account-jwt-expired", "account-jwt-expiring"].iter().any(|c| findings_of(v, c).iter().any(about_it))
    })
    .await;
    drop(user);
}

/// Reading creds Secrets needs `list secrets` (deploy/rbac/warden-creds-check.yaml),
/// which warden-readonly does not grant: refused, the doctor still reports,
/// naming the source it could not read; with the role bound, it reads it.
#[tokio::test(flavor = "multi_thread")]
async fn refused_creds_secrets_are_a_source_not_read_until_the_creds_role_is_bound() {
    use crate::harness::rbac_role;
    let dir = tempfile::tempdir().unwrap();
    let server = crate::harness::config_mode(dir.path(), "n1");
    let double = crate::harness::shop_double().await;
    let kubeconfig = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kubeconfig, "double").unwrap();
    let k = double.state();
    k.enforce_cluster_role_yaml(&rbac_role("warden-readonly")).unwrap();
    let home = dir.path().join("home");
    let mut env = crate::harness::sys_env(&server.url());
    env.push(("KUBECONFIG", kubeconfig.display().to_string()));
    let unread = |v: &Value| -> Vec<String> {
        v["unavailable"]
            .as_array()
            .map(|a| {
                a.iter().filter_map(|u| u.as_str()).filter(|u| u.contains("Secrets")).map(str::to_string).collect()
            })
            .unwrap_or_default()
    };
    let v = doctor_until(&home, &env, "creds Secrets named as not read", |v| !unread(v).is_empty()).await;
    assert_eq!(unread(&v).len(), 1, "{v:#}");
    assert!(unread(&v)[0].starts_with("creds Secrets: forbidden: list secrets"), "{v:#}");

    k.enforce_cluster_role_yaml(&format!("{}\n---\n{}", rbac_role("warden-readonly"), rbac_role("warden-creds-check")))
        .unwrap();
    doctor_until(&home, &env, "creds Secrets read with the role bound", |v| unread(v).is_empty()).await;
}
