//! SPIFFE mode through the console: a real nats-server in TLS
//! `verify_and_map` mode with SVID-authenticated workloads, the Kubernetes
//! API double, and the console's real workers (NATS polls, Kubernetes
//! watches, the violations feed on the server log, the action worker) fed
//! into `update` as the console loop does. The joined identities count each
//! workload's live connections (CONNZ `authorized_user` is the SVID's URI
//! SAN: nats-server `server/auth.go`, `checkClientTLSCertSubject`), a
//! violation is attributed to `ns/workload`, grant from the violation lets
//! the workload publish, and the revoke confirmation counts its connections.

use std::path::Path;
use std::time::Duration;

use ratatui::crossterm::event::KeyCode;
use tokio::sync::mpsc;
use warden::app::dialog::model::{Button, Dialog};
use warden::app::kube_worker::{self};
use warden::app::state::{AppState, Level};
use warden::app::table::Clock;
use warden::app::view_id::ViewId;
use warden::app::violations::feed::{self, NatsSource, Sources};
use warden_core::config::file::{IdentitySection, KubeSection, Mode};
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::identity::action::request::ActionRequest;
use warden_core::identity::actions::AnyRequest;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::kube::client::KubeSettings;
use warden_core::violations::ViolationKind;

use super::harness::warden;
use super::spiffe::{connect_with, delivered};

use crate::spiffe_actions::{CM_NAME, CM_NS, TD};

fn run_cli(home: &Path, env: &[(&str, String)], args: &[&str]) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = warden(home, args, &env);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "$ warden {}\n{text}", args.join(" "));
}

type Console = crate::harness::TestConsole;

/// The console's workers on a SPIFFE-mode setup, wired as `ui::console::run`
/// wires them (NATS worker sharing its client with the violations feed,
/// which also follows the server log; Kubernetes worker; action worker);
/// the feed's owner comes back with the console.
fn spiffe_console(setup: &crate::spiffe_actions::SpiffeSetup, naming: &Naming) -> (Console, feed::Feed) {
    let crate::spiffe_actions::SpiffeSetup { world, server, url, kubeconfig: kc, home, .. } = setup;
    let nats = NatsSettings {
        url: url.clone(),
        auth: NatsAuth::None,
        ca: Some(world.bundle_file.clone()),
        cert: Some(world.system.cert_file.clone()),
        key: Some(world.system.key_file.clone()),
        source: "test".into(),
    };
    let kube_settings = KubeSettings { kubeconfig: Some(kc.clone()), context: None };
    let kube_section = KubeSection {
        kubeconfig: Some(kc.clone()),
        authz_configmap: format!("{CM_NS}/{CM_NAME}"),
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel(1024);
    let (share_tx, share_rx) = tokio::sync::oneshot::channel();
    let nats_cmds =
        warden::app::worker::spawn_sharing(nats.clone(), Duration::from_millis(500), tx.clone(), Some(share_tx));
    let feed = feed::spawn_console(
        Sources {
            nats: Some(NatsSource::Later(share_rx)),
            files: vec![server.log_path.clone()],
            files_from_start: false,
            pods: None,
        },
        tx.clone(),
    );
    let kube_cmds =
        kube_worker::spawn(kube_settings.clone(), kube_section.clone(), Duration::from_secs(30), tx.clone());
    let actions = warden::app::action_worker::spawn(
        warden::app::action_worker::ActionSettings {
            nats,
            kube: kube_settings,
            kube_section: kube_section.clone(),
            signing: Default::default(),
            audit_log: home.join("audit.log"),
            identity: IdentitySection {
                mode: Mode::Spiffe,
                authz_file: Some(world.authz_file.clone()),
                ..Default::default()
            },
            naming: naming.clone(),
            read_only: false,
            mode: Mode::Spiffe,
            ttl: Default::default(),
        },
        tx.clone(),
    );
    drop(tx);
    let mut s = AppState::new(url.clone(), "test".into(), Clock::system());
    s.size = (160, 40);
    s.identity_mode = Mode::Spiffe;
    s.naming = naming.clone();
    s.authz_key = kube_section.authz_key.clone();
    s.kube_section = kube_section;
    let target = warden::app::kube_target::KubeTarget::new(Default::default());
    (Console::new(s, rx, warden::ui::console::Workers { nats: nats_cmds, kube: kube_cmds, actions, target }), feed)
}

fn conns_of(s: &AppState, name: &str) -> Option<usize> {
    s.identities.rows.iter().find(|r| r.name().as_deref() == Some(name)).map(|r| r.connections)
}

#[tokio::test(flavor = "multi_thread")]
async fn spiffe_console_counts_attributes_grants_and_confirms_revoke() {
    let setup = crate::spiffe_actions::SpiffeSetup::start(&[]).await;
    let crate::spiffe_actions::SpiffeSetup { world, url, home, env, .. } = &setup;

    // The workloads' pods and spire-controller-manager as the official
    // chart runs it: the ClusterSPIFFEIDs warden writes get their entries
    // and status (else they are rightly Drifted: "not reconciled").
    let k = &setup.k;
    for wf in ["hn-digest", "summarizer"] {
        let labels = serde_json::json!({"tentacular.io/workflow": wf});
        k.upsert(warden_sandbox::scenario::running_pod("tent-dev", &format!("{wf}-7d9f"), &labels, "node-a")).unwrap();
    }
    let controller = warden_sandbox::spire_controller::SpireController::spawn(
        k.clone(),
        warden_sandbox::scenario::controller_config(),
    );
    for n in ["tent-dev/hn-digest", "tent-dev/summarizer"] {
        run_cli(home, env, &["identity", "register", n]);
    }
    let rv = k.resource_version();
    tokio::time::timeout(Duration::from_secs(10), controller.synced().wait_for(|seen| *seen >= rv))
        .await
        .expect("the controller reconciled the registrations")
        .unwrap();

    // The workloads connect with their SVIDs: hn-digest twice, summarizer once.
    let naming = Naming::with_defaults(TD).unwrap();
    let a_id = naming.spiffe_id(&IdentityName::parse("tent-dev/hn-digest").unwrap());
    let b_id = naming.spiffe_id(&IdentityName::parse("tent-dev/summarizer").unwrap());
    let a_svid = world.issue_svid(&a_id).unwrap();
    let b_svid = world.issue_svid(&b_id).unwrap();
    let (ca, _ea) = connect_with(world, &a_svid, url, |o| o.name("hn-digest-1")).await.unwrap();
    let (ca2, _ea2) = connect_with(world, &a_svid, url, |o| o.name("hn-digest-2")).await.unwrap();
    let (cb, _eb) = connect_with(world, &b_svid, url, |o| o.name("summarizer")).await.unwrap();
    ca2.flush().await.unwrap();
    let other = "tentacular.tent-dev.summarizer.in";
    let mut b_sub = cb.subscribe(other).await.unwrap();
    cb.flush().await.unwrap();

    // The console's workers, wired as `ui::console::run` wires them.
    let (mut c, _feed) = spiffe_console(&setup, &naming);

    // Identities: each workload's live connections, by SPIFFE ID.
    c.key(KeyCode::Char('8'));
    assert_eq!(c.s.view, ViewId::Identities);
    // Connections now arrive before the Kubernetes watch may have listed the
    // records: wait for both.
    c.until_within(Duration::from_secs(20), "identities with their connections and records", |s| {
        conns_of(s, "tent-dev/hn-digest") == Some(2)
            && conns_of(s, "tent-dev/summarizer") == Some(1)
            && s.identities.rows.iter().any(|r| r.workload == "hn-digest" && r.recorded)
    })
    .await;
    let hn = c.s.identities.rows.iter().find(|r| r.workload == "hn-digest").unwrap();
    assert_eq!((hn.user.as_str(), hn.state.as_str(), hn.live, hn.recorded), (a_id.as_str(), "Active", true, true));

    // The log file is followed (from its end) before the workload misbehaves.
    c.until_within(Duration::from_secs(20), "the server log followed", |s| {
        s.violations.sources.iter().any(|x| x.name.contains("spiffe.log") && x.state.is_ok())
    })
    .await;
    assert!(!delivered(&ca, &cb, &mut b_sub, other).await, "cross publish allowed before the grant");
    c.until_within(Duration::from_secs(20), "the violation, attributed", |s| {
        s.violations.live.newest().any(|r| {
            r.violation.kind == ViolationKind::PublishDenied
                && r.violation.subject.as_deref() == Some(other)
                && r.identity == "tent-dev/hn-digest"
        })
    })
    .await;

    // Grant from the violation: confirm (Cancel is the default), the action
    // worker runs it, and the same live connection may now publish there.
    c.key(KeyCode::Char('0'));
    assert_eq!(c.s.view, ViewId::Violations);
    let pos =
        c.s.violations
            .live
            .newest()
            .position(|r| r.violation.subject.as_deref() == Some(other))
            .expect("the violation row");
    for _ in 0..pos {
        c.key(KeyCode::Char('j'));
    }
    c.key(KeyCode::Char('+'));
    match &c.s.dialog {
        Some(Dialog::Confirm { request: AnyRequest::Spiffe(r), question, focus: Button::Cancel, .. }) => {
            assert_eq!(r.target(), format!("tent-dev/hn-digest publish {other}"), "{question}");
        }
        d => panic!("no grant confirmation: {d:?}; status {:?}", c.s.status),
    }
    c.key(KeyCode::Left);
    c.key(KeyCode::Enter);
    c.until_within(Duration::from_secs(30), "the grant to finish", |s| {
        matches!(&s.dialog, Some(Dialog::Progress { done: Some(_), .. }))
    })
    .await;
    let Some(Dialog::Progress { done: Some(outcome), steps, .. }) = &c.s.dialog else { unreachable!() };
    assert!(matches!(c.s.status, Some((Level::Info, _))), "{outcome}: {steps:?} {:?}", c.s.status);
    let mut granted = false;
    for _ in 0..40 {
        if delivered(&ca, &cb, &mut b_sub, other).await {
            granted = true;
            break;
        }
    }
    assert!(granted, "the grant is not in force");
    c.key(KeyCode::Esc);
    assert!(c.s.dialog.is_none(), "{:?}", c.s.dialog);

    // Revoke from the violation: the confirmation counts hn-digest's live
    // connections (Cancel is the default; cancelled here).
    c.key(KeyCode::Char('0'));
    c.key(KeyCode::Char('X'));
    assert_eq!(c.s.view, ViewId::Identities);
    match &c.s.dialog {
        Some(Dialog::Confirm { request: AnyRequest::Spiffe(r), question, focus: Button::Cancel, .. }) => {
            assert_eq!(r.target(), "tent-dev/hn-digest");
            assert!(question.contains("its 2 live connection(s)"), "{question}");
        }
        d => panic!("no revoke confirmation: {d:?}; status {:?}", c.s.status),
    }
    c.key(KeyCode::Esc);
    assert!(c.s.dialog.is_none());
    drop((ca, ca2, cb));
}

/// Issue 12: in SPIFFE mode an over-broad grant offered from the Violations
/// view says so and asks (Cancel focused), then edits the
/// authorization ConfigMap and reloads; it never mints a JWT nor writes a
/// creds Secret (those are JWT mode's).
#[tokio::test(flavor = "multi_thread")]
async fn spiffe_over_broad_grant_from_a_violation_edits_the_configmap_and_mints_nothing() {
    let setup = crate::spiffe_actions::SpiffeSetup::start(&[]).await;
    let crate::spiffe_actions::SpiffeSetup { world, url, home, env, k, .. } = &setup;
    run_cli(home, env, &["identity", "register", "tent-dev/hn-digest"]);
    let secrets_before = k.list("v1", "Secret", None).len();
    let naming = Naming::with_defaults(TD).unwrap();
    let a_id = naming.spiffe_id(&IdentityName::parse("tent-dev/hn-digest").unwrap());
    let a_svid = world.issue_svid(&a_id).unwrap();

    // The console's workers, wired as `ui::console::run` wires them.
    let (mut c, _feed) = spiffe_console(&setup, &naming);

    c.until_within(Duration::from_secs(20), "the server log followed", |s| {
        s.violations.sources.iter().any(|x| x.name.contains("spiffe.log") && x.state.is_ok())
    })
    .await;
    // The workload subscribes to everything: denied, and attributed.
    let (ca, _ea) = connect_with(world, &a_svid, url, |o| o.name("hn-digest-1")).await.unwrap();
    let _sub = ca.subscribe(">").await.unwrap();
    ca.flush().await.unwrap();
    c.until_within(Duration::from_secs(20), "the subscribe violation on >", |s| {
        s.violations.live.newest().any(|r| {
            r.violation.kind == ViolationKind::SubscribeDenied
                && r.violation.subject.as_deref() == Some(">")
                && r.identity == "tent-dev/hn-digest"
        })
    })
    .await;

    c.key(KeyCode::Char('0'));
    let pos = c.s.violations.live.newest().position(|r| r.violation.subject.as_deref() == Some(">")).unwrap();
    for _ in 0..pos {
        c.key(KeyCode::Char('j'));
    }
    c.key(KeyCode::Char('+'));
    match &c.s.dialog {
        Some(Dialog::Confirm { request: AnyRequest::Spiffe(r), question, focus: Button::Cancel, .. }) => {
            assert_eq!(r.target(), "tent-dev/hn-digest subscribe >");
            assert!(question.contains("over-broad"), "{question}");
        }
        d => panic!("no over-broad confirmation: {d:?}; status {:?}", c.s.status),
    }
    // Enter on the default button cancels.
    c.key(KeyCode::Enter);
    assert!(c.s.dialog.is_none(), "{:?}", c.s.dialog);
    c.key(KeyCode::Char('+'));
    c.key(KeyCode::Right);
    c.key(KeyCode::Enter);
    if matches!(&c.s.dialog, Some(Dialog::Confirm { .. })) {
        // A second question (consent), Cancel focused again.
        assert!(matches!(&c.s.dialog, Some(Dialog::Confirm { focus: Button::Cancel, .. })));
        c.key(KeyCode::Right);
        c.key(KeyCode::Enter);
    }
    c.until_within(Duration::from_secs(30), "the grant to finish", |s| {
        matches!(&s.dialog, Some(Dialog::Progress { done: Some(_), .. }))
    })
    .await;
    let Some(Dialog::Progress { done: Some(outcome), steps, .. }) = &c.s.dialog else { unreachable!() };
    let lines: Vec<String> = steps.iter().map(|s| format!("{} {:?}", s.step, s.result)).collect();
    assert_eq!(*outcome, "ok", "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains("JWT") && !l.contains("creds")), "{lines:#?}");

    let cm = k.get("v1", "ConfigMap", CM_NS, CM_NAME).expect("the ConfigMap");
    let doc =
        warden_core::identity::spiffe_authz::AuthzDocument::parse(cm["data"]["authz.conf"].as_str().unwrap()).unwrap();
    let allow = doc.get(&a_id).unwrap().effective_allow(warden_core::nats::subject::Direction::Subscribe);
    assert!(allow.iter().any(|s| s == ">"), "{allow:?} {cm}");
    let rec = k.get("warden.dev/v1alpha1", "NatsIdentity", "tent-dev", "hn-digest").expect("NatsIdentity");
    assert!(rec["status"].get("jwt").is_none() && rec["status"].get("userPublicKey").is_none(), "{rec}");
    assert_eq!(k.list("v1", "Secret", None).len(), secrets_before, "a Secret was written");
    drop(ca);
}
