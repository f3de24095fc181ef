//! Why authentication failed, and revocation as a time, against a real
//! operator-mode nats-server (full resolver).
//!
//! nats-server sends `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` with the presented
//! JWT in `client.jwt` (`server/events.go` `sendAuthErrorEvent`); the
//! feed diagnoses it with the account's JWT as the resolver serves it.
//! Revocations are times (`server/accounts.go` `isRevoked`): `*` revokes
//! every user JWT issued at or before it, and a JWT issued after it is
//! accepted.

use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions};
use tokio::sync::mpsc;
use warden::app::violations::feed::{self, Batch, NatsSource, Sources};
use warden_core::nats::jwt::{self, KeyKind, SigningKey, UserClaims};
use warden_core::violations::Violation;
use warden_core::violations::auth_diagnosis::CauseKind;
use warden_sandbox::operator_mode::{UserSpec, push_account_jwt};

use crate::jwt_actions::op_world;

const LIMIT: Duration = Duration::from_secs(15);

/// Waits for a diagnosed auth failure of client `name`.
async fn diagnosed(rx: &mut mpsc::Receiver<Batch>, name: &str) -> Violation {
    tokio::time::timeout(LIMIT, async {
        loop {
            let b = rx.recv().await.expect("feed open");
            if let Some(v) =
                b.violations.into_iter().find(|v| v.client_name.as_deref() == Some(name) && v.cause.is_some())
            {
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no diagnosed auth failure for {name} within {LIMIT:?}"))
}

async fn refused(url: &str, creds: &std::path::Path, name: &str) {
    let e = ConnectOptions::with_credentials_file(creds)
        .await
        .expect("read creds")
        .name(name)
        .connect(url)
        .await
        .expect_err("must be refused");
    assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failures_are_labelled_expired_revoked_and_unlisted_signer() {
    let mut op = op_world();
    let url = op.server.url();
    let sys = ConnectOptions::with_credentials_file(&op.world.sys_creds_path)
        .await
        .unwrap()
        .connect(url.as_str())
        .await
        .expect("system user");
    let (tx, mut rx) = mpsc::channel(64);
    let _feed = feed::start(Sources { nats: Some(NatsSource::Now(sys.clone())), ..Default::default() }, tx);
    // The events source says when it is subscribed.
    tokio::time::timeout(LIMIT, async {
        loop {
            let b = rx.recv().await.expect("feed");
            if b.sources.iter().any(|s| s.name == "events" && s.state.is_ok()) {
                break;
            }
        }
    })
    .await
    .expect("events source subscribed");

    // 1. Expired a minute ago.
    let now = jwt::unix_now();
    let expired = op.world.mint_user(&UserSpec::tentacle("ns", "old").expires_at(now - 60)).unwrap();
    refused(&url, expired.creds_path.as_ref().unwrap(), "expired-client").await;
    let v = diagnosed(&mut rx, "expired-client").await;
    let c = v.cause.clone().unwrap();
    assert_eq!(c.kind, CauseKind::Expired, "{c:?}");
    assert!(c.detail.contains("ago"), "{}", c.detail);
    assert_eq!(v.user.as_deref(), Some(expired.public_key.as_str()));

    // 2. Signed by a key the account does not list (issuer_account = APP).
    let stranger = SigningKey::generate(KeyKind::Account);
    let ukey = SigningKey::generate(KeyKind::User);
    let mut uc = UserClaims::new_user(ukey.public_key(), "tentacle.ns.rogue");
    let token = jwt::encode_user(&mut uc, &stranger, op.world.app.public_key(), now).unwrap();
    let rogue = op.dir.path().join("rogue.creds");
    jwt::write_creds_file(&rogue, &jwt::render_creds(&token, &ukey).unwrap()).unwrap();
    refused(&url, &rogue, "rogue-client").await;
    let c = diagnosed(&mut rx, "rogue-client").await.cause.unwrap();
    assert_eq!(c.kind, CauseKind::UnknownSigner, "{c:?}");
    assert!(c.detail.contains(stranger.public_key()), "{}", c.detail);

    // 3. Revoked nsc-style: every user (`*`) at a time after its `iat`.
    let user = op.world.mint_user(&UserSpec::tentacle("ns", "rev")).unwrap();
    let at = user.claims.std.issued_at + 1;
    op.world.app_claims.nats.revoke("*", at);
    let app_jwt = op.world.resign_app().unwrap();
    let replies = push_account_jwt(&sys, &app_jwt, Duration::from_millis(300), LIMIT).await.unwrap();
    assert!(replies.iter().all(|r| r.is_ok()), "{replies:?}");
    refused(&url, user.creds_path.as_ref().unwrap(), "revoked-client").await;
    let c = diagnosed(&mut rx, "revoked-client").await.cause.unwrap();
    assert_eq!(c.kind, CauseKind::Revoked, "{c:?}");
    let when = warden_core::identity::record::rfc3339_of(at);
    assert!(c.detail.contains(&format!("revoked at {when}")) && c.detail.contains("every user (*)"), "{}", c.detail);
}

#[tokio::test(flavor = "multi_thread")]
async fn register_and_renew_after_a_revocation_by_time_are_accepted() {
    let mut op = op_world();
    let url = op.server.url();
    let creds = op.dir.path().join("wf.creds");
    let (acc_key, creds_s) = (op.account_key.display().to_string(), creds.display().to_string());
    let first = op.register_to("shop/wf", &creds, &[]);

    // nsc-style: revoke every user now (the same second a JWT may be minted in).
    let sys = ConnectOptions::with_credentials_file(&op.world.sys_creds_path)
        .await
        .unwrap()
        .connect(url.as_str())
        .await
        .unwrap();
    let t = jwt::unix_now();
    op.world.app_claims.nats.revoke("*", t);
    let app_jwt = op.world.resign_app().unwrap();
    let replies = push_account_jwt(&sys, &app_jwt, Duration::from_millis(300), LIMIT).await.unwrap();
    assert!(replies.iter().all(|r| r.is_ok()), "{replies:?}");
    refused(&url, &creds, "before-renew").await;

    // Renew: a `*` revocation is not the key's own, so it re-issues, after `t`.
    let (ok, out, err) =
        op.warden(&["identity", "renew", "shop/wf", "--creds-out", &creds_s, "--account-signing-key", &acc_key]);
    assert!(ok, "renew failed: {out}\n{err}");
    let renewed = jwt::parse_creds(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!(renewed.claims.std.subject, first.claims.std.subject);
    assert!(renewed.claims.std.issued_at > t, "iat {} must be after the revocation {t}", renewed.claims.std.issued_at);
    ConnectOptions::with_credentials_file(&creds)
        .await
        .unwrap()
        .connect(url.as_str())
        .await
        .expect("renewed JWT accepted");

    // Register another identity right after a fresh `*` revocation.
    let t2 = jwt::unix_now();
    op.world.app_claims.nats.revoke("*", t2);
    let app_jwt = op.world.resign_app().unwrap();
    push_account_jwt(&sys, &app_jwt, Duration::from_millis(300), LIMIT).await.unwrap();
    let creds2 = op.dir.path().join("wf2.creds");
    let reg = op.register_to("shop/wf2", &creds2, &[]);
    assert!(reg.claims.std.issued_at > t2);
    ConnectOptions::with_credentials_file(&creds2)
        .await
        .unwrap()
        .connect(url.as_str())
        .await
        .expect("registered JWT accepted");
}
