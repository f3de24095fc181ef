//! Issue 14, "an operator's console": column widths from content with
//! marked cuts, one label for accounts and users, sort, detail scrolling,
//! describe and copy, the back stack and regex filters. Rendered at 80x24,
//! 120x40 and 200x50 from fixed state with long, real-looking values.

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use warden::app::accounts::AccountRow;
use warden::app::conns::ConnRow;
use warden::app::msg::{Cmd, Msg};
use warden::app::state::{AppState, Link};
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::nats::types::ConnInfo;

const NOW: i64 = 1_795_420_800; // 2026-11-23T08:00:00Z
const AT: Clock = Clock { now_unix: NOW };
const APP_KEY: &str = "AB2LLJFJIWYIYHG5EJZQ7XUQJ2KYQSDXPGM3AJLBVH7VGNQ6X5RJXWYZ";
const SYS_KEY: &str = "ADTQS7ZCFVJNW4ZXQHOYBKXEQVBXHAUKB4LDHJEWC5RMTIFQWGTYSYS7";

fn key(s: &mut AppState, code: KeyCode) -> warden::app::msg::Outcome {
    update(s, Msg::Key(KeyEvent::from(code)))
}

fn typed(s: &mut AppState, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}

fn draw(s: &AppState, w: u16, h: u16) -> String {
    let mut s = s.clone();
    update(&mut s, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(&s, &Theme::builtin("default").unwrap(), f)).unwrap();
    t.backend().to_string()
}

/// A user public key: 56 characters, `U` and base32.
fn ukey(i: u64) -> String {
    let tail: String = format!("{i:0>4}").chars().map(|c| (b'A' + (c as u8 - b'0')) as char).collect();
    format!("U{}{tail}", "A".repeat(51))
}

/// SPIFFE-mode connections: users are SPIFFE IDs, names are long subjects.
fn spiffe_conn(i: u64) -> ConnRow {
    ConnRow::new(["nats-0", "nats-1", "nats-2"][i as usize % 3], "NID", spiffe_info(i))
}

/// The CONNZ record of [`spiffe_conn`] `i`.
fn spiffe_info(i: u64) -> ConnInfo {
    let ns = ["tent-dev", "tent-prod", "payments"][i as usize % 3];
    ConnInfo {
        cid: 100 + i,
        kind: "Client".into(),
        conn_type: "nats".into(),
        ip: format!("10.244.{}.{}", i % 3, 10 + i),
        port: 40000 + i as u16,
        uptime: format!("{}h{}m", i % 24, i % 60),
        subscriptions: 3,
        name: ["tentacular.payments.ledger.commands", "tentacular.payments.ledger.command", "bar-probe-connector"]
            [i as usize % 3]
            .into(),
        lang: "go".into(),
        version: "1.37.0".into(),
        authorized_user: format!("spiffe://tentacular.local/ns/{ns}/sa/default/wf/workflow-runner-{i}"),
        account: "APP".into(),
        in_msgs: 1000 * i as i64,
        out_msgs: 10 * i as i64,
        ..Default::default()
    }
}

/// Operator-mode connections: account and user by public key.
fn jwt_conn(i: u64) -> ConnRow {
    let info = ConnInfo {
        cid: 10 + i,
        kind: "Client".into(),
        conn_type: "nats".into(),
        ip: "10.0.0.7".into(),
        port: 41000 + i as u16,
        uptime: format!("{}m{}s", i, i),
        subscriptions: i as u32,
        name: "app".into(),
        lang: "rust".into(),
        version: "0.41.0".into(),
        authorized_user: ukey(i),
        account: if i == 0 { SYS_KEY.into() } else { APP_KEY.into() },
        in_msgs: [5, 1500, 999, 2_500_000][i as usize % 4],
        ..Default::default()
    };
    ConnRow::new("nats-0", "NID", info)
}

fn account(name: &str, key: &str) -> AccountRow {
    let mut a = AccountRow::default();
    a.name = name.into();
    a.key = key.into();
    a.system = key == SYS_KEY;
    a
}

fn base() -> AppState {
    let mut s = AppState::new("nats://nats.prod:4222".into(), "context prod".into(), AT);
    s.conn.link = Link::Connected;
    s
}

#[test]
fn connections_columns_follow_content_at_three_sizes() {
    let mut s = base();
    s.conn.account = Some("SYS".into());
    s.conn.user = Some("admin".into());
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..30).map(spiffe_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    let small = draw(&s, 80, 24);
    // A cut value is marked, never silently shortened into another one.
    assert!(!small.contains("tentacular.payments.ledger.command "), "{small}");
    assert!(small.contains('…'), "{small}");
    assert_snapshot!("conns_spiffe_80x24", small);
    assert_snapshot!("conns_spiffe_120x40", draw(&s, 120, 40));
    let wide = draw(&s, 200, 50);
    // Wide: the users and names are whole.
    assert!(wide.contains("spiffe://tentacular.local/ns/payments/sa/default/wf/workflow-runner-2 "), "{wide}");
    assert!(wide.contains("tentacular.payments.ledger.commands "), "{wide}");
    assert_snapshot!("conns_spiffe_200x50", wide);
}

#[test]
fn accounts_and_users_have_one_label_everywhere() {
    let mut s = base();
    s.conn.account = Some(APP_KEY.into());
    s.conn.user = Some(ukey(3));
    update(
        &mut s,
        Msg::Accounts { at: AT, result: Ok((vec![account("SYS", SYS_KEY), account("APP", APP_KEY)], vec![])) },
    );
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..6).map(jwt_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    let screen = draw(&s, 120, 40);
    // Header and table: the account's name; a user without a JWT name by
    // its short key; never a key cut to a prefix.
    assert!(screen.lines().next().unwrap().contains("account APP"), "{screen}");
    assert!(screen.contains("UAAA…AAAD"), "{screen}");
    assert!(!screen.contains("AB2LLJFJ"), "{screen}");
    assert_snapshot!("conns_operator_120x40", screen);
    // The full key is in the detail.
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Enter);
    let detail = draw(&s, 200, 50);
    assert!(detail.contains(&format!("APP ({APP_KEY})")), "{detail}");
    assert_snapshot!("conns_operator_detail_200x50", detail);
    assert_snapshot!("conns_operator_80x24", draw(&s, 80, 24));
}

#[test]
fn sort_by_column_keeps_the_selected_row() {
    let mut s = base();
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..8).map(jwt_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Down);
    let picked = s.conns.selected().unwrap().info.cid;
    // s: SITE, SERVER, CID, ACCOUNT, USER, NAME, LANG, IP, UPTIME, SUBS, IN.
    for _ in 0..11 {
        key(&mut s, KeyCode::Char('s'));
    }
    key(&mut s, KeyCode::Char('S'));
    let order: Vec<i64> = s.conns.table.visible.iter().map(|&i| s.conns.rows[i].info.in_msgs).collect();
    assert_eq!(order, [2_500_000, 2_500_000, 1500, 1500, 999, 999, 5, 5]);
    assert_eq!(s.conns.selected().unwrap().info.cid, picked, "the selection stays on its row");
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("IN↓"), "{screen}");
    assert_snapshot!("conns_sorted_120x40", screen);
    // A refresh keeps the order and the row.
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..8).rev().map(jwt_conn).collect(), vec![])) });
    assert_eq!(s.conns.selected().unwrap().info.cid, picked);
    assert_eq!(s.conns.rows[s.conns.table.visible[0]].info.in_msgs, 2_500_000);
}

#[test]
fn detail_scrolls_describe_and_copy() {
    let mut s = base();
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..4).map(spiffe_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    key(&mut s, KeyCode::Enter);
    for _ in 0..5 {
        key(&mut s, KeyCode::Char('J'));
    }
    assert_snapshot!("conns_detail_scrolled_80x24", draw(&s, 80, 24));
    // Rows keep what their columns show: the record is asked of its server.
    let out = key(&mut s, KeyCode::Char('y'));
    assert_eq!(out.cmds, vec![Cmd::FetchConnRecord { server_id: "NID".into(), cid: 100 }]);
    assert!(draw(&s, 80, 24).contains("fetching the CONNZ record"));
    update(&mut s, Msg::ConnRecord { server_id: "NID".into(), cid: 100, result: Ok(Some(Box::new(spiffe_info(0)))) });
    let d = draw(&s, 80, 24);
    assert!(d.contains("CONNZ record") && d.contains("\"cid\": 100"), "{d}");
    assert_snapshot!("conns_describe_80x24", d);
    assert_snapshot!("conns_describe_120x40", draw(&s, 120, 40));
    // c copies the user (a SPIFFE ID), as data.
    let out = key(&mut s, KeyCode::Char('c'));
    assert_eq!(
        out.cmds,
        vec![Cmd::Copy("spiffe://tentacular.local/ns/tent-dev/sa/default/wf/workflow-runner-0".into())]
    );
    key(&mut s, KeyCode::Esc);
    assert!(s.describe.is_none());
    // A CONNZ record with an escape sequence in the client name shows it as data.
    let mut evil = spiffe_conn(9);
    evil.info.name = "evil\x1b]52;c;cHduZWQ=\x07".into();
    update(&mut s, Msg::Conns { at: AT, result: Ok((vec![evil], vec![])) });
    key(&mut s, KeyCode::Char('y'));
    let mut evil = spiffe_info(9);
    evil.name = "evil\x1b]52;c;cHduZWQ=\x07".into();
    update(&mut s, Msg::ConnRecord { server_id: "NID".into(), cid: 109, result: Ok(Some(Box::new(evil))) });
    let d = draw(&s, 120, 40);
    assert!(!d.contains('\x1b') && d.contains("evil"), "{d}");
}

#[test]
fn regex_filters_report_bad_patterns() {
    let mut s = base();
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..30).map(spiffe_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, r"re:workflow-runner-(1|2)\b");
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.conns.table.visible.len(), 2);
    key(&mut s, KeyCode::Char('/'));
    for _ in 0..40 {
        key(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "re:runner-(");
    key(&mut s, KeyCode::Enter);
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("not a valid regular expression"), "{screen}");
    assert_snapshot!("conns_bad_regex_120x40", screen);
    let _ = (ViewId::Conns, KeyModifiers::NONE);
}

#[test]
fn kick_asks_first_with_cancel_focused() {
    use warden::app::dialog::model::{Button, Dialog};
    let mut s = base();
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..4).map(spiffe_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    key(&mut s, KeyCode::Down);
    update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)));
    assert!(matches!(s.dialog, Some(Dialog::Confirm { focus: Button::Cancel, .. })), "{:?}", s.dialog);
    assert_snapshot!("conns_kick_confirm_80x24", draw(&s, 80, 24));
    // Enter on Cancel closes it; nothing runs.
    let out = key(&mut s, KeyCode::Enter);
    assert!(out.cmds.is_empty() && s.dialog.is_none());
    // Read-only: refused before any dialog.
    s.read_only = true;
    update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)));
    assert!(s.dialog.is_none());
}

/// A real nats-server: ctrl-k on one client's row, confirmed, run by the
/// console's action worker, closes that connection and no other; a kick
/// bound to another user is refused.
#[tokio::test(flavor = "multi_thread")]
async fn kick_closes_exactly_the_confirmed_connection() {
    use std::time::Duration;
    use tokio::sync::mpsc;
    use warden::app::dialog::model::Dialog;
    use warden_core::config::NatsAuth;
    use warden_core::config::NatsSettings;
    use warden_core::identity::action::nats::{KickRequest, run_kick};
    use warden_core::identity::actions::{AnyRequest, Mode};
    use warden_core::secret::Secret;

    let dir = tempfile::tempdir().unwrap();
    let n1 = super::harness::config_mode(dir.path(), "n1");
    let app = |name: &'static str| {
        async_nats::ConnectOptions::new()
            .user_and_password("app".into(), super::harness::APP_PASSWORD.into())
            .name(name)
            .max_reconnects(Some(1))
            .connect(n1.url())
    };
    let victim = app("victim").await.unwrap();
    let bystander = app("bystander").await.unwrap();
    victim.flush().await.unwrap();
    bystander.flush().await.unwrap();
    let settings = NatsSettings {
        url: n1.url(),
        auth: NatsAuth::UserPassword { user: "sys".into(), password: Secret::new("sys") },
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let cmds = warden::app::worker::spawn(settings.clone(), Duration::from_secs(1), tx);
    let mut s = AppState::new(n1.url(), "test".into(), Clock::system());
    s.size = (120, 30);
    for c in key(&mut s, KeyCode::Char('2')).cmds {
        let _ = cmds.send(c);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(s.conns.rows.iter().any(|r| r.info.name == "victim")
        && s.conns.rows.iter().any(|r| r.info.name == "bystander"))
    {
        let msg = tokio::time::timeout_at(deadline, rx.recv()).await.expect("connections in time").unwrap();
        for c in update(&mut s, msg).cmds {
            let _ = cmds.send(c);
        }
    }
    let pos = s.conns.table.visible.iter().position(|&i| s.conns.rows[i].info.name == "victim").unwrap();
    s.conns.table.selected = pos;
    let row = s.conns.selected().unwrap().clone();
    let bystander_cid = s.conns.rows.iter().find(|r| r.info.name == "bystander").unwrap().info.cid;
    update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL)));
    key(&mut s, KeyCode::Left);
    let mut out = key(&mut s, KeyCode::Enter);
    let Some(Cmd::Action(bound)) = out.cmds.pop() else { panic!("no action: {:?}", s.dialog) };
    assert!(matches!(&bound.request, AnyRequest::Kick(k) if k.cid == row.info.cid && k.user == "app"), "{bound:?}");

    // The console's real action worker runs it through the runner.
    let audit_dir = tempfile::tempdir().unwrap();
    let (tx_actions, mut rx_actions) = mpsc::channel(1024);
    let actions = warden::app::action_worker::spawn(
        warden::app::action_worker::ActionSettings {
            nats: settings.clone(),
            kube: Default::default(),
            kube_section: warden_core::config::file::KubeSection { enabled: false, ..Default::default() },
            signing: Default::default(),
            audit_log: audit_dir.path().join("audit.log"),
            identity: Default::default(),
            naming: warden_core::identity::naming::Naming::with_defaults("tentacular.local").unwrap(),
            read_only: false,
            mode: Mode::Jwt,
            ttl: Default::default(),
        },
        tx_actions,
    );
    actions.send(warden::app::action_worker::ActionCmd::Run(bound)).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !matches!(&s.dialog, Some(Dialog::Progress { done: Some(_), .. })) {
        let msg = tokio::time::timeout_at(deadline, rx_actions.recv()).await.expect("kick done in time").unwrap();
        update(&mut s, msg);
    }
    let Some(Dialog::Progress { steps, done, .. }) = &s.dialog else { unreachable!() };
    assert_eq!(*done, Some("ok"), "{steps:?}");
    let audit = std::fs::read_to_string(audit_dir.path().join("audit.log")).unwrap();
    assert!(audit.contains("\"kick\""), "{audit}");

    // The server agrees: that cid is closed, the other one is not.
    let sys_client = async_nats::ConnectOptions::new()
        .user_and_password("sys".into(), "sys".into())
        .connect(n1.url())
        .await
        .unwrap();
    let sys = warden_core::nats::sys::SysClient::new(sys_client);
    super::harness::eventually(Duration::from_secs(10), "victim closed", || {
        let sys = sys.clone();
        let (id, cid) = (row.server_id.clone(), row.info.cid);
        async move { sys.server_connz_cid(&id, cid).await.ok().flatten().is_none().then_some(()) }
    })
    .await;
    assert!(sys.server_connz_cid(&row.server_id, bystander_cid).await.unwrap().is_some());

    // Bound to another user: refused, nothing kicked.
    let wrong = KickRequest {
        server_id: row.server_id.to_string(),
        server: row.server.to_string(),
        cid: bystander_cid,
        user: "someone-else".into(),
        mode: Mode::Jwt,
    };
    let report = run_kick(&sys, &wrong, |_| {}).await;
    assert!(!report.ok() && report.steps[0].result.as_ref().unwrap_err().contains("is now app"), "{report:?}");
    assert!(sys.server_connz_cid(&row.server_id, bystander_cid).await.unwrap().is_some());
    drop((victim, bystander));
}

#[test]
fn closed_connections_are_a_toggle_of_the_connections_view() {
    let mut s = base();
    update(&mut s, Msg::Conns { at: AT, result: Ok(((0..3).map(spiffe_conn).collect(), vec![])) });
    key(&mut s, KeyCode::Char('2'));
    let out = key(&mut s, KeyCode::Char('C'));
    assert_eq!(out.cmds, vec![Cmd::FetchClosed]);
    let closed: Vec<ConnRow> = (3..6)
        .map(|i| {
            let mut r = spiffe_conn(i);
            r.info.stop = format!("2026-11-23T07:5{i}:00Z").into();
            r.info.reason = ["Client Closed", "Authorization Violation", "Stale Connection"][i as usize % 3].into();
            r
        })
        .collect();
    update(&mut s, Msg::ClosedConns { at: AT, result: Ok((closed, vec![])) });
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("Closed connections") && screen.contains("Authorization"), "{screen}");
    assert!(screen.contains("5m0s ago"), "{screen}");
    assert_snapshot!("conns_closed_120x40", screen);
    assert_snapshot!("conns_closed_80x24", draw(&s, 80, 24));
    // R refreshes the closed list; C goes back to the open connections.
    assert_eq!(key(&mut s, KeyCode::Char('r')).cmds, vec![Cmd::FetchClosed]);
    key(&mut s, KeyCode::Char('C'));
    assert!(!draw(&s, 120, 40).contains("Closed connections"));
}

/// A real nats-server: a client that closes shows up in the closed list
/// with the server's reason; the open list no longer has it.
#[tokio::test(flavor = "multi_thread")]
async fn closed_connections_come_from_the_server_with_reasons() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let n1 = super::harness::config_mode(dir.path(), "n1");
    connect_and_close(&n1.url(), "short-lived").await;
    let sys = sys_client(&n1.url()).await;
    let rows = super::harness::eventually(Duration::from_secs(10), "closed connection listed", || {
        let sys = sys.clone();
        async move {
            let (rows, errors) = warden::app::conns::fetch_closed(&sys).await.ok()?;
            assert!(errors.is_empty(), "{errors:?}");
            rows.iter().any(|r| r.info.name == "short-lived").then_some(rows)
        }
    })
    .await;
    let r = rows.iter().find(|r| r.info.name == "short-lived").unwrap();
    assert_eq!(r.info.reason, "Client Closed", "{r:?}");
    assert_eq!(r.info.authorized_user, "app");
    assert!(warden::app::format::unix_of_rfc3339(&r.info.stop).is_some(), "{r:?}");
    let mut s = base();
    update(&mut s, Msg::ClosedConns { at: Clock::system(), result: Ok((rows, vec![])) });
    key(&mut s, KeyCode::Char('2'));
    s.show_closed = true;
    assert!(draw(&s, 120, 40).contains("Client Closed"));
}

/// SPIRE agents whose IDs differ only at the end: never cut into the same
/// text (`…/k8s_psat/sandbox` three times), at every size.
#[test]
fn spire_agents_and_entries_keep_the_end_of_their_ids() {
    use warden::app::spire_views::{AgentRow, EntryRow};
    use warden_core::spire::model::{parse_agents, parse_entries};
    let mut s = base();
    let node = |n: &str| format!(r#"{{"trust_domain":"tentacular.local","path":"/spire/agent/k8s_psat/sandbox/{n}"}}"#);
    let agents = parse_agents(
        format!(
            r#"{{"agents":[{}]}}"#,
            ["node-a", "node-b", "node-c"]
                .iter()
                .enumerate()
                .map(|(i, n)| format!(
                    r#"{{"id":{},"attestation_type":"k8s_psat","x509svid_serial_number":"1234567890123456789{i}","x509svid_expires_at":"{}","banned":false}}"#,
                    node(n),
                    NOW + 3600 * (i as i64 + 1)
                ))
                .collect::<Vec<_>>()
                .join(",")
        )
        .as_bytes(),
    )
    .unwrap();
    let entries = parse_entries(
        format!(
            r#"{{"entries":[{}]}}"#,
            (0..6)
                .map(|i| format!(
                    r#"{{"id":"a1b2c3d4-0000-4000-8000-00000000000{i}","spiffe_id":{{"trust_domain":"tentacular.local","path":"/ns/payments/sa/ledger-writer/wf/tentacular-payments-ledger-commands-{i}"}},
                    "parent_id":{},"selectors":[{{"type":"k8s","value":"ns:payments"}},{{"type":"k8s","value":"sa:ledger-writer"}},{{"type":"k8s","value":"pod-label:tentacular.io/workflow:ledger-commands-{i}"}}],
                    "x509_svid_ttl":3600,"jwt_svid_ttl":300,"expires_at":"0"}}"#,
                    node(["node-a", "node-b", "node-c"][i % 3])
                ))
                .collect::<Vec<_>>()
                .join(",")
        )
        .as_bytes(),
    )
    .unwrap();
    s.agents.replace(agents.into_iter().map(AgentRow::new).collect(), NOW);
    s.entries.replace(entries.into_iter().map(EntryRow::new).collect(), NOW);
    key(&mut s, KeyCode::Char('5'));
    for (w, h) in [(80, 24), (120, 40), (200, 50)] {
        let screen = draw(&s, w, h);
        for n in ["node-a", "node-b", "node-c"] {
            assert!(screen.contains(n), "{w}x{h}: {n}\n{screen}");
        }
        assert_snapshot!(format!("agents_{w}x{h}"), screen);
    }
    key(&mut s, KeyCode::Char('3'));
    for (w, h) in [(80, 24), (120, 40), (200, 50)] {
        let screen = draw(&s, w, h);
        assert!(screen.contains("commands-5"), "{w}x{h}\n{screen}");
        assert_snapshot!(format!("entries_{w}x{h}"), screen);
    }
}

/// Identities: widening never shortens SCOPE (NOTE takes spare, not SCOPE's share).
#[test]
fn identities_scope_is_not_squeezed_by_note() {
    use warden::app::identities::IdentityRow;
    use warden_core::identity::join::{IdState, JoinedIdentity};
    let mut s = base();
    let rows = (0..5u64)
        .map(|i| {
            IdentityRow::new(JoinedIdentity {
                namespace: "payments".into(),
                workload: format!("ledger-commands-{i}"),
                user: format!("tentacle.payments.ledger-commands-{i}"),
                user_key: ukey(i),
                account: "APP".into(),
                account_key: APP_KEY.into(),
                scope: format!("tentacular.payments.ledger-commands-{i}.>"),
                state: [IdState::Active, IdState::Drifted, IdState::Pending, IdState::Expiring, IdState::Revoked]
                    [i as usize],
                reason: [
                    "",
                    "revoked but still connected (2 connections)",
                    "waiting for approval",
                    "",
                    "revoked at 2026-11-23T07:00:00Z by ops@example",
                ][i as usize]
                    .into(),
                expires: Some(NOW + 3600 * 24 * i as i64),
                connections: i as usize,
                live: true,
                recorded: true,
                publish: vec![],
                subscribe: vec![],
                claims_json: String::new(),
            })
        })
        .collect();
    s.identities.replace(rows, NOW);
    key(&mut s, KeyCode::Char('8'));
    // The SCOPE cell of the first row: how much of it shows.
    let scope_shown = |screen: &str| {
        let header: Vec<char> = screen.lines().nth(3).unwrap().chars().collect();
        let col = (0..header.len()).find(|&i| header[i..].starts_with(&['S', 'C', 'O', 'P', 'E'])).unwrap();
        let line: String = screen.lines().nth(4).unwrap().chars().skip(col).collect();
        let cell = line.split(' ').next().unwrap();
        assert!(cell.starts_with("tentac") && cell.ends_with("-0.>"), "SCOPE keeps both ends: {cell}");
        cell.chars().count()
    };
    let mid = draw(&s, 120, 40);
    let wide = draw(&s, 200, 50);
    assert!(scope_shown(&mid) <= scope_shown(&wide), "{mid}\n{wide}");
    assert_eq!(scope_shown(&wide), "tentacular.payments.ledger-commands-0.>".len(), "{wide}");
    // The Drifted row's reason shows at 120 already (cut, marked).
    assert!(mid.contains("revoked but"), "{mid}");
    assert!(wide.contains("revoked at 2026-11-23T07:00:00Z by ops@example"), "{wide}");
    assert_snapshot!("identities_80x24", draw(&s, 80, 24));
    assert_snapshot!("identities_120x40", mid);
    assert_snapshot!("identities_200x50", wide);
}

fn violation(subject: Option<&str>) -> warden_core::violations::Violation {
    use warden_core::violations::ViolationKind;
    warden_core::violations::Violation {
        at: None,
        server: Some("nats-0".into()),
        server_id: Some("NSRV0".into()),
        kind: if subject.is_some() { ViolationKind::PublishDenied } else { ViolationKind::AuthFailed },
        account: Some("APP".into()),
        account_name: None,
        user: Some("tentacle.tent-dev.hn-digest".into()),
        client_name: Some("hn-digest\x1b[31m".into()),
        client_addr: Some("10.0.0.1:40001".into()),
        cid: Some(7),
        subject: subject.map(str::to_string),
        queue: None,
        reason: None,
        cause: None,
    }
}

/// `y` and `c` work in the Violations view too: the live list and the
/// grouped one; the denied subject is copied, else the identity.
#[test]
fn violations_describe_and_copy() {
    use warden::app::violations::feed::Batch;
    let mut s = base();
    let subject = "tentacular.payments.ledger.commands.settle.eu-west-1";
    let violations = vec![violation(None), violation(Some(subject))];
    update(&mut s, Msg::Violations(Batch { at: Some(AT), violations, sources: vec![], ticket: None }));
    key(&mut s, KeyCode::Char('0'));
    // The selection stays on the first violation (the auth failure, now
    // second): it has no subject, its identity is copied.
    let out = key(&mut s, KeyCode::Char('c'));
    assert!(matches!(out.cmds.as_slice(), [Cmd::Copy(v)] if v.contains("hn-digest")), "{:?}", out.cmds);
    // The publish violation above it: its denied subject.
    key(&mut s, KeyCode::Up);
    let out = key(&mut s, KeyCode::Char('c'));
    assert_eq!(out.cmds, vec![Cmd::Copy(subject.into())]);
    key(&mut s, KeyCode::Char('y'));
    let d = draw(&s, 120, 40);
    assert!(d.contains("violation") && d.contains(subject) && d.contains("\"cid\": 7"), "{d}");
    assert!(!d.contains('\x1b'), "{d}");
    key(&mut s, KeyCode::Esc);
    assert!(s.describe.is_none());
    // Grouped: the group's record.
    key(&mut s, KeyCode::Char('v'));
    update(&mut s, Msg::Tick(Clock { now_unix: NOW + 2 }));
    key(&mut s, KeyCode::Char('y'));
    assert!(s.describe.as_ref().is_some_and(|d| d.title.starts_with("violations of")), "{:?}", s.describe);
}

/// More closed connections than one page: every one the server remembers
/// is listed, newest first, none twice.
#[tokio::test(flavor = "multi_thread")]
async fn closed_connections_follow_every_page() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let n1 = super::harness::config_mode(dir.path(), "n1");
    for i in 0..25 {
        connect_and_close(&n1.url(), &format!("closed-{i}")).await;
    }
    let sys = sys_client(&n1.url()).await;
    let names = super::harness::eventually(Duration::from_secs(10), "all 25 closed connections", || {
        let sys = sys.clone();
        async move {
            let replies = sys.connz_closed_paged(7).await.ok()?;
            let names: Vec<String> = replies
                .iter()
                .filter_map(|r| r.ok())
                .flat_map(|c| c.connections.iter().map(|c| c.name.clone()))
                .filter(|n| n.starts_with("closed-"))
                .collect();
            (names.len() >= 25).then_some(names)
        }
    })
    .await;
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 25, "each once: {names:?}");
    assert_eq!(names.len(), 25, "none twice: {names:?}");
}

/// An APP client named `name` that connects and leaves.
async fn connect_and_close(url: &str, name: &str) {
    let c = async_nats::ConnectOptions::new()
        .user_and_password("app".into(), super::harness::APP_PASSWORD.into())
        .name(name)
        .connect(url)
        .await
        .unwrap();
    c.flush().await.unwrap();
}

async fn sys_client(url: &str) -> warden_core::nats::sys::SysClient {
    let c = async_nats::ConnectOptions::new().user_and_password("sys".into(), "sys".into()).connect(url).await.unwrap();
    warden_core::nats::sys::SysClient::new(c)
}
