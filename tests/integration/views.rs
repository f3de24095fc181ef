//! Rendering snapshots of each view at 80x24 and 200x50, from fixed state
//! (no clock, no network), so any change to what the operator sees shows up
//! in review.

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use warden::app::conns::ConnRow;
use warden::app::msg::Msg;
use warden::app::servers::ServerRow;
use warden::app::state::{AppState, Link};
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::nats::types::{ClusterInfo, ConnInfo, ServerInfo, Varz};

const NOW: i64 = 1_795_420_800; // 2026-11-23T08:00:00Z

fn server(name: &str, i: i64) -> ServerRow {
    let info = ServerInfo {
        name: name.into(),
        id: format!("N{name:0>55}").to_uppercase(),
        jetstream: i == 0,
        ..Default::default()
    };
    let v = Varz {
        server_name: name.into(),
        server_id: info.id.clone(),
        version: "2.15.1".into(),
        host: "0.0.0.0".into(),
        port: 4222,
        start: "2026-11-20T06:30:00Z".into(),
        mem: 48_000_000 + i * 1_000_000,
        cores: 4,
        cpu: 3.5 + i as f64,
        connections: 40 + i,
        total_connections: 900,
        subscriptions: 1200,
        slow_consumers: i,
        in_msgs: 123_456_789,
        out_msgs: 98_765_432,
        cluster: ClusterInfo { name: "prod-east".into(), ..Default::default() },
        system_account: "SYS".into(),
        ..Default::default()
    };
    ServerRow::from_varz(&info, &v)
}

fn conn(i: u64) -> ConnRow {
    let ns = ["tent-dev", "tent-prod", "payments"][i as usize % 3];
    let info = ConnInfo {
        cid: 10 + i,
        kind: "Client".into(),
        conn_type: "nats".into(),
        ip: format!("10.0.{}.{}", i / 250, i % 250),
        port: 40000 + i as u16,
        uptime: format!("{}h{}m", i % 24, i % 60),
        subscriptions: 3,
        name: format!("wf-{i}"),
        lang: "go".into(),
        version: "1.37.0".into(),
        authorized_user: format!("tentacle.{ns}.wf-{i}"),
        account: "APP".into(),
        in_msgs: 1000 * i as i64,
        out_msgs: 10 * i as i64,
        ..Default::default()
    };
    let mut row = ConnRow::new(["n1", "n2", "n3"][i as usize % 3], "NID", info);
    if i.is_multiple_of(4) {
        row.jwt_expires = Some(NOW + 3600 * i as i64 - 7200);
    }
    row
}

fn state() -> AppState {
    let mut s = AppState::new("nats://nats.prod:4222".into(), "context prod".into(), Clock { now_unix: NOW });
    s.conn.link = Link::Connected;
    s.conn.account = Some("SYS".into());
    s.conn.user = Some("admin".into());
    let at = Clock { now_unix: NOW };
    update(&mut s, Msg::Servers { at, result: Ok(vec![server("n1", 0), server("n2", 1), server("n3", 2)]) });
    update(&mut s, Msg::Conns { at, result: Ok(((0..200).map(conn).collect(), vec![])) });
    s
}

fn draw(s: &AppState, w: u16, h: u16) -> String {
    let mut s = s.clone();
    update(&mut s, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(&s, &Theme::builtin("default").unwrap(), f)).unwrap();
    t.backend().to_string()
}

fn key(s: &mut AppState, code: KeyCode) {
    update(s, Msg::Key(KeyEvent::from(code)));
}

#[test]
fn servers_view() {
    let s = state();
    assert_snapshot!("servers_80x24", draw(&s, 80, 24));
    assert_snapshot!("servers_200x50", draw(&s, 200, 50));
}

#[test]
fn connections_view_scrolled_with_detail() {
    let mut s = state();
    s.view = ViewId::Conns;
    s.size = (80, 24);
    for _ in 0..30 {
        key(&mut s, KeyCode::Down);
    }
    key(&mut s, KeyCode::Enter);
    assert_snapshot!("conns_detail_80x24", draw(&s, 80, 24));
    s.size = (200, 50);
    assert_snapshot!("conns_detail_200x50", draw(&s, 200, 50));
}

#[test]
fn filter_and_command_line() {
    let mut s = state();
    s.view = ViewId::Conns;
    key(&mut s, KeyCode::Char('/'));
    for c in "payments".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert_eq!(s.conns.table.visible.len(), 66);
    assert_snapshot!("conns_filter_80x24", draw(&s, 80, 24));
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char(':'));
    key(&mut s, KeyCode::Char('s'));
    key(&mut s, KeyCode::Tab);
    assert_snapshot!("command_completion_80x24", draw(&s, 80, 24));
}

#[test]
fn help_and_too_small_and_wrong_account() {
    let mut s = state();
    key(&mut s, KeyCode::Char('?'));
    assert_snapshot!("help_80x24", draw(&s, 80, 24));
    // Taller than 24 rows: it scrolls to the commands at the end.
    assert!(!draw(&s, 80, 24).contains(":quit"));
    for _ in 0..40 {
        key(&mut s, KeyCode::Down);
    }
    assert!(draw(&s, 80, 24).contains(":quit"));
    key(&mut s, KeyCode::Char('g'));
    assert_snapshot!("help_200x50", draw(&s, 200, 50));
    assert_snapshot!("too_small_50x10", draw(&s, 50, 10));

    let mut w = AppState::new("nats://nats.prod:4222".into(), "flags".into(), Clock { now_unix: NOW });
    w.conn.link = Link::Reconnecting(3);
    w.conn.account = Some("APP".into());
    update(&mut w, Msg::Servers { at: Clock { now_unix: NOW }, result: Ok(vec![]) });
    assert_snapshot!("wrong_account_80x24", draw(&w, 80, 24));
}

#[test]
fn permissions_view_with_the_subject_tester() {
    use warden::app::update::set_permissions;
    use warden_core::identity::permissions::{PermissionSet, Source};
    use warden_core::nats::subject::Direction;
    let mut s = state();
    let sets = (0..12)
        .map(|i| {
            let ns = ["tent-dev", "payments"][i % 2];
            let wf = format!("wf-{i}");
            let mut p = PermissionSet {
                identity: format!("{ns}/{wf}"),
                user: format!("U{i:0>55}"),
                account: "APP".into(),
                ..Default::default()
            };
            let scope = format!("tentacular.{ns}.{wf}.>");
            p.push(Direction::Publish, true, std::slice::from_ref(&scope), Source::UserJwt);
            p.push(Direction::Subscribe, true, &[scope, "_INBOX.>".into()], Source::UserJwt);
            if i == 3 {
                p.push(Direction::Publish, true, &["tentacular.tent-dev.wf-0.inbox".into()], Source::Grant);
            }
            if i == 5 {
                p.push(Direction::Publish, true, &[">".into()], Source::Grant);
            }
            p
        })
        .collect();
    set_permissions(&mut s, sets);
    key(&mut s, KeyCode::Char('6'));
    assert_snapshot!("permissions_80x24", draw(&s, 80, 24));
    key(&mut s, KeyCode::Char('t'));
    for c in "tentacular.tent-dev.wf-0.inbox".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let yes: Vec<&str> = s.tester.rows.iter().filter(|r| r.publish.allowed()).map(|r| r.identity.as_str()).collect();
    assert_eq!(yes, ["payments/wf-3", "payments/wf-5", "tent-dev/wf-0"]);
    assert_snapshot!("permissions_tester_80x24", draw(&s, 80, 24));
    assert_snapshot!("permissions_tester_200x50", draw(&s, 200, 50));
    // Half a 120-column screen: the essential SUBJECT column is cut, never dropped.
    let mid = draw(&s, 120, 32);
    assert!(mid.lines().nth(3).unwrap().contains("SUBJECT"), "{mid}");
}

#[test]
fn spire_views() {
    use warden::app::kube_state::KubeLink;
    use warden::app::spire_objects::SpiffeIdRow;
    use warden_core::config::file::SpireSection;
    use warden_core::kube::resources::cluster_spiffe_id;
    use warden_core::spire::model::{parse_agents, parse_entries};
    let mut s = state();
    update(&mut s, Msg::KubeLink(KubeLink::Connected { context: "prod".into() }));
    let entries = parse_entries(
        format!(
            r#"{{"entries":[{}]}}"#,
            (0..30)
                .map(|i| format!(
                    r#"{{"id":"e{i:03}","spiffe_id":{{"trust_domain":"tentacular.local","path":"/ns/tent-dev/wf/wf-{i}"}},
                    "parent_id":{{"trust_domain":"tentacular.local","path":"/spire/agent/k8s_psat/prod/node-{}"}},
                    "selectors":[{{"type":"k8s","value":"ns:tent-dev"}},{{"type":"k8s","value":"pod-label:tentacular.io/workflow:wf-{i}"}}],
                    "x509_svid_ttl":3600,"jwt_svid_ttl":300,"admin":{},"downstream":false,"expires_at":"{}"}}"#,
                    i % 3,
                    i == 0,
                    if i == 1 { NOW + 600 } else { 0 }
                ))
                .collect::<Vec<_>>()
                .join(",")
        )
        .as_bytes(),
    )
    .unwrap();
    let agents = parse_agents(
        format!(
            r#"{{"agents":[{{"id":{{"trust_domain":"tentacular.local","path":"/spire/agent/k8s_psat/prod/node-0"}},"attestation_type":"k8s_psat","x509svid_serial_number":"11","x509svid_expires_at":"{}","banned":false}},
            {{"id":{{"trust_domain":"tentacular.local","path":"/spire/agent/k8s_psat/prod/node-1"}},"attestation_type":"k8s_psat","x509svid_serial_number":"12","x509svid_expires_at":"{}","banned":true}}]}}"#,
            NOW + 1200,
            NOW + 86_400 * 5
        )
        .as_bytes(),
    )
    .unwrap();
    update(&mut s, Msg::Spire { at: Clock { now_unix: NOW }, entries: Ok(entries), agents: Ok(agents) });
    let rows = (0..8)
        .map(|i| {
            let mut o = kube::api::DynamicObject::new(&format!("tent-dev.wf-{i}"), &cluster_spiffe_id());
            o.data = serde_json::json!({
                "spec": {"className": if i == 5 { "other" } else { "spire-server-spire" },
                         "fallback": i == 6,
                         "spiffeIDTemplate": format!("spiffe://{{{{ .TrustDomain }}}}/ns/{{{{ .PodMeta.Namespace }}}}/wf/wf-{i}"),
                         "podSelector": {"matchLabels": {"tentacular.io/workflow": format!("wf-{i}")}}},
                "status": {"stats": {"podsSelected": 2, "entriesToSet": 2, "entryFailures": if i == 3 { 1 } else { 0 }}}
            });
            SpiffeIdRow::from_object(&o, &SpireSection::default())
        })
        .collect();
    s.spiffe_ids.replace(rows, NOW);
    for (n, name) in [('3', "entries"), ('4', "spiffeids"), ('5', "agents")] {
        key(&mut s, KeyCode::Char(n));
        assert_snapshot!(format!("spire_{name}_80x24"), draw(&s, 80, 24));
        assert_snapshot!(format!("spire_{name}_200x50"), draw(&s, 200, 50));
    }
}

#[test]
fn doctor_view_at_three_sizes() {
    use warden::app::doctor::FindingRow;
    use warden_core::doctor::{Finding, codes};
    let mut s = state();
    let agent = "spiffe://tentacular.local/spire/agent/k8s_psat/prod-east-cluster/6f1c2d4e-0a8b-4c5d-9e7f-1a2b3c4d5e6f";
    let rows = vec![
        Finding::new(
            &codes::SYS_ACCOUNT_WORKLOAD,
            "tentacle.payments.settlement-reconciler is connected in the system account",
            vec!["connection nats-prod-east-2/cid 4711".into(), "user tentacle.payments.settlement-reconciler".into()],
            "account SYS, connection name \"settlement-reconciler-7d9f8b6c5-x2x7q\"",
        ),
        Finding::new(
            &codes::AGENT_SVID_EXPIRING,
            format!("agent {agent} SVID expires in 3h"),
            vec![format!("agent {agent}")],
            "x509svid_expires_at 2026-11-20T09:30:00Z",
        ),
        Finding::new(
            &codes::KV_PERMISSIONS_MISSING,
            "payments/ledger cannot use KV bucket ledger-config: 2 missing",
            vec!["user tentacle.payments.ledger".into(), "bucket ledger-config".into()],
            "denied: $JS.API.STREAM.INFO.KV_ledger-config, $JS.API.DIRECT.GET.KV_ledger-config.>",
        ),
    ];
    s.doctor.replace(rows.into_iter().map(FindingRow::new).collect(), NOW);
    s.view = ViewId::Doctor;
    assert_snapshot!("doctor_80x24", draw(&s, 80, 24));
    assert_snapshot!("doctor_120x40", draw(&s, 120, 40));
    key(&mut s, KeyCode::Enter);
    assert_snapshot!("doctor_detail_200x50", draw(&s, 200, 50));
}

/// `[[sites]]`: three sites of one supercluster, each server in its site's
/// NATS cluster; the SITE column in Servers and Connections at three sizes,
/// and `/` finding one site's connections.
#[test]
fn sites_in_servers_and_connections() {
    use warden::app::sites::Sites;
    use warden_core::config::file::SiteSection;
    let sites =
        [("us-east-1-production", "n1"), ("eu-west-2-production", "n2"), ("ap-south-1-disaster-recovery", "n3")];
    let mut s = AppState::new("nats://nats.prod:4222".into(), "context prod".into(), Clock { now_unix: NOW });
    s.conn.link = Link::Connected;
    s.sites = Sites::new(
        &sites.iter().map(|(site, _)| SiteSection { name: site.to_string(), ..Default::default() }).collect::<Vec<_>>(),
    );
    let at = Clock { now_unix: NOW };
    let servers = sites
        .iter()
        .enumerate()
        .map(|(i, (site, name))| {
            let mut r = server(name, i as i64);
            r.cluster = site.to_string();
            r
        })
        .collect();
    update(&mut s, Msg::Servers { at, result: Ok(servers) });
    let conns = (0..60)
        .map(|i| {
            let mut c = conn(i);
            let name = sites[i as usize % 3].1;
            c.server_id = format!("N{name:0>55}").to_uppercase().as_str().into();
            c
        })
        .collect();
    update(&mut s, Msg::Conns { at, result: Ok((conns, vec![])) });
    assert_snapshot!("sites_servers_120x40", draw(&s, 120, 40));
    key(&mut s, KeyCode::Char('2'));
    assert_snapshot!("sites_conns_80x24", draw(&s, 80, 24));
    assert_snapshot!("sites_conns_200x50", draw(&s, 200, 50));
    key(&mut s, KeyCode::Char('/'));
    for c in "eu-west".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.conns.table.visible.len(), 20, "one site's third of the connections");
    assert_snapshot!("sites_conns_filtered_120x40", draw(&s, 120, 40));
}
