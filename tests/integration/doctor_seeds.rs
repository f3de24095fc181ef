//! Every doctor finding has a place where it can be seen and a test that
//! fails without it: the sandbox seeds the ones that fit a working world
//! (`crates/warden-sandbox/src/seeds.rs`), asserted here through the real
//! `warden doctor -o json` (and the console's `:doctor` for violations, which
//! the CLI does not count); the server-configuration ones are real servers
//! here, found and then fixed. [`COVERAGE`] says where each code is covered,
//! and a test holds it equal to `codes::ALL`.

use std::time::Duration;

use serde_json::Value;
use warden_core::doctor::codes;
use warden_sandbox::nats_server::NatsServer;
use warden_sandbox::scenario::agent_id;
use warden_sandbox::seeds;

use crate::harness::{HeadlessSandbox, eventually, warden};

/// Where each code is covered. Entries are (code, where); `GAP:` marks a
/// code no test can show yet, with the reason.
const COVERAGE: &[(&str, &str)] = &[
    ("sys-account-workload", "sandbox jwt (sys-debug-tap); doctor.rs a_workload_in_the_system_account_..."),
    ("no-auth", "doctor.rs a_no_auth_user_is_reported_as_no_auth_and_fixed_by_removing_it"),
    ("token-auth", "doctor_servers.rs a_token_server_in_a_cluster_is_token_auth_until_it_names_its_users"),
    (
        "mtls-without-auth",
        "doctor_servers.rs verified_certificates_without_mapped_users_are_mtls_without_auth_until_mapped",
    ),
    (
        "spiffe-without-mtls",
        "doctor_servers.rs a_spiffe_deployment_whose_server_does_not_verify_clients_is_spiffe_without_mtls",
    ),
    ("account-jwt-drift", "doctor_servers.rs two_servers_preloading_different_account_jwts_drift_until_one_is_pushed"),
    ("user-jwt-no-expiry", "sandbox jwt (tent-prod/legacy-cron)"),
    ("bearer-token-user", "sandbox jwt (tent-prod/kiosk-bearer)"),
    (
        "account-jwt-expired",
        "doctor_servers.rs an_account_jwt_that_expires_is_found_expired_until_a_fresh_one_is_pushed",
    ),
    ("account-jwt-expiring", "sandbox jwt (account PARTNERS)"),
    ("operator-jwt-expired", "doctor_seeds.rs an_operator_jwt_is_found_expiring_then_expired_and_gone_once_reissued"),
    ("operator-jwt-expiring", "doctor_seeds.rs an_operator_jwt_is_found_expiring_then_expired_and_gone_once_reissued"),
    (
        "server-tls-cert-expiring",
        "doctor_servers.rs a_server_certificate_running_out_is_found_until_renewed_and_reloaded",
    ),
    ("js-permissions-without-limits", "doctor_jetstream.rs"),
    ("kv-replicas-low", "doctor_jetstream.rs"),
    ("kv-permissions-missing", "doctor_jetstream.rs"),
    ("repeated-sub-violations", "sandbox jwt, console :doctor (tent-dev/deaf-listener)"),
    ("registration-without-authz", "sandbox jwt and spiffe (tent-dev/orphan)"),
    ("authz-without-registration", "sandbox spiffe (tent-prod/decommissioned)"),
    ("class-not-served", "sandbox jwt and spiffe (ClusterSPIFFEID tent-dev.canary)"),
    ("agent-banned-hosting", "sandbox jwt and spiffe (node-c's agent, tent-prod/nightly-export)"),
    ("agent-svid-expiring", "sandbox jwt and spiffe (node-b's agent)"),
    ("spiffe-id-outside-policy", "sandbox jwt and spiffe (ClusterStaticEntry legacy-batch-runner)"),
    ("dns-san-shadow", "sandbox spiffe (payments/gateway)"),
    ("revoked-still-connected", "sandbox jwt (payments/refund-worker)"),
    ("creds-secret-mismatch", "sandbox jwt (tent-dev/stale-creds)"),
    ("subjects-outside-scope", "sandbox jwt (tent-dev/metrics-exporter)"),
    ("site-drift", "doctor.rs sites_are_compared_and_the_missing_record_found"),
];

#[test]
fn every_code_has_a_place_where_it_is_covered() {
    let listed: Vec<&str> = COVERAGE.iter().map(|(c, _)| *c).collect();
    let all: Vec<&str> = codes::ALL.iter().map(|c| c.code).collect();
    for c in &all {
        assert!(listed.contains(c), "{c} is in codes::ALL but not in COVERAGE: say where it is tested");
    }
    for c in &listed {
        assert!(all.contains(c), "{c} is in COVERAGE but not a code");
    }
    assert_eq!(listed.len(), all.len(), "a code listed twice");
}

fn findings(v: &Value) -> &[Value] {
    v["findings"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The first finding of `code` whose summary or objects mention `what`.
fn find<'a>(v: &'a Value, code: &str, what: &str) -> Option<&'a Value> {
    findings(v).iter().find(|f| f["code"] == code && f.to_string().contains(what))
}

/// `warden doctor -o json` against the sandbox until every (code, object)
/// is among the findings (workloads connect and the controller renders
/// entries asynchronously); the last report.
async fn doctor_until(sb: &HeadlessSandbox, want: &[(&str, String)]) -> Value {
    eventually(Duration::from_secs(40), "every seeded finding", || {
        let out = sb.warden(&["doctor", "-o", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let done = want.iter().all(|(c, w)| find(&v, c, w).is_some());
        async move { done.then_some(v) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jwt_sandbox_shows_every_seeded_finding() {
    let sb = HeadlessSandbox::start(&[]);
    let written = std::fs::read_to_string(&sb.info["warden config"]).unwrap();
    assert!(written.contains("allowed_spiffe_prefixes"), "{written}");
    let user = |(ns, wf): (&str, &str)| format!("user tentacle.{ns}.{wf}");
    let ident = |(ns, wf): (&str, &str)| format!("identity {ns}/{wf}");
    let want = vec![
        ("user-jwt-no-expiry", user(seeds::NO_EXPIRY)),
        ("bearer-token-user", user(seeds::BEARER)),
        ("revoked-still-connected", ident(seeds::REVOKED_LIVE)),
        ("sys-account-workload", format!("user {}", seeds::SYS_TAP)),
        ("account-jwt-expiring", format!("account {} (", seeds::EXPIRING_ACCOUNT)),
        ("subjects-outside-scope", format!("NatsIdentity {}/{}", seeds::OUT_OF_SCOPE.0, seeds::OUT_OF_SCOPE.1)),
        ("registration-without-authz", "ClusterSPIFFEID tent-dev.orphan".to_string()),
        ("class-not-served", format!("ClusterSPIFFEID {}.{}", seeds::WRONG_CLASS.0, seeds::WRONG_CLASS.1)),
        ("agent-banned-hosting", format!("agent {}", agent_id(seeds::BANNED_NODE))),
        ("agent-svid-expiring", format!("agent {}", agent_id("node-b"))),
        ("spiffe-id-outside-policy", seeds::OUTSIDE_POLICY_ID.to_string()),
        ("creds-secret-mismatch", format!("Secret {}/{}-nats-creds", seeds::STALE_CREDS.0, seeds::STALE_CREDS.1)),
    ];
    let v = doctor_until(&sb, &want).await;
    // The two JWT ids, never secret material (no seed, no JWT text).
    let f = find(&v, "creds-secret-mismatch", seeds::STALE_CREDS.1).unwrap();
    assert_eq!(f["objects"][1], format!("NatsIdentity {}/{}", seeds::STALE_CREDS.0, seeds::STALE_CREDS.1), "{f:#}");
    let ev = f["evidence"].as_str().unwrap();
    assert_eq!(ev.matches("JWT ").count(), 2, "{ev}");
    let text = v.to_string();
    let seed_like = |w: &&str| {
        w.len() == 58 && w.starts_with('S') && w.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    };
    assert!(!text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| seed_like(&w)), "a seed in the report");
    assert!(!text.contains("eyJ"), "no JWT text in the report");
    assert_eq!(findings(&v).iter().filter(|f| f["code"] == "creds-secret-mismatch").count(), 1, "{v:#}");
    // Details that say why, not only that.
    let f = find(&v, "subjects-outside-scope", "metrics-exporter").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains("metrics.prod.>"), "{f:#}");
    let f = find(&v, "bearer-token-user", "kiosk-bearer").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains("bearer"), "{f:#}");
    // The bearer user is the only one: a JWT CONNZ shows is never taken for one.
    assert_eq!(findings(&v).iter().filter(|f| f["code"] == "bearer-token-user").count(), 1, "{v:#}");
    let f = find(&v, "class-not-served", "canary").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains(seeds::UNSERVED_CLASS), "{f:#}");

    // Violations are counted by the console: its :doctor, fed by the
    // server log, finds the listener that keeps subscribing where it may not.
    console_finds_the_deaf_listener(&sb).await;
    sb.stop().await;
}

async fn console_finds_the_deaf_listener(sb: &HeadlessSandbox) {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use warden::app::msg::Msg;
    use warden::app::state::AppState;
    use warden::app::table::Clock;
    use warden::app::update::update;
    use warden::app::violations::feed::{self, NatsSource, Sources};
    use warden_core::config::{NatsAuth, NatsSettings};

    let nats = NatsSettings {
        url: sb.info["NATS URL"].clone(),
        auth: NatsAuth::Creds(sb.info["system creds"].clone().into()),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let (share_tx, share_rx) = tokio::sync::oneshot::channel();
    let _nats = warden::app::worker::spawn_sharing(nats, Duration::from_millis(500), tx.clone(), Some(share_tx));
    let _feed = feed::spawn_console(
        Sources {
            nats: Some(NatsSource::Later(share_rx)),
            files: vec![sb.info["nats log"].clone().into()],
            files_from_start: true,
            pods: None,
        },
        tx,
    );
    let mut s = AppState::new(sb.info["NATS URL"].clone(), "test".into(), Clock::system());
    for c in ":doctor".chars() {
        update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
    }
    update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let (ns, wf) = seeds::DEAF;
    let deaf = |s: &AppState| {
        s.doctor.rows.iter().any(|r| {
            r.finding.code == "repeated-sub-violations"
                && r.finding.objects.iter().any(|o| o.contains(&format!("{ns}/{wf}")) || o.contains(wf))
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !deaf(&s) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => {
                update(&mut s, m);
                update(&mut s, Msg::Tick(Clock::system()));
            }
            _ => panic!(
                "no repeated-sub-violations for {ns}/{wf}; doctor: {:#?}",
                s.doctor.rows.iter().map(|r| (&r.finding.code, &r.finding.objects)).collect::<Vec<_>>()
            ),
        }
    }
    let row = s.doctor.rows.iter().find(|r| r.finding.code == "repeated-sub-violations").unwrap();
    assert!(row.finding.evidence.contains("tentacular.tent-prod.ingest"), "{:?}", row.finding);

    // `T` on the violator in Identities: the verdict names the publish its
    // user JWT denies and the rule that denies it.
    update(&mut s, Msg::Key(KeyEvent::new(KeyCode::Char('8'), KeyModifiers::NONE)));
    let verdict = |s: &mut AppState| -> Option<String> {
        let pos = s.identities.table.visible.iter().position(|&i| {
            let r = &s.identities.rows[i];
            r.namespace == "tent-dev" && r.workload == "summarizer"
        })?;
        s.identities.table.selected = pos;
        s.describe = None;
        update(s, Msg::Key(KeyEvent::new(KeyCode::Char('T'), KeyModifiers::SHIFT)));
        let text = s.describe.take()?.text;
        text.lines().find(|l| l.contains("verdict:")).map(str::to_string)
    };
    let want = "publish to `tentacular.payments.ledger.commands` denied";
    loop {
        if let Some(v) = verdict(&mut s).filter(|v| v.contains(want)) {
            assert!(v.contains("verdict: violations:"), "{v}");
            break;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => {
                update(&mut s, m);
            }
            _ => panic!("no out-of-scope verdict for tent-dev/summarizer: {:?}", verdict(&mut s)),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spiffe_sandbox_shows_every_seeded_finding() {
    let sb = HeadlessSandbox::start(&["--mode", "spiffe"]);
    let id = |(ns, wf): (&str, &str)| format!("spiffe://tentacular.local/ns/{ns}/wf/{wf}");
    let want = vec![
        ("dns-san-shadow", id(seeds::DNS_SANS)),
        ("authz-without-registration", format!("authorization entry {}", id(seeds::LEFTOVER_AUTHZ))),
        ("registration-without-authz", "ClusterSPIFFEID tent-dev.orphan".to_string()),
        ("class-not-served", format!("ClusterSPIFFEID {}.{}", seeds::WRONG_CLASS.0, seeds::WRONG_CLASS.1)),
        ("agent-banned-hosting", format!("agent {}", agent_id(seeds::BANNED_NODE))),
        ("agent-svid-expiring", format!("agent {}", agent_id("node-b"))),
        ("spiffe-id-outside-policy", seeds::OUTSIDE_POLICY_ID.to_string()),
    ];
    let v = doctor_until(&sb, &want).await;
    let f = find(&v, "dns-san-shadow", "gateway").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains(seeds::DNS_SAN), "{f:#}");
    // A working SPIFFE-mode server: none of the server findings.
    for code in ["spiffe-without-mtls", "mtls-without-auth", "no-auth"] {
        assert!(findings(&v).iter().all(|f| f["code"] != code), "{code}: {v:#}");
    }
    sb.stop().await;
}

// ---------------------------------------------------------------------------
// Server configurations a working sandbox cannot have: real servers.

fn doctor_with(home: &std::path::Path, env: &[(&str, &str)]) -> Value {
    let out = warden(home, &["doctor", "-o", "json"], env);
    assert!(out.status.success(), "doctor failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("doctor JSON")
}

fn has(v: &Value, code: &str) -> bool {
    findings(v).iter().any(|f| f["code"] == code)
}

const LIMIT: Duration = Duration::from_secs(20);

/// Operator mode: an operator JWT that expires soon is found (critical
/// under a day); once it has expired the running server keeps going and
/// the finding says expired; reissued with a later expiry and the server
/// restarted, neither is found.
#[tokio::test]
async fn an_operator_jwt_is_found_expiring_then_expired_and_gone_once_reissued() {
    use warden_sandbox::operator_mode::OperatorWorld;
    let dir = tempfile::tempdir().unwrap();
    let mut world = OperatorWorld::generate(&dir.path().join("world")).unwrap();
    let now = warden_core::nats::jwt::unix_now();
    world.set_operator_expiry(Some(now + 6)).unwrap();
    let mut server = NatsServer::start(&dir.path().join("nats"), "n1", world.config_body()).expect("start");
    let home = dir.path().join("home");
    let creds = world.sys_creds_path.display().to_string();
    let url = server.url();
    let env = |url: &str| vec![("NATS_URL", url.to_string()), ("NATS_CREDS", creds.clone())];
    let run = |url: &str| {
        let e = env(url);
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        doctor_with(&home, &e)
    };

    let v = run(&url);
    let f = findings(&v).iter().find(|f| f["code"] == "operator-jwt-expiring").unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(f["severity"], "critical", "under a day: {f:#}");
    assert_eq!(f["objects"][0], format!("operator warden-sandbox ({})", world.operator.public_key()));
    assert!(!has(&v, "operator-jwt-expired"), "{v:#}");

    eventually(LIMIT, "the operator JWT to be reported expired", || {
        let v = run(&url);
        async move { (has(&v, "operator-jwt-expired") && !has(&v, "operator-jwt-expiring")).then_some(()) }
    })
    .await;

    world.set_operator_expiry(Some(now + 365 * 86_400)).unwrap();
    server.restart().expect("restart with the reissued operator");
    let url = server.url();
    eventually(LIMIT, "no operator finding after the reissue", || {
        let v = run(&url);
        async move { (!has(&v, "operator-jwt-expired") && !has(&v, "operator-jwt-expiring")).then_some(()) }
    })
    .await;
}
