//! The JWT codec against a real nats-server in operator mode (full resolver).

use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions, Event, ServerError};
use futures::StreamExt;
use tokio::sync::mpsc;
use warden_core::nats::jwt::{self, JwtError, KeyKind, SigningKey};
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::operator_mode::{OperatorWorld, UserSpec, push_account_jwt};

use crate::harness::eventually;

const LIMIT: Duration = Duration::from_secs(10);

fn world() -> (tempfile::TempDir, OperatorWorld, NatsServer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let world = OperatorWorld::generate(dir.path()).expect("generate world");
    let server = NatsServer::start(&dir.path().join("srv"), "op1", world.config_body()).expect("start");
    (dir, world, server)
}

/// Connect options that forward every client event to a channel.
fn with_events(opts: ConnectOptions) -> (ConnectOptions, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let opts = opts.event_callback(move |ev| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    (opts, rx)
}

async fn next_event_matching(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    tokio::time::timeout(LIMIT, async {
        while let Some(ev) = rx.recv().await {
            if pred(&ev) {
                return ev;
            }
        }
        panic!("event channel closed while waiting for {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} event within {LIMIT:?}"))
}

async fn connect_creds(
    server: &NatsServer,
    creds: &std::path::Path,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    ConnectOptions::with_credentials_file(creds).await.expect("read creds").connect(server.url()).await
}

/// Publishes on `subject` and receives it back on a subscription: proves the
/// user may both publish and subscribe there.
async fn round_trip(client: &async_nats::Client, subject: &str) {
    let mut sub = client.subscribe(subject.to_string()).await.expect("subscribe");
    client.flush().await.expect("flush");
    client.publish(subject.to_string(), "hi".into()).await.expect("publish");
    let msg = tokio::time::timeout(LIMIT, sub.next()).await.expect("message in time").expect("subscription open");
    assert_eq!(msg.subject.as_str(), subject);
}

#[tokio::test]
async fn jwt_minted_user_publishes_in_scope_and_is_refused_outside() {
    let (_dir, world, server) = world();
    let user = world.mint_user(&UserSpec::tentacle("ns1", "wf1")).expect("mint");
    let creds = user.creds_path.clone().expect("creds written");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds).expect("creds").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The server is the authority on what we minted; our verifier agrees.
    jwt::verify_user(&user.jwt, &world.app_claims, jwt::unix_now()).expect("verifies");

    let (opts, mut events) = with_events(ConnectOptions::with_credentials_file(&creds).await.expect("read creds"));
    let client = opts.connect(server.url()).await.expect("connect");
    round_trip(&client, "tentacular.ns1.wf1.hello").await;

    client.publish("tentacular.ns2.other.x", "nope".into()).await.expect("publish is sent");
    client.flush().await.expect("flush");
    let ev = next_event_matching(
        &mut events,
        "permissions violation",
        |e| matches!(e, Event::ServerError(ServerError::Other(m)) if m.contains("Permissions Violation")),
    )
    .await;
    assert!(ev.to_string().contains("tentacular.ns2.other.x"), "{ev}");
    let line = eventually(LIMIT, "the Publish Violation log line", || {
        let log = server.log();
        async move {
            log.lines()
                .find(|l| l.contains("Publish Violation") && l.contains("tentacular.ns2.other.x"))
                .map(str::to_string)
        }
    })
    .await;
    eprintln!("violation line: {line}");
    assert!(line.contains(&user.public_key), "{line}");
    // The allowed subject still works afterwards (the connection stays up).
    round_trip(&client, "tentacular.ns1.wf1.again").await;
}

#[tokio::test]
async fn jwt_expired_user_is_refused_and_renewed_one_accepted() {
    let (_dir, world, server) = world();
    let key = SigningKey::generate(KeyKind::User);
    let now = jwt::unix_now();
    let spec = UserSpec::tentacle("ns1", "wf1").expires_at(now - 60);
    let expired = world.mint_user_with_key(&spec, &key).expect("mint");
    assert!(matches!(jwt::verify_user(&expired.jwt, &world.app_claims, now), Err(JwtError::Expired { .. })));
    let creds = expired.creds_path.clone().expect("creds");
    let err = connect_creds(&server, &creds).await.expect_err("expired JWT must be refused");
    assert_eq!(err.kind(), ConnectErrorKind::AuthorizationViolation, "{err}");
    // At the default log level the server says only this about it.
    eventually(LIMIT, "the server to log the refused connect", || {
        let log = server.log();
        async move { log.contains("- authentication error").then_some(()) }
    })
    .await;

    // Renew: same key, new expiry, creds file rewritten in place.
    let renewed = world.mint_user_with_key(&spec.clone().expires_at(now + 3600), &key).expect("renew");
    assert_eq!(renewed.creds_path.as_ref(), Some(&creds));
    let client = connect_creds(&server, &creds).await.expect("renewed JWT accepted");
    round_trip(&client, "tentacular.ns1.wf1.renewed").await;
}

#[tokio::test]
async fn jwt_revoked_user_is_disconnected_and_cannot_reconnect() {
    let (_dir, mut world, server) = world();
    let user = world.mint_user(&UserSpec::tentacle("ns1", "wf1")).expect("mint");
    let creds = user.creds_path.clone().expect("creds");
    let (opts, mut events) = with_events(ConnectOptions::with_credentials_file(&creds).await.expect("read creds"));
    let client = opts.connect(server.url()).await.expect("connect");
    round_trip(&client, "tentacular.ns1.wf1.before").await;

    let sys = connect_creds(&server, &world.sys_creds_path).await.expect("system user connects");
    let mut disconnects = sys
        .subscribe(format!("$SYS.ACCOUNT.{}.DISCONNECT", world.app.public_key()))
        .await
        .expect("subscribe disconnect events");
    sys.flush().await.expect("flush");
    let before = world.app_claims.std.issued_at;
    let app_jwt = world.revoke_user(&user.public_key, jwt::unix_now()).expect("revoke");
    assert!(world.app_claims.std.issued_at > before);
    let replies =
        push_account_jwt(&sys, &app_jwt, Duration::from_millis(300), LIMIT).await.expect("claims update replies");
    assert_eq!(replies.len(), 1, "{replies:?}");
    let r = &replies[0];
    assert!(r.is_ok(), "{r:?}");
    let data = r.data.as_ref().expect("data");
    assert_eq!(data.code, 200);
    assert_eq!(data.account, world.app.public_key());
    assert!(!data.message.is_empty());
    assert_eq!(r.server.name, "op1");

    next_event_matching(&mut events, "disconnect", |e| matches!(e, Event::Disconnected | Event::Closed)).await;
    let advisory = tokio::time::timeout(LIMIT, disconnects.next())
        .await
        .expect("disconnect advisory in time")
        .expect("subscription open");
    let advisory: serde_json::Value = serde_json::from_slice(&advisory.payload).expect("advisory JSON");
    assert_eq!(advisory["reason"], "Credentials Revoked", "{advisory}");
    assert_eq!(advisory["client"]["user"], user.public_key.as_str(), "{advisory}");
    let err = connect_creds(&server, &creds).await.expect_err("revoked user must be refused");
    assert_eq!(err.kind(), ConnectErrorKind::AuthorizationViolation, "{err}");
    assert!(matches!(jwt::verify_user(&user.jwt, &world.app_claims, jwt::unix_now()), Err(JwtError::Revoked { .. })));

    // The server now serves the account JWT we pushed; it decodes and
    // verifies against the operator, revocation included.
    let lookup = sys
        .request(format!("$SYS.REQ.ACCOUNT.{}.CLAIMS.LOOKUP", world.app.public_key()), "".into())
        .await
        .expect("lookup");
    let served = std::str::from_utf8(&lookup.payload).expect("utf8");
    let acc =
        jwt::verify_account(served, &world.operator_claims, jwt::unix_now()).expect("served account JWT verifies");
    assert_eq!(acc, world.app_claims);
    assert!(acc.nats.revocations.contains_key(&user.public_key));
}

#[tokio::test]
async fn jwt_for_workload_held_key_is_accepted() {
    let (_dir, world, server) = world();
    // The workload makes its key and hands over only the public key.
    let workload = SigningKey::generate(KeyKind::User);
    let public = workload.public_key().to_string();
    let minted = world.mint_for_public_key(&UserSpec::tentacle("ns2", "wf9"), &public).expect("mint");
    assert!(minted.key.is_none() && minted.creds_path.is_none());
    assert!(world.mint_for_public_key(&UserSpec::tentacle("ns2", "wf9"), world.app.public_key()).is_err());

    let signer = workload.clone();
    let client = ConnectOptions::new()
        .jwt(minted.jwt.clone(), move |nonce| {
            let sig = signer.sign(&nonce);
            async move { Ok(sig) }
        })
        .connect(server.url())
        .await
        .expect("workload connects with its own seed");
    round_trip(&client, "tentacular.ns2.wf9.x").await;

    // Someone holding only the JWT (not the seed) is refused.
    let thief = SigningKey::generate(KeyKind::User);
    let err = ConnectOptions::new()
        .jwt(minted.jwt.clone(), move |nonce| {
            let sig = thief.sign(&nonce);
            async move { Ok(sig) }
        })
        .connect(server.url())
        .await
        .expect_err("JWT without its seed must be refused");
    assert_eq!(err.kind(), ConnectErrorKind::AuthorizationViolation, "{err}");

    // The workload can also write its own creds file and use it.
    let creds = jwt::render_creds(&minted.jwt, &workload).expect("render");
    let path = world.dir.join("workload.creds");
    jwt::write_creds_file(&path, &creds).expect("write");
    let client = connect_creds(&server, &path).await.expect("creds connect");
    round_trip(&client, "tentacular.ns2.wf9.y").await;
}
