//! Issue 3: JWT-mode identity actions through the real binary against a real
//! operator-mode nats-server (full resolver), and the audit log they leave.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions, Event, ServerError};
use futures::StreamExt;
use tokio::sync::mpsc;
use warden_core::nats::jwt::{self, SigningKey};
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::operator_mode::OperatorWorld;

use crate::harness::{eventually, warden};

const LIMIT: Duration = Duration::from_secs(10);

pub struct Op {
    pub dir: tempfile::TempDir,
    pub world: OperatorWorld,
    pub server: NatsServer,
    pub account_key: PathBuf,
    pub operator_key: PathBuf,
}

fn write_key(path: &Path, k: &SigningKey) {
    jwt::write_creds_file(path, &jwt::render_seed(k)).expect("write seed");
}

pub fn op_world() -> Op {
    let dir = tempfile::tempdir().expect("tempdir");
    let world = OperatorWorld::generate(dir.path()).expect("generate world");
    let server = NatsServer::start(&dir.path().join("srv"), "op1", world.config_body()).expect("start");
    let account_key = dir.path().join("keys/app-signing.nk");
    let operator_key = dir.path().join("keys/operator-signing.nk");
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    write_key(&account_key, &world.app_signing);
    write_key(&operator_key, &world.operator_signing);
    Op { dir, world, server, account_key, operator_key }
}

impl Op {
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    /// Runs warden as the system user against this server.
    pub fn warden(&self, args: &[&str]) -> (bool, String, String) {
        let url = self.server.url();
        let creds = self.world.sys_creds_path.display().to_string();
        // $USER says someone else: the audit line must name the uid's user.
        let env = [("NATS_URL", url.as_str()), ("NATS_CREDS", creds.as_str()), ("USER", "spoofed-operator")];
        let out = warden(&self.home(), args, &env);
        let so = String::from_utf8_lossy(&out.stdout).to_string();
        let se = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.success(), so, se)
    }
    /// `warden identity register NAME --account APP --creds-out CREDS` with
    /// the account signing key, plus `extra` flags; the creds it wrote.
    pub fn register_to(&self, name: &str, creds: &std::path::Path, extra: &[&str]) -> jwt::Creds {
        let (creds_s, acc_key) = (creds.display().to_string(), self.account_key.display().to_string());
        let mut args = vec!["identity", "register", name, "--account", "APP", "--creds-out", &creds_s];
        args.extend_from_slice(&["--account-signing-key", &acc_key]);
        args.extend_from_slice(extra);
        let (ok, out, err) = self.warden(&args);
        assert!(ok, "register {name}: {out}{err}");
        jwt::parse_creds(&std::fs::read_to_string(creds).unwrap()).unwrap()
    }
    pub fn audit(&self) -> String {
        std::fs::read_to_string(self.home().join("state/warden/audit.log")).unwrap_or_default()
    }
}

async fn connect_events(
    server: &NatsServer,
    creds: &Path,
) -> Result<(async_nats::Client, mpsc::UnboundedReceiver<Event>), async_nats::ConnectError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let opts = ConnectOptions::with_credentials_file(creds).await.expect("read creds").event_callback(move |ev| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    Ok((opts.connect(server.url()).await?, rx))
}

async fn wait_event(rx: &mut mpsc::UnboundedReceiver<Event>, what: &str, pred: impl Fn(&Event) -> bool) {
    tokio::time::timeout(LIMIT, async {
        while let Some(ev) = rx.recv().await {
            if pred(&ev) {
                return;
            }
        }
        panic!("events closed waiting for {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {LIMIT:?}"));
}

async fn round_trip(client: &async_nats::Client, subject: &str) {
    let mut sub = client.subscribe(subject.to_string()).await.expect("subscribe");
    client.flush().await.expect("flush");
    client.publish(subject.to_string(), "hi".into()).await.expect("publish");
    let m = tokio::time::timeout(LIMIT, sub.next()).await.expect("in time").expect("open");
    assert_eq!(m.subject.as_str(), subject);
}

fn assert_no_secrets(text: &str, op: &Op) {
    for k in [&op.world.app_signing, &op.world.operator_signing, &op.world.operator, &op.world.app] {
        let seed = jwt::render_seed(k);
        let seed_line = seed.expose().lines().find(|l| l.starts_with('S')).unwrap().to_string();
        assert!(!text.contains(&seed_line), "a signing seed leaked");
    }
    assert!(!text.contains("NKEY SEED"), "creds text leaked: {text}");
    assert!(!text.contains("eyJ"), "a JWT in the audit log: {text}");
    for w in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        assert!(!(w.len() == 58 && w.starts_with('S')), "seed-like text {w}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_register_scopes_revoke_disconnects_and_everything_is_audited() {
    let op = op_world();
    let creds = op.dir.path().join("out/orders.creds");
    std::fs::create_dir_all(creds.parent().unwrap()).unwrap();
    let (acc_key, opr_key) = (op.account_key.display().to_string(), op.operator_key.display().to_string());
    let creds_s = creds.display().to_string();

    // --read-only refuses before touching anything.
    let (ok, _, err) = op.warden(&[
        "--read-only",
        "identity",
        "register",
        "shop/orders",
        "--account",
        "APP",
        "--creds-out",
        &creds_s,
        "--account-signing-key",
        &acc_key,
    ]);
    assert!(!ok && err.contains("--read-only"), "{err}");
    assert!(!creds.exists());

    let register = [
        "identity",
        "register",
        "shop/orders",
        "--account",
        "APP",
        "--ttl",
        "1h",
        "--creds-out",
        &creds_s,
        "--account-signing-key",
        &acc_key,
    ];
    let (ok, out, err) = op.warden(&register);
    assert!(ok, "register failed: {out}\n{err}");
    assert!(out.contains("ok    mint user JWT") && out.contains("tentacle.shop.orders"), "{out}");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let parsed = jwt::parse_creds(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    let user_key = parsed.claims.std.subject.clone();
    jwt::verify_user(&parsed.jwt, &op.world.app_claims, jwt::unix_now()).expect("verifies against APP");
    let exp = parsed.claims.std.expires - jwt::unix_now();
    assert!((3500..=3600).contains(&exp), "ttl 1h gives exp in {exp}s");

    // Idempotent: a second run says so and keeps the file.
    let (ok, out, _) = op.warden(&register);
    assert!(ok && out.contains("already registered"), "{out}");
    let again = jwt::parse_creds(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!(again.claims.std.subject, user_key);

    // The creds connect; publish under its prefix works, another's is refused.
    let (client, mut events) = connect_events(&op.server, &creds).await.expect("registered creds connect");
    round_trip(&client, "tentacular.shop.orders.created").await;
    client.publish("tentacular.shop.payments.x", "no".into()).await.unwrap();
    client.flush().await.unwrap();
    wait_event(
        &mut events,
        "permissions violation",
        |e| matches!(e, Event::ServerError(ServerError::Other(m)) if m.contains("Permissions Violation")),
    )
    .await;

    // The report of connections shows it live; identities lists it.
    let (ok, out, err) = op.warden(&["report", "identities", "-o", "json"]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let row = rows.iter().find(|r| r["user"] == "tentacle.shop.orders").unwrap_or_else(|| panic!("{out}"));
    assert_eq!(row["state"], "Expiring", "1h left is under the 24h threshold: {row}");
    assert_eq!(row["connections"], 1, "{row}");

    // Revoke by NAMESPACE/WORKLOAD: the live connection identifies the key.
    let sys = ConnectOptions::with_credentials_file(&op.world.sys_creds_path)
        .await
        .unwrap()
        .connect(op.server.url())
        .await
        .unwrap();
    let mut disconnects =
        sys.subscribe(format!("$SYS.ACCOUNT.{}.DISCONNECT", op.world.app.public_key())).await.unwrap();
    sys.flush().await.unwrap();
    let revoke = ["identity", "revoke", "shop/orders", "--account", "APP", "--operator-signing-key", &opr_key];
    let (ok, out, err) = op.warden(&revoke);
    assert!(ok, "revoke failed: {out}\n{err}");
    assert!(out.contains(&format!("ok    users: {user_key}")), "{out}");
    assert!(out.contains("ok    push to op1"), "{out}");
    assert!(out.contains("ok    connections: none left"), "{out}");
    wait_event(&mut events, "disconnect", |e| matches!(e, Event::Disconnected | Event::Closed)).await;
    let adv = tokio::time::timeout(LIMIT, disconnects.next()).await.expect("advisory").unwrap();
    let adv: serde_json::Value = serde_json::from_slice(&adv.payload).unwrap();
    assert_eq!(adv["reason"], "Credentials Revoked", "{adv}");
    let e = ConnectOptions::with_credentials_file(&creds)
        .await
        .unwrap()
        .connect(op.server.url())
        .await
        .expect_err("revoked");
    assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation);

    // Revoke again, by user key: nothing to do, and it says so.
    let (ok, out, err) =
        op.warden(&["identity", "revoke", &user_key, "--account", "APP", "--operator-signing-key", &opr_key]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("already revoked"), "{out}");
    // Renewing a revoked user is refused.
    let (ok, out, _) =
        op.warden(&["identity", "renew", "shop/orders", "--creds-out", &creds_s, "--account-signing-key", &acc_key]);
    assert!(!ok && out.contains("revoked"), "{out}");

    // The audit log: one line per action run (the refused read-only one
    // never started), with who/what/target/result, and no secret.
    let audit = op.audit();
    let lines: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["register", "register", "revoke", "revoke", "renew"], "{audit}");
    assert_eq!(lines[0]["target"], "shop/orders");
    assert_eq!(lines[0]["result"], "ok");
    let who = lines[0]["who"].as_str().unwrap();
    assert!(who.starts_with(&format!("{}@", warden_core::identity::audit::uid_name())), "{who}");
    assert!(!who.contains("spoofed-operator"), "the operator comes from the uid, not $USER: {who}");
    assert_eq!(lines[4]["result"], "partial");
    assert_no_secrets(&audit, &op);
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(op.home().join("state/warden/audit.log")).unwrap().permissions().mode();
        assert_eq!(m & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_renew_of_an_expired_identity_is_accepted() {
    let op = op_world();
    let creds = op.dir.path().join("wf2.creds");
    let (acc_key, creds_s) = (op.account_key.display().to_string(), creds.display().to_string());
    // A 2s JWT needs the operator to lower the bound ([identity] min_ttl, default 1m).
    let config = op.home().join("config/warden/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[identity]\nmin_ttl = \"1s\"\n").unwrap();
    let first = op.register_to("shop/wf2", &creds, &["--ttl", "2s"]);
    let server = &op.server;
    eventually(LIMIT, "the 2s JWT to expire and be refused", || {
        let creds = creds.clone();
        async move {
            let r = ConnectOptions::with_credentials_file(&creds).await.unwrap().connect(server.url()).await;
            r.err().filter(|e| e.kind() == ConnectErrorKind::AuthorizationViolation).map(|_| ())
        }
    })
    .await;
    // The expiry report lists it as expired.
    let (ok, out, err) = op.warden(&["report", "expiry", "-o", "json"]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(rows.iter().any(|r| r["kind"] == "account" && r["name"] == "APP"), "{out}");

    let (ok, out, err) = op.warden(&[
        "identity",
        "renew",
        "shop/wf2",
        "--ttl",
        "1h",
        "--creds-out",
        &creds_s,
        "--account-signing-key",
        &acc_key,
    ]);
    assert!(ok, "renew failed: {out}\n{err}");
    let renewed = jwt::parse_creds(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!(renewed.claims.std.subject, first.claims.std.subject, "same user key");
    assert_eq!(renewed.claims.nats.permissions, first.claims.nats.permissions);
    assert!(renewed.claims.std.expires > jwt::unix_now() + 3000);
    let client = ConnectOptions::with_credentials_file(&creds)
        .await
        .unwrap()
        .connect(op.server.url())
        .await
        .expect("renewed connects");
    round_trip(&client, "tentacular.shop.wf2.ok").await;
    assert_no_secrets(&op.audit(), &op);
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_reports_accounts_list_every_account() {
    let op = op_world();
    let (ok, out, err) = op.warden(&["report", "accounts", "-o", "json"]);
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap_or("")).collect();
    assert!(names.contains(&"APP") && names.contains(&"SYS"), "{out}");
    let app = rows.iter().find(|r| r["name"] == "APP").unwrap();
    assert_eq!(app["key"], op.world.app.public_key());
    assert_eq!(app["system"], false);
    assert_eq!(app["jetstream"], true);
    assert_eq!(app["signing_keys"][0], op.world.app_signing.public_key());
    let sys = rows.iter().find(|r| r["name"] == "SYS").unwrap();
    assert_eq!(sys["system"], true, "{sys}");
    assert!(sys["connections"].as_i64().unwrap() >= 1, "warden itself is connected: {sys}");
    assert_eq!(app["drift"], serde_json::Value::Null);
    let (ok, out, _) = op.warden(&["report", "accounts"]);
    assert!(ok && out.starts_with("NAME"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_grant_and_ungrant_a_cross_tentacle_subject() {
    let op = op_world();
    let creds = op.dir.path().join("orders.creds");
    let (acc_key, creds_s) = (op.account_key.display().to_string(), creds.display().to_string());
    let first = op.register_to("shop/orders", &creds, &[]);
    let first_text = std::fs::read_to_string(&creds).unwrap();
    let grant = |verb: &str, extra: &[&str]| {
        let mut a = vec!["identity", verb, "shop/orders", "--creds-out", &creds_s, "--account-signing-key", &acc_key];
        a.extend_from_slice(extra);
        op.warden(&a)
    };
    // Neither or both directions: clap refuses.
    let (ok, _, err) = grant("grant", &[]);
    assert!(!ok && err.contains("--publish"), "{err}");
    // Over-broad needs --allow-broad; nothing is written without it.
    let (ok, out, _) = grant("grant", &["--publish", "*.>"]);
    assert!(!ok && out.contains("over-broad") && out.contains("--allow-broad"), "{out}");
    assert_eq!(std::fs::read_to_string(&creds).unwrap(), first_text);
    // Grant publish on another tentacle's inbox.
    let (ok, out, err) = grant("grant", &["--publish", "tentacular.shop.payments.inbox"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("publish added tentacular.shop.payments.inbox"), "{out}");
    let granted = jwt::parse_creds(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!(granted.claims.std.subject, first.claims.std.subject, "same user key");
    assert_eq!(granted.claims.std.expires, first.claims.std.expires, "expiry kept");
    assert_eq!(
        granted.claims.nats.permissions.publish.allow,
        ["tentacular.shop.orders.>", "tentacular.shop.payments.inbox"],
        "scope kept, grant added"
    );
    assert_eq!(granted.claims.nats.permissions.subscribe, first.claims.nats.permissions.subscribe);
    jwt::verify_user(&granted.jwt, &op.world.app_claims, jwt::unix_now()).expect("verifies");
    let (ok, out, err) = grant("grant", &["--subscribe", "tentacular.shop.payments.inbox"]);
    assert!(ok, "{out}{err}");
    // The server accepts the new JWT and the granted subjects.
    let (client, events) = connect_events(&op.server, &creds).await.expect("connects");
    round_trip(&client, "tentacular.shop.payments.inbox").await;
    round_trip(&client, "tentacular.shop.orders.x").await;
    // Idempotent.
    let (ok, out, _) = grant("grant", &["--publish", "tentacular.shop.payments.inbox"]);
    assert!(ok && out.contains("already granted"), "{out}");
    // The scope cannot be ungranted.
    let (ok, out, _) = grant("ungrant", &["--publish", "tentacular.shop.orders.>"]);
    assert!(!ok && out.contains("own scope"), "{out}");
    // Ungrant removes it; the old connection keeps its JWT until reconnect,
    // a new one is refused the subject.
    let (ok, out, err) = grant("ungrant", &["--publish", "tentacular.shop.payments.inbox"]);
    assert!(ok, "{out}{err}");
    let after = jwt::parse_creds(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!(after.claims.nats.permissions.publish.allow, ["tentacular.shop.orders.>"]);
    drop((client, events));
    let (client, mut events) = connect_events(&op.server, &creds).await.expect("connects");
    client.publish("tentacular.shop.payments.inbox", "no".into()).await.unwrap();
    client.flush().await.unwrap();
    wait_event(
        &mut events,
        "permissions violation",
        |e| matches!(e, Event::ServerError(ServerError::Other(m)) if m.contains("Permissions Violation")),
    )
    .await;
    let (ok, out, _) = grant("ungrant", &["--publish", "tentacular.shop.payments.inbox"]);
    assert!(ok && out.contains("already absent"), "{out}");
    // Audited, without secrets.
    let audit = op.audit();
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["register", "grant", "grant", "grant", "grant", "ungrant", "ungrant", "ungrant"], "{audit}");
    assert!(audit.contains("shop/orders publish tentacular.shop.payments.inbox"), "{audit}");
    assert_no_secrets(&audit, &op);
}
