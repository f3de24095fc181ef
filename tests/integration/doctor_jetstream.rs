//! The doctor's JetStream and KV findings through the real binary against a
//! real 3-server JetStream cluster in operator mode: each appears while its
//! cause is present and goes when it is fixed, next to a control that stays
//! (so "gone" means fixed, not unexamined).

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use serde_json::Value;
use warden_core::nats::jwt::{self, AccountClaims, JetStreamLimits, KeyKind, SigningKey, UserClaims};
use warden_sandbox::operator_mode::{UserSpec, push_account_jwt};

use crate::harness::eventually;
use crate::js_cluster::{JsCluster, LIMIT, examined, findings, ready};

/// The `objects[0]` of each finding of `code`.
fn subjects_of(v: &Value, code: &str) -> Vec<String> {
    findings(v, code).iter().map(|f| f["objects"][0].as_str().unwrap().to_string()).collect()
}

fn kv_config(bucket: &str, replicas: usize) -> kv::Config {
    kv::Config { bucket: bucket.into(), num_replicas: replicas, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kv_bucket_with_one_replica_on_three_servers_is_found_until_scaled_up() {
    let c = JsCluster::start();
    let admin = c.world.mint_user(&UserSpec { name: "kv-admin".into(), ..Default::default() }).unwrap();
    let js = ready(c.connect(admin.creds_path.as_ref().unwrap(), "kv-admin").await).await;
    for bucket in ["config", "canary"] {
        eventually(LIMIT, "an R1 bucket", || {
            let js = js.clone();
            async move { js.create_key_value(kv_config(bucket, 1)).await.ok() }
        })
        .await;
    }

    let v = eventually(LIMIT, "kv-replicas-low for both buckets", || {
        let v = c.doctor();
        async move {
            let b = subjects_of(&v, "kv-replicas-low");
            (b.contains(&"bucket config".to_string()) && b.contains(&"bucket canary".to_string())).then_some(v)
        }
    })
    .await;
    let f = findings(&v, "kv-replicas-low").into_iter().find(|f| f["objects"][0] == "bucket config").unwrap();
    assert_eq!(f["objects"][1], format!("account {}", c.world.app.public_key()), "{f:#}");
    assert!(f["summary"].as_str().unwrap().contains("1 replica(s) on a 3-server"), "{f:#}");
    assert_eq!(f["evidence"], "JSZ stream KV_config num_replicas 1", "{f:#}");

    // Scale the stream behind the bucket to 3 replicas.
    eventually(LIMIT, "KV_config updated to 3 replicas", || {
        let js = js.clone();
        async move {
            let mut cfg = js.get_stream("KV_config").await.ok()?.cached_info().config.clone();
            cfg.num_replicas = 3;
            js.update_stream(cfg).await.ok()
        }
    })
    .await;
    eventually(LIMIT, "kv-replicas-low to go for config and stay for canary", || {
        let v = c.doctor();
        async move {
            let b = subjects_of(&v, "kv-replicas-low");
            (examined(&v) && b == ["bucket canary"]).then_some(())
        }
    })
    .await;
}

/// Binds the bucket, writes a key, reads `seed` back; `Err` names the step that failed.
async fn kv_roundtrip(client: async_nats::Client, bucket: &str) -> Result<(), String> {
    let mut js = jetstream::new(client);
    // A denied publish gets no reply: the request runs into this timeout.
    js.set_timeout(Duration::from_secs(2));
    let store = js.get_key_value(bucket).await.map_err(|e| format!("bind: {e}"))?;
    store.put("written", "w".into()).await.map_err(|e| format!("put: {e}"))?;
    match store.get("seed").await.map_err(|e| format!("get: {e}"))? {
        Some(v) if v.as_ref() == b"s" => Ok(()),
        other => Err(format!("get: read back {other:?}")),
    }
}

fn kv_user(name: &str, pub_allow: &[String]) -> UserSpec {
    UserSpec { name: name.into(), pub_allow: pub_allow.to_vec(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_half_a_kv_grant_is_found_until_re_minted_with_the_rest() {
    let c = JsCluster::start();
    let admin = c.world.mint_user(&UserSpec { name: "kv-admin".into(), ..Default::default() }).unwrap();
    let admin_client = c.connect(admin.creds_path.as_ref().unwrap(), "kv-admin").await;
    let js = ready(admin_client.clone()).await;
    let store = eventually(LIMIT, "an R3 bucket", || {
        let js = js.clone();
        async move { js.create_key_value(kv_config("orders", 3)).await.ok() }
    })
    .await;
    store.put("seed", "s".into()).await.expect("seed");

    // What KV needs (async-nats `get_key_value` asks STREAM.INFO, `put`
    // publishes to `$KV.<bucket>.<key>`, `get` on an allow_direct bucket asks
    // DIRECT.GET with the key's subject): each grant shown necessary here.
    let kv_put = "$KV.orders.>".to_string();
    let info = "$JS.API.STREAM.INFO.KV_orders".to_string();
    let direct = "$JS.API.DIRECT.GET.KV_orders.>".to_string();
    let whole = c.world.mint_user(&kv_user("whole", &[kv_put.clone(), info.clone(), direct.clone()])).unwrap();
    let half = c.world.mint_user(&kv_user("half", std::slice::from_ref(&kv_put))).unwrap();
    let no_direct = c.world.mint_user(&kv_user("no-direct", &[kv_put.clone(), info.clone()])).unwrap();
    let whole_c = c.connect(whole.creds_path.as_ref().unwrap(), "whole").await;
    let half_c = c.connect(half.creds_path.as_ref().unwrap(), "half").await;
    let no_direct_c = c.connect(no_direct.creds_path.as_ref().unwrap(), "no-direct").await;
    assert_eq!(kv_roundtrip(whole_c.clone(), "orders").await, Ok(()));
    let e = kv_roundtrip(half_c.clone(), "orders").await.unwrap_err();
    assert!(e.starts_with("bind:"), "{e}");
    let e = kv_roundtrip(no_direct_c.clone(), "orders").await.unwrap_err();
    assert!(e.starts_with("get:"), "{e}");

    let user = |k: &str| format!("user {k}");
    let v = eventually(LIMIT, "kv-permissions-missing for half and no-direct", || {
        let v = c.doctor();
        let want = [user(&half.public_key), user(&no_direct.public_key)];
        async move {
            let mut found = subjects_of(&v, "kv-permissions-missing");
            found.sort();
            let mut want = want.to_vec();
            want.sort();
            (examined(&v) && found == want).then_some(v)
        }
    })
    .await;
    let of = |key: &str| findings(&v, "kv-permissions-missing").into_iter().find(|f| f["objects"][0] == user(key));
    let f = of(&half.public_key).unwrap();
    assert_eq!(f["objects"][1], "bucket orders", "{f:#}");
    assert_eq!(f["evidence"], format!("denied: {info}, {direct}"), "{f:#}");
    assert!(f["summary"].as_str().unwrap().starts_with("half cannot use KV bucket orders"), "{f:#}");
    assert_eq!(of(&no_direct.public_key).unwrap()["evidence"], format!("denied: {direct}"));

    // A bucket made before allow_direct (nats-server < 2.9) is read with
    // STREAM.MSG.GET: a reader granted that, and no DIRECT.GET, is whole.
    let legacy = stream::Config {
        name: "KV_legacy".into(),
        subjects: vec!["$KV.legacy.>".into()],
        max_messages_per_subject: 1,
        num_replicas: 3,
        allow_direct: false,
        ..Default::default()
    };
    eventually(LIMIT, "an R3 bucket without allow_direct", || {
        let (js, legacy) = (js.clone(), legacy.clone());
        async move { js.create_stream(legacy).await.ok() }
    })
    .await;
    js.get_key_value("legacy").await.unwrap().put("seed", "s".into()).await.expect("seed legacy");
    let msg_get = "$JS.API.STREAM.MSG.GET.KV_legacy".to_string();
    let grant = ["$KV.legacy.>".to_string(), "$JS.API.STREAM.INFO.KV_legacy".to_string(), msg_get];
    let reader = c.world.mint_user(&kv_user("legacy-reader", &grant)).unwrap();
    let reader_c = c.connect(reader.creds_path.as_ref().unwrap(), "legacy-reader").await;
    assert_eq!(kv_roundtrip(reader_c.clone(), "legacy").await, Ok(()));

    // Re-minted (same key) with the rest of the grant; the workload reconnects.
    half_c.drain().await.expect("drain");
    let key = half.key.clone().unwrap();
    let fixed = c.world.mint_user_with_key(&kv_user("half", &[kv_put, info, direct]), &key).unwrap();
    let half_c = c.connect(fixed.creds_path.as_ref().unwrap(), "half").await;
    assert_eq!(kv_roundtrip(half_c.clone(), "orders").await, Ok(()));
    eventually(LIMIT, "kv-permissions-missing to go for half, stay for no-direct, never name legacy-reader", || {
        let v = c.doctor();
        let want = vec![user(&no_direct.public_key)];
        async move { (examined(&v) && subjects_of(&v, "kv-permissions-missing") == want).then_some(()) }
    })
    .await;
    drop((admin_client, whole_c, no_direct_c, half_c, reader_c));
}

/// A second account: its JWT pushed to every server (full resolver), and
/// a user of it granted `$JS.API.>` connected.
struct Account {
    claims: AccountClaims,
    user_key: String,
    user: async_nats::Client,
}

impl Account {
    /// How the doctor names it: `account NAME (KEY)`.
    fn object(&self) -> String {
        format!("account {} ({})", self.claims.std.name, self.claims.std.subject)
    }
}

async fn account_with_js_user(c: &JsCluster, sys: &async_nats::Client, name: &str) -> Account {
    let key = SigningKey::generate(KeyKind::Account);
    let mut claims = AccountClaims::new_account(key.public_key(), name);
    let token = jwt::encode_at(&mut claims, &c.world.operator_signing, jwt::unix_now()).unwrap();
    push(sys, &token).await;
    let ukey = SigningKey::generate(KeyKind::User);
    let mut uc = UserClaims::new_user(ukey.public_key(), &format!("{name}-js"));
    uc.nats.permissions.publish.allow = vec!["$JS.API.>".into()];
    let ujwt = jwt::encode_user(&mut uc, &key, key.public_key(), jwt::unix_now()).unwrap();
    let creds = c.dir.path().join(format!("{name}.creds"));
    jwt::write_creds_file(&creds, &jwt::render_creds(&ujwt, &ukey).unwrap()).unwrap();
    let user = c.connect(&creds, &format!("{name}-js")).await;
    Account { claims, user_key: ukey.public_key().to_string(), user }
}

async fn push(sys: &async_nats::Client, token: &str) {
    let replies = push_account_jwt(sys, token, Duration::from_millis(300), LIMIT).await.expect("claims update");
    assert_eq!(replies.len(), 3, "every server answers: {replies:?}");
    assert!(replies.iter().all(|r| r.is_ok()), "{replies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_grants_in_an_account_without_limits_are_found_until_limits_are_pushed() {
    let c = JsCluster::start();
    let sys = c.sys().await;
    // The system account has no JetStream: wait for the leader as an APP user.
    let app = c.world.mint_user(&UserSpec { name: "app-admin".into(), ..Default::default() }).unwrap();
    ready(c.connect(app.creds_path.as_ref().unwrap(), "app-admin").await).await;
    let mut ops = account_with_js_user(&c, &sys, "OPS").await;
    let legacy = account_with_js_user(&c, &sys, "LEGACY").await;
    // The server agrees: no JetStream for the account, whatever the user may publish.
    let ops_js = jetstream::new(ops.user.clone());
    assert!(ops_js.query_account().await.is_err(), "OPS has no JetStream yet");

    let both = {
        let mut b = vec![ops.object(), legacy.object()];
        b.sort();
        b
    };
    let v = eventually(LIMIT, "js-permissions-without-limits for OPS and LEGACY", || {
        let v = c.doctor();
        let both = both.clone();
        async move {
            let mut found = subjects_of(&v, "js-permissions-without-limits");
            found.sort();
            (found == both).then_some(v)
        }
    })
    .await;
    let f =
        findings(&v, "js-permissions-without-limits").into_iter().find(|f| f["objects"][0] == ops.object()).unwrap();
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(
        f["evidence"],
        format!("user {} allows $JS.API.>; the account JWT sets no jetstream limits", ops.user_key),
        "{f:#}"
    );

    // Limits added to OPS and pushed: the server enables JetStream for it.
    ops.claims.nats.limits.jetstream = JetStreamLimits::unlimited();
    let token = jwt::encode_reissue(&mut ops.claims, &c.world.operator_signing, jwt::unix_now()).unwrap();
    push(&sys, &token).await;
    eventually(LIMIT, "JetStream enabled for OPS", || {
        let js = ops_js.clone();
        async move { js.query_account().await.ok() }
    })
    .await;
    eventually(LIMIT, "js-permissions-without-limits to go for OPS and stay for LEGACY", || {
        let v = c.doctor();
        let want = vec![legacy.object()];
        async move { (examined(&v) && subjects_of(&v, "js-permissions-without-limits") == want).then_some(()) }
    })
    .await;
    drop((ops.user, legacy.user));
}

/// The console's `:doctor` asks the NATS worker for JSZ and the anonymous
/// INFO (what `warden doctor` fetches): the R1 bucket is found there too,
/// and gone after the next fetch once it is scaled up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_doctor_fetches_jetstream_and_the_anonymous_info() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use tokio::sync::mpsc;
    use warden::app::msg::Msg;
    use warden::app::state::AppState;
    use warden::app::table::Clock;
    use warden::app::update::update;
    use warden::app::view_id::ViewId;
    use warden::app::worker;
    use warden_core::config::{NatsAuth, NatsSettings};

    let c = JsCluster::start();
    let admin = c.world.mint_user(&UserSpec { name: "kv-admin".into(), ..Default::default() }).unwrap();
    let js = ready(c.connect(admin.creds_path.as_ref().unwrap(), "kv-admin").await).await;
    eventually(LIMIT, "an R1 bucket", || {
        let js = js.clone();
        async move { js.create_key_value(kv_config("flags", 1)).await.ok() }
    })
    .await;

    let settings = NatsSettings {
        url: c.url(),
        auth: NatsAuth::Creds(c.world.sys_creds_path.clone()),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let cmds = worker::spawn(settings, Duration::from_secs(5), tx);
    let mut s = AppState::new(c.url(), "test".into(), Clock::system());
    let apply = |s: &mut AppState, msg: Msg| {
        for cmd in update(s, msg).cmds {
            let _ = cmds.send(cmd);
        }
    };
    let low = |s: &AppState| s.doctor.rows.iter().any(|r| r.finding.code == "kv-replicas-low");
    apply(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE)));
    for ch in "doctor".chars() {
        apply(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE)));
    }
    apply(&mut s, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert_eq!(s.view, ViewId::Doctor);
    let deadline = tokio::time::Instant::now() + LIMIT;
    // JSZ is a snapshot: a JetStream cluster may list the new stream a moment
    // late, so the view asks again (a tick 30 s on) until it is there.
    while !low(&s) {
        let msg = tokio::time::timeout_at(deadline, rx.recv()).await.expect("kv-replicas-low in :doctor").unwrap();
        let again = matches!(msg, Msg::DoctorNats { .. });
        apply(&mut s, msg);
        if again && !low(&s) {
            let later = Clock { now_unix: s.doctor_nats_asked + 30 };
            apply(&mut s, Msg::Tick(later));
        }
    }
    let info = s.doctor_nats.as_ref().and_then(|(_, n)| n.anonymous_info.clone()).expect("the INFO probe answered");
    assert!(info.auth_required, "operator mode requires auth: {info:?}");

    eventually(LIMIT, "KV_flags updated to 3 replicas", || {
        let js = js.clone();
        async move {
            let mut cfg = js.get_stream("KV_flags").await.ok()?.cached_info().config.clone();
            cfg.num_replicas = 3;
            js.update_stream(cfg).await.ok()
        }
    })
    .await;
    // The next fetch (30 s later by the view's clock) no longer finds it.
    while low(&s) {
        let later = Clock { now_unix: s.doctor_nats_asked + 30 };
        apply(&mut s, Msg::Tick(later));
        loop {
            let msg = tokio::time::timeout_at(deadline, rx.recv()).await.expect("kv-replicas-low to go").unwrap();
            let fetched = matches!(msg, Msg::DoctorNats { .. });
            apply(&mut s, msg);
            if fetched {
                break;
            }
        }
    }
}
