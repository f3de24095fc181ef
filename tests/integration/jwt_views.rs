//! Issue 3 console: Accounts, Identities and Expiry views and the action
//! dialogs, as snapshots from fixed state (fixed keys, fixed clock), and the
//! console path (worker -> update -> render -> action) against a real
//! operator-mode server.

use std::time::Duration;
use warden_core::identity::actions::AnyRequest;
use warden_core::identity::binding::BoundRequest;

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
use warden::app::accounts::AccountRow;
use warden::app::conns::ConnRow;
use warden::app::dialog::model::{Button, Dialog};
use warden::app::msg::{Cmd, Msg};
use warden::app::state::{AppState, Link};
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::identity::jwt_actions::{self, Request, SigningConfig};
use warden_core::identity::record::{IdentityRecord, IdentitySpec};
use warden_core::kube::resources::Watched;
use warden_core::kube::watch::{Change, KubeEvent};
use warden_core::nats::accounts::{AccountRecord, ServerView};
use warden_core::nats::jwt::{
    self, AccountClaims, AccountSigningKey, JetStreamLimits, KeyKind, SigningKey, UserClaims,
};
use warden_core::nats::subject::Direction;
use warden_core::nats::types::ConnInfo;

const NOW: i64 = 1_795_420_800; // 2026-11-23T08:00:00Z

fn fixed(kind: KeyKind, n: u8) -> SigningKey {
    let t = match kind {
        KeyKind::Operator => nkeys::KeyPairType::Operator,
        KeyKind::Account => nkeys::KeyPairType::Account,
        _ => nkeys::KeyPairType::User,
    };
    let kp = nkeys::KeyPair::new_from_raw(t, [n; 32]).unwrap();
    SigningKey::from_seed(&kp.seed().unwrap(), "fixed").unwrap()
}

fn draw(s: &AppState, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(s, &Theme::builtin("default").unwrap(), f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

fn key(s: &mut AppState, code: KeyCode) -> Vec<Cmd> {
    let m = if matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    update(s, Msg::Key(KeyEvent::new(code, m))).cmds
}

fn user(op_signing: &SigningKey, app: &SigningKey, n: u8, ns: &str, wf: &str, exp: i64) -> (String, String) {
    let u = fixed(KeyKind::User, n);
    let mut c = UserClaims::new_user(u.public_key(), &format!("tentacle.{ns}.{wf}"));
    c.nats.permissions.publish = jwt::Permission::allow([format!("tentacular.{ns}.{wf}.>")]);
    c.nats.permissions.subscribe = jwt::Permission::allow([format!("tentacular.{ns}.{wf}.>"), "_INBOX.>".into()]);
    c.std.expires = exp;
    let _ = op_signing;
    let t = jwt::encode_user(&mut c, app, app.public_key(), NOW - 3600).unwrap();
    (u.public_key().to_string(), t)
}

/// Two accounts (one drifted), five users (active, expiring, expired,
/// revoked but still connected, pending record).
fn state() -> AppState {
    let mut s = AppState::new("nats://nats.prod:4222".into(), "context prod".into(), Clock { now_unix: NOW });
    s.conn.link = Link::Connected;
    s.conn.account = Some("SYS".into());
    let op = fixed(KeyKind::Operator, 1);
    let sys = fixed(KeyKind::Account, 2);
    let app = fixed(KeyKind::Account, 3);
    let app_signing = fixed(KeyKind::Account, 4);
    let users = [
        user(&op, &app, 10, "shop", "orders", NOW + 30 * 86400),
        user(&op, &app, 11, "shop", "payments", NOW + 5 * 3600),
        user(&op, &app, 12, "shop", "legacy", NOW - 600),
        user(&op, &app, 13, "ops", "rogue", NOW + 3 * 86400),
    ];
    let mut app_claims = AccountClaims::new_account(app.public_key(), "APP");
    app_claims.nats.limits.jetstream = JetStreamLimits::unlimited();
    app_claims.nats.signing_keys.push(AccountSigningKey::Key(app_signing.public_key().to_string()));
    app_claims.nats.revoke(&users[3].0, NOW - 60);
    app_claims.std.expires = NOW + 200 * 86400;
    let app_jwt = jwt::encode_at(&mut app_claims, &op, NOW - 86400).unwrap();
    let mut sys_claims = AccountClaims::new_account(sys.public_key(), "SYS");
    let sys_jwt = jwt::encode_at(&mut sys_claims, &op, NOW - 86400).unwrap();
    let sv = |name: &str, conns: i64, jti: &str| ServerView {
        server: name.into(),
        server_id: format!("N{name}"),
        connections: conns,
        jti: jti.into(),
        issued_at: NOW - 86400,
        ..Default::default()
    };
    let app_rec = AccountRecord {
        id: app.public_key().into(),
        jwt: app_jwt,
        claims: Some(app_claims.clone()),
        distinct_jwts: 2,
        servers: vec![sv("n1", 3, &app_claims.std.id), sv("n2", 1, "OLDJTI")],
        drift: Some("older JWT served by n2".into()),
        ..Default::default()
    };
    let sys_rec = AccountRecord {
        id: sys.public_key().into(),
        jwt: sys_jwt,
        claims: Some(sys_claims.clone()),
        distinct_jwts: 1,
        servers: vec![sv("n1", 1, &sys_claims.std.id)],
        is_system: true,
        ..Default::default()
    };
    let mut accounts: Vec<AccountRow> = [sys_rec, app_rec].iter().map(AccountRow::from_record).collect();
    accounts.sort_by_key(|a| !a.system);
    update(&mut s, Msg::Accounts { at: Clock { now_unix: NOW }, result: Ok((accounts, vec![])) });
    let conns: Vec<ConnRow> = users
        .iter()
        .enumerate()
        .map(|(i, (k, t))| {
            let info = ConnInfo {
                cid: 20 + i as u64,
                account: app.public_key().into(),
                authorized_user: k.clone(),
                jwt: t.clone(),
                name: format!("c{i}"),
                ..Default::default()
            };
            ConnRow::new("n1", "Nn1", info)
        })
        .collect();
    update(&mut s, Msg::Conns { at: Clock { now_unix: NOW }, result: Ok((conns, vec![])) });
    let pending = IdentityRecord {
        namespace: "shop".into(),
        name: "billing".into(),
        spec: IdentitySpec {
            grants: vec![],
            workload: "billing".into(),
            account: "APP".into(),
            user: "tentacle.shop.billing".into(),
            public_key: fixed(KeyKind::User, 20).public_key().into(),
            publish: vec!["tentacular.shop.billing.>".into()],
            subscribe: vec!["tentacular.shop.billing.>".into(), "_INBOX.>".into()],
            ttl: "24h".into(),
            ..Default::default()
        },
        status: Default::default(),
    };
    update(
        &mut s,
        Msg::Kube(KubeEvent { what: Watched::NatsIdentities, change: Change::Reset(vec![pending.to_object()]) }),
    );
    s
}

#[test]
fn accounts_view() {
    let mut s = state();
    key(&mut s, KeyCode::Char('7'));
    assert_eq!(s.view, ViewId::Accounts);
    assert_snapshot!("accounts_80x24", draw(&s, 80, 24));
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Enter);
    assert_snapshot!("accounts_detail_200x50", draw(&s, 200, 50));
}

#[test]
fn identities_view_states() {
    let mut s = state();
    key(&mut s, KeyCode::Char('8'));
    assert_eq!(s.view, ViewId::Identities);
    let states: Vec<(String, &str)> =
        s.identities.rows.iter().map(|r| (r.name().unwrap_or_default(), r.state.as_str())).collect();
    assert_eq!(
        states,
        [
            ("ops/rogue".to_string(), "Drifted"),
            ("shop/billing".to_string(), "Pending"),
            ("shop/legacy".to_string(), "Expired"),
            ("shop/orders".to_string(), "Active"),
            ("shop/payments".to_string(), "Expiring"),
        ]
    );
    assert_snapshot!("identities_80x24", draw(&s, 80, 24));
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Enter);
    assert_snapshot!("identities_detail_200x50", draw(&s, 200, 50));
}

#[test]
fn identities_drift_from_spire_registrations() {
    let mut s = state();
    key(&mut s, KeyCode::Char('8'));
    let app_signing = fixed(KeyKind::Account, 3);
    let op = fixed(KeyKind::Operator, 1);
    let (k1, minted) = user(&op, &app_signing, 30, "shop", "cart", NOW + 30 * 86400);
    let mut rec = IdentityRecord {
        namespace: "shop".into(),
        name: "cart".into(),
        spec: IdentitySpec { workload: "cart".into(), account: "APP".into(), ..Default::default() },
        status: Default::default(),
    };
    rec.status.phase = "Active".into();
    rec.status.user_public_key = k1;
    rec.status.jwt = minted.clone();
    let mut obj = rec.to_object();
    obj.data["status"] = serde_json::to_value(&rec.status).unwrap();
    let records = vec![s.kube.objects(Watched::NatsIdentities).next().unwrap().clone(), obj];
    update(&mut s, Msg::Kube(KubeEvent { what: Watched::NatsIdentities, change: Change::Reset(records) }));
    let cart = |s: &AppState| s.identities.rows.iter().find(|r| r.workload == "cart").unwrap().clone();
    assert_eq!(cart(&s).state.as_str(), "Active");

    // A ClusterSPIFFEID for a workload nobody knows is Drifted; one for a
    // live user is not, as long as the configured controller class
    // (`[spire] class_name`) serves it; one of another class is Drifted.
    let csid = |name: &str, wf: &str, class: &str| {
        let mut o = kube::api::DynamicObject::new(name, &warden_core::kube::resources::cluster_spiffe_id());
        o.data = serde_json::json!({ "spec": {
            "className": class,
            "spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/x",
            "podSelector": { "matchLabels": { "tentacular.io/workflow": wf } } },
            "status": { "stats": { "podsSelected": 1, "entriesToSet": 1 } } });
        o
    };
    let served = "spire-server-spire";
    update(
        &mut s,
        Msg::Kube(KubeEvent {
            what: Watched::ClusterSpiffeIds,
            change: Change::Reset(vec![
                csid("shop-ghost", "ghost", served),
                csid("shop-orders", "orders", served),
                csid("shop-cart", "cart", "other-class"),
            ]),
        }),
    );
    let row = cart(&s);
    assert_eq!(row.state.as_str(), "Drifted");
    assert!(row.reason.contains("ClusterSPIFFEID shop-cart: className \"other-class\""), "{}", row.reason);
    let ghost = s.identities.rows.iter().find(|r| r.workload == "ghost").expect("ghost row");
    assert_eq!((ghost.namespace.as_str(), ghost.state.as_str()), ("shop", "Drifted"));
    assert!(ghost.reason.contains("ClusterSPIFFEID shop-ghost but no NatsIdentity"), "{}", ghost.reason);
    assert_eq!(ghost.user, "tentacle.shop.ghost");
    assert_eq!(s.identities.rows.iter().filter(|r| r.workload == "orders").count(), 1);
    assert_eq!(s.identities.rows.iter().find(|r| r.workload == "orders").unwrap().state.as_str(), "Active");
}

#[test]
fn expiry_view_counts_down_only_when_shown() {
    let mut s = state();
    // On another view the tick changes nothing and asks for no frame.
    let out = update(&mut s, Msg::Tick(Clock { now_unix: NOW + 5 }));
    assert!(!out.redraw);
    assert_eq!(s.clock.now_unix, NOW);
    key(&mut s, KeyCode::Char('9'));
    assert_eq!(s.view, ViewId::Expiry);
    let kinds: Vec<&str> = s.expiry.rows.iter().map(|r| r.status).collect();
    assert_eq!(kinds, ["expired", "critical", "warning", "ok", "ok", "never", "never"]);
    assert_snapshot!("expiry_80x24", draw(&s, 80, 24));
    assert_snapshot!("expiry_200x50", draw(&s, 200, 50));
    let out = update(&mut s, Msg::Tick(Clock { now_unix: NOW + 3600 }));
    assert!(out.redraw);
    assert!(draw(&s, 80, 24).contains("expired 1h10m ago"));
}

#[test]
fn register_form_and_revoke_confirmation() {
    let mut s = state();
    key(&mut s, KeyCode::Char('8'));
    key(&mut s, KeyCode::Char('n'));
    for c in "shop/new-wf".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Tab);
    for c in "APP".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_snapshot!("register_form_80x24", draw(&s, 80, 24));
    assert_snapshot!("register_form_200x50", draw(&s, 200, 50));
    let cmds = key(&mut s, KeyCode::Enter);
    match cmds.as_slice() {
        [
            Cmd::Action(BoundRequest {
                request: AnyRequest::Jwt(Request::Register { name, account, ttl, creds_out, force: false }),
                ..
            }),
        ] => {
            assert_eq!(name.to_string(), "shop/new-wf");
            assert_eq!(account, "APP");
            assert_eq!(*ttl, Some(Duration::from_secs(86400)));
            assert_eq!(*creds_out, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.dialog, Some(Dialog::Progress { .. })));
    // Running: keys do not close it.
    key(&mut s, KeyCode::Esc);
    assert!(s.dialog.is_some());
    update(
        &mut s,
        Msg::ActionDone(warden_core::identity::action::report::ActionReport::new("register", "shop/new-wf")),
    );
    key(&mut s, KeyCode::Esc);
    assert!(s.dialog.is_none());

    // Revoke asks first; Cancel is the default; enter on it does nothing.
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Char('X'));
    assert!(matches!(s.dialog, Some(Dialog::Confirm { focus: Button::Cancel, .. })));
    assert_snapshot!("revoke_confirm_80x24", draw(&s, 80, 24));
    assert_snapshot!("revoke_confirm_200x50", draw(&s, 200, 50));
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(s.dialog.is_none());
    key(&mut s, KeyCode::Char('X'));
    key(&mut s, KeyCode::Right);
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(
        matches!(cmds.as_slice(), [Cmd::Action(BoundRequest { request: AnyRequest::Jwt(Request::Revoke { .. }), .. })]),
        "{cmds:?}"
    );

    // ctrl-d does nothing; read-only offers nothing.
    s.dialog = None;
    assert!(update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL))).cmds.is_empty());
    s.read_only = true;
    key(&mut s, KeyCode::Char('X'));
    key(&mut s, KeyCode::Char('n'));
    assert!(s.dialog.is_none());
    assert!(draw(&s, 80, 24).contains("read-only"));
}

#[test]
fn grant_form_and_over_broad_confirmation() {
    let mut s = state();
    key(&mut s, KeyCode::Char('8'));
    let pos = s.identities.table.visible.iter().position(|&i| s.identities.rows[i].workload == "orders").unwrap();
    s.identities.table.selected = pos;
    key(&mut s, KeyCode::Char('+'));
    assert!(matches!(s.dialog, Some(Dialog::Grant(_))));
    for c in "tentacular.shop.payments.inbox".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_snapshot!("grant_form_80x24", draw(&s, 80, 24));
    let cmds = key(&mut s, KeyCode::Enter);
    match cmds.as_slice() {
        [
            Cmd::Action(BoundRequest {
                request: AnyRequest::Jwt(Request::Grant { name, dir, subject, allow_broad: false, creds_out: None }),
                ..
            }),
        ] => {
            assert_eq!(name.to_string(), "shop/orders");
            assert_eq!(*dir, Direction::Publish);
            assert_eq!(subject, "tentacular.shop.payments.inbox");
        }
        other => panic!("{other:?}"),
    }
    s.dialog = None;
    // Over-broad: a second confirmation, Cancel by default; confirming sets allow_broad.
    key(&mut s, KeyCode::Char('+'));
    key(&mut s, KeyCode::Char('>'));
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(matches!(s.dialog, Some(Dialog::Confirm { focus: Button::Cancel, .. })));
    assert!(draw(&s, 80, 24).contains("over-broad"));
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(s.dialog.is_none());
    // Any view can propose the same request (e.g. Violations).
    key(&mut s, KeyCode::Char('1'));
    let name = warden_core::identity::naming::IdentityName::parse("shop/orders").unwrap();
    let out = warden::app::dialog::propose::propose(&mut s, Request::grant(name.clone(), Direction::Subscribe, "*.>"));
    assert!(out.cmds.is_empty());
    key(&mut s, KeyCode::Right);
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(
        matches!(
            cmds.as_slice(),
            [Cmd::Action(BoundRequest { request: AnyRequest::Jwt(Request::Grant { allow_broad: true, .. }), .. })]
        ),
        "{cmds:?}"
    );
    // Ungrant asks first.
    s.dialog = None;
    let out = warden::app::dialog::propose::propose(&mut s, Request::ungrant(name, Direction::Publish, "a.b"));
    assert!(out.cmds.is_empty());
    assert!(matches!(s.dialog, Some(Dialog::Confirm { focus: Button::Cancel, .. })));
    s.dialog = None;
    s.read_only = true;
    let out = warden::app::dialog::propose::propose(
        &mut s,
        Request::grant(warden_core::identity::naming::IdentityName::parse("a/b").unwrap(), Direction::Publish, "x"),
    );
    assert!(out.cmds.is_empty() && s.dialog.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn console_lists_accounts_and_identities_and_revokes_through_the_dialog() {
    use crate::jwt_actions::op_world;
    let op = op_world();
    let creds = op.dir.path().join("c.creds");
    let (ok, out, err) = op.warden(&[
        "identity",
        "register",
        "shop/orders",
        "--account",
        "APP",
        "--creds-out",
        &creds.display().to_string(),
        "--account-signing-key",
        &op.account_key.display().to_string(),
    ]);
    assert!(ok, "{out}{err}");
    let client = async_nats::ConnectOptions::with_credentials_file(&creds)
        .await
        .unwrap()
        .connect(op.server.url())
        .await
        .unwrap();
    client.flush().await.unwrap();

    let settings = warden_core::config::NatsSettings {
        url: op.server.url(),
        auth: warden_core::config::NatsAuth::Creds(op.world.sys_creds_path.clone()),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let (tx_actions, mut rx_actions) = mpsc::channel(1024);
    let cmds = warden::app::worker::spawn(settings.clone(), Duration::from_secs(1), tx);
    let mut s = AppState::new(op.server.url(), "test".into(), Clock::system());
    s.size = (120, 30);
    key(&mut s, KeyCode::Char('8'));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(s.identities.rows.iter().any(|r| r.user == "tentacle.shop.orders" && r.connections == 1)
        && s.accounts.rows.len() == 2)
    {
        let msg = tokio::time::timeout_at(deadline, rx.recv()).await.expect("identities in time").unwrap();
        for c in update(&mut s, msg).cmds {
            let _ = cmds.send(c);
        }
    }
    let screen = draw(&s, 120, 30);
    // 24h left is not "Expiring" (under [identity] expiring_within, 12h).
    assert!(screen.contains("shop/orders") && screen.contains("Active"), "{screen}");

    // Select it, revoke through the dialog, run the command as the action worker would.
    let pos =
        s.identities.table.visible.iter().position(|&i| s.identities.rows[i].user == "tentacle.shop.orders").unwrap();
    s.identities.table.selected = pos;
    key(&mut s, KeyCode::Char('X'));
    key(&mut s, KeyCode::Left);
    let mut out = key(&mut s, KeyCode::Enter);
    let Some(Cmd::Action(bound)) = out.pop() else { panic!("no action") };
    assert!(matches!(bound.request, AnyRequest::Jwt(Request::Revoke { .. })), "{bound:?}");
    // The console's real action worker runs it (through the runner).
    let audit_dir = tempfile::tempdir().unwrap();
    let actions = warden::app::action_worker::spawn(
        warden::app::action_worker::ActionSettings {
            nats: settings.clone(),
            kube: Default::default(),
            kube_section: warden_core::config::file::KubeSection { enabled: false, ..Default::default() },
            signing: SigningConfig {
                account: None,
                operator: Some(jwt_actions::KeyRef::File(op.operator_key.clone())),
            },
            audit_log: audit_dir.path().join("audit.log"),
            identity: Default::default(),
            naming: warden_core::identity::naming::Naming::with_defaults("tentacular.local").unwrap(),
            read_only: false,
            mode: warden_core::identity::actions::Mode::Jwt,
            ttl: Default::default(),
        },
        tx_actions,
    );
    actions.send(warden::app::action_worker::ActionCmd::Run(bound)).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !matches!(&s.dialog, Some(Dialog::Progress { done: Some(_), .. })) {
        let msg = tokio::time::timeout_at(deadline, rx_actions.recv()).await.expect("action done in time").unwrap();
        update(&mut s, msg);
    }
    let Some(Dialog::Progress { steps, done, .. }) = &s.dialog else { unreachable!() };
    assert_eq!(*done, Some("ok"), "{steps:?}");
    let screen = draw(&s, 120, 30);
    assert!(screen.contains("push to op1") && screen.contains("done"), "{screen}");
}
