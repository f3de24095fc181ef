//! Issue 12, the console's lifecycle: one owner of the Kubernetes context
//! that every worker follows (after `:ctx B` an action writes in B, one
//! confirmed in A is refused), and quitting in the middle of an action
//! (it is interrupted after a grace period, and the audit log says which
//! steps were done). Real nats-servers, two strict Kubernetes doubles, the
//! console's real workers and `update`, commands routed by the console's
//! own `route`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube_double::{KubeDouble, KubeDoubleConfig, KubeState};
use ratatui::crossterm::event::KeyCode;
use serde_json::Value;
use tokio::sync::mpsc;
use warden::app::action_worker::{self, ActionCmd, QUIT_GRACE};
use warden::app::dialog::model::Dialog;
use warden::app::kube_state::KubeLink;
use warden::app::kube_target::KubeTarget;
use warden::app::kube_worker;
use warden::app::msg::{Cmd, Msg};
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::ui::console::{Workers, route};
use warden_core::config::file::{IdentitySection, KubeSection};
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::identity::actions::{AnyRequest, Mode};
use warden_core::identity::binding::{Binding, BoundRequest};
use warden_core::identity::jwt_actions::{KeyRef, SigningConfig};
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::kube::client::KubeSettings;

use crate::jwt_actions::op_world;

const NI: &str = "warden.dev/v1alpha1";
const LIMIT: Duration = Duration::from_secs(30);

/// A kubeconfig whose contexts `ctx-a` and `ctx-b` are two different
/// clusters (two doubles, each enforcing the operator's ClusterRole).
async fn two_clusters(dir: &Path, role: &str) -> (Vec<KubeDouble>, Vec<KubeState>, PathBuf) {
    let mut doubles = Vec::new();
    let mut clusters = String::new();
    let mut contexts = String::new();
    let mut users = String::new();
    for name in ["a", "b"] {
        let cfg = KubeDoubleConfig {
            namespaces: vec!["default".into(), "shop".into(), "kube-system".into()],
            ..Default::default()
        };
        let token = cfg.token.clone();
        let d = crate::harness::strict_double(cfg).await;
        d.state().enforce_cluster_role_yaml(&crate::harness::rbac_role(role)).unwrap();
        clusters.push_str(&format!(
            "- name: cluster-{name}\n  cluster:\n    server: \"{}\"\n    certificate-authority-data: \"{}\"\n",
            d.url(),
            d.ca_data()
        ));
        contexts.push_str(&format!(
            "- name: ctx-{name}\n  context:\n    cluster: cluster-{name}\n    user: user-{name}\n    namespace: default\n"
        ));
        users.push_str(&format!("- name: user-{name}\n  user:\n    token: \"{token}\"\n"));
        doubles.push(d);
    }
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}current-context: ctx-a\npreferences: {{}}\nusers:\n{users}"
        ),
    )
    .unwrap();
    let states = doubles.iter().map(|d| d.state()).collect();
    (doubles, states, path)
}

type Console = crate::harness::TestConsole;

impl Console {
    /// `+` on `wf`, the subject typed, submitted and confirmed when asked.
    fn grant(&mut self, wf: &str, subject: &str) {
        self.select(wf);
        self.key(KeyCode::Char('+'));
        assert!(matches!(self.s.dialog, Some(Dialog::Grant(_))), "{:?} {:?}", self.s.dialog, self.s.status);
        self.type_line(subject);
        if matches!(self.s.dialog, Some(Dialog::Confirm { .. })) {
            self.key(KeyCode::Right);
            self.key(KeyCode::Enter);
        }
        assert!(matches!(self.s.dialog, Some(Dialog::Progress { .. })), "{:?}", self.s.dialog);
    }
}

fn user_key(k: &KubeState, wf: &str) -> String {
    let rec = k.get(NI, "NatsIdentity", "shop", wf).unwrap_or(Value::Null);
    rec["status"]["userPublicKey"].as_str().unwrap_or_default().to_string()
}

fn grants(k: &KubeState, wf: &str) -> String {
    k.get(NI, "NatsIdentity", "shop", wf).map(|r| r["spec"]["grants"].to_string()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_ctx_b_every_worker_is_in_b_and_an_action_confirmed_in_a_is_refused() {
    let op = op_world();
    let (_doubles, k, kubeconfig) = two_clusters(op.dir.path(), "warden-operator").await;
    let (url, creds) = (op.server.url(), op.world.sys_creds_path.display().to_string());
    for ctx in ["ctx-a", "ctx-b"] {
        let args = [
            "--kubeconfig",
            &kubeconfig.display().to_string(),
            "--kube-context",
            ctx,
            "identity",
            "register",
            "shop/orders",
            "--account",
            "APP",
            "--account-signing-key",
            &op.account_key.display().to_string(),
            "--operator-signing-key",
            &op.operator_key.display().to_string(),
        ]
        .map(String::from);
        let (home, url, creds) = (op.home(), url.clone(), creds.clone());
        let out = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::harness::warden(&home, &refs, &[("NATS_URL", url.as_str()), ("NATS_CREDS", creds.as_str())])
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{ctx}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (key_a, key_b) = (user_key(&k[0], "orders"), user_key(&k[1], "orders"));
    assert!(!key_a.is_empty() && !key_b.is_empty() && key_a != key_b, "{key_a} {key_b}");

    let nats = NatsSettings {
        url: url.clone(),
        auth: NatsAuth::Creds(op.world.sys_creds_path.clone()),
        ca: None,
        cert: None,
        key: None,
        source: "test".into(),
    };
    let kube = KubeSettings { kubeconfig: Some(kubeconfig.clone()), context: Some("ctx-a".into()) };
    let section = KubeSection { kubeconfig: Some(kubeconfig.clone()), ..Default::default() };
    let naming = Naming::with_defaults("tentacular.local").unwrap();
    let audit_log = op.dir.path().join("console-audit.log");
    // Wired as `ui::console::run` wires them: one owner of the context.
    let target = KubeTarget::new(kube.clone());
    let (tx, rx) = mpsc::channel(1024);
    let nats_cmds = warden::app::worker::spawn(nats.clone(), Duration::from_millis(500), tx.clone());
    let (kube_cmds, _kube_task) =
        kube_worker::spawn_following(target.follow(), section.clone(), Duration::from_secs(30), tx.clone());
    let actions = action_worker::spawn_following(
        action_worker::ActionSettings {
            nats,
            kube,
            kube_section: section.clone(),
            signing: SigningConfig {
                account: Some(KeyRef::File(op.account_key.clone())),
                operator: Some(KeyRef::File(op.operator_key.clone())),
            },
            audit_log: audit_log.clone(),
            identity: Default::default(),
            naming: naming.clone(),
            read_only: false,
            mode: Mode::Jwt,
            ttl: Default::default(),
        },
        Some(target.follow()),
        tx.clone(),
    );
    drop(tx);
    let mut s = AppState::new(url, "test".into(), Clock::system());
    s.size = (160, 40);
    s.naming = naming;
    s.kube_section = section;
    s.kube_contexts = vec!["ctx-a".into(), "ctx-b".into()];
    let w = Workers { nats: nats_cmds, kube: kube_cmds, actions: actions.cmds, target };
    let mut c = Console::new(s, rx, w);
    c.key(KeyCode::Char('8'));
    let shows = |ctx: &'static str, key: String| {
        move |s: &AppState| {
            matches!(&s.kube.link, KubeLink::Connected { context } if context == ctx)
                && s.identities.rows.iter().any(|r| r.workload == "orders" && r.user_key == key)
                && !s.servers.rows.is_empty()
        }
    };
    c.until("cluster A's identity", shows("ctx-a", key_a.clone())).await;

    // A grant confirmed in A, held until the context has switched: this is
    // the race no key sequence can produce (a dialog takes every key), so
    // the progress dialog is set aside while `:ctx ctx-b` is typed.
    c.hold = true;
    c.grant("orders", "tentacular.shop.orders.from-a");
    let progress = c.s.dialog.take();
    c.key(KeyCode::Char(':'));
    c.type_line("ctx ctx-b");
    c.s.dialog = progress;
    c.hold = false;
    assert_eq!(c.held.len(), 1);
    for cmd in std::mem::take(&mut c.held) {
        route(cmd, &c.w);
    }
    let steps = c.finished().await;
    assert!(steps.iter().any(|s| s.starts_with("FAIL refused") && s.contains("context ctx-a, now ctx-b")), "{steps:?}");
    assert!(!grants(&k[0], "orders").contains("from-a") && !grants(&k[1], "orders").contains("from-a"));

    // The views followed: B's identity, B's context in the header.
    c.until("cluster B's identity", shows("ctx-b", key_b.clone())).await;
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
    let theme = warden::ui::theme::Theme::builtin("default").unwrap();
    term.draw(|f| warden::ui::render::render(&c.s, &theme, f)).unwrap();
    let header: String = (0..160).map(|x| term.backend().buffer()[(x, 0)].symbol().to_string()).collect();
    assert!(header.contains("k8s ctx-b"), "{header}");

    // A grant now writes in B, and only in B.
    c.grant("orders", "tentacular.shop.orders.from-b");
    let steps = c.finished().await;
    assert!(steps.iter().all(|s| s.starts_with("ok")), "{steps:?}");
    assert!(grants(&k[1], "orders").contains("tentacular.shop.orders.from-b"), "{}", grants(&k[1], "orders"));
    assert!(!grants(&k[0], "orders").contains("from-b"), "{}", grants(&k[0], "orders"));
    let audit = std::fs::read_to_string(&audit_log).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["kube_context"].as_str(), Some("ctx-b"), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn quitting_during_an_action_interrupts_it_and_the_audit_line_names_the_steps_done() {
    let setup = crate::spiffe_actions::SpiffeSetup::start(&[]).await;
    let crate::spiffe_actions::SpiffeSetup { world, url, kubeconfig: kc, home, env, .. } = &setup;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = crate::harness::warden(home, &["identity", "register", "tent-dev/hn-digest"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The servers' include file as the worker sees it never follows the
    // ConfigMap: the grant waits for a config sync that never comes.
    let stale = home.join("never-synced.conf");
    std::fs::write(&stale, "# stale\n").unwrap();
    let nats = NatsSettings {
        url: url.clone(),
        auth: NatsAuth::None,
        ca: Some(world.bundle_file.clone()),
        cert: Some(world.system.cert_file.clone()),
        key: Some(world.system.key_file.clone()),
        source: "test".into(),
    };
    let kube = KubeSettings { kubeconfig: Some(kc.clone()), context: None };
    let section = KubeSection {
        kubeconfig: Some(kc.clone()),
        authz_configmap: format!("{}/{}", crate::spiffe_actions::CM_NS, crate::spiffe_actions::CM_NAME),
        ..Default::default()
    };
    let audit_log = home.join("quit-audit.log");
    let target = KubeTarget::new(kube.clone());
    let (tx, mut rx) = mpsc::channel(1024);
    let worker = action_worker::spawn_following(
        action_worker::ActionSettings {
            nats,
            kube,
            kube_section: section,
            signing: Default::default(),
            audit_log: audit_log.clone(),
            identity: IdentitySection { mode: Mode::Spiffe, authz_file: Some(stale), ..Default::default() },
            naming: Naming::with_defaults(crate::spiffe_actions::TD).unwrap(),
            read_only: false,
            mode: Mode::Spiffe,
            ttl: Default::default(),
        },
        Some(target.follow()),
        tx,
    );
    let request = AnyRequest::Spiffe(warden_core::identity::spiffe_actions::Request::Grant {
        name: IdentityName::parse("tent-dev/hn-digest").unwrap(),
        direction: warden_core::nats::subject::Direction::Publish,
        subject: "tentacular.tent-dev.hn-digest.extra".into(),
        allow_broad: false,
    });
    worker.cmds.send(ActionCmd::Run(BoundRequest { request, binding: Binding::mode_only(Mode::Spiffe) })).unwrap();
    // The first step is done (the ConfigMap written): the console quits.
    let first = tokio::time::timeout(LIMIT, async {
        loop {
            match rx.recv().await {
                Some(Msg::ActionStep(st)) => break st,
                Some(Msg::ActionDone(r)) => panic!("finished before the quit: {:?}", r.lines()),
                Some(_) => {}
                None => panic!("the worker stopped"),
            }
        }
    })
    .await
    .expect("a first step");
    assert!(first.result.is_ok(), "{first:?}");
    let quit_at = tokio::time::Instant::now();
    let w = Workers {
        nats: mpsc::unbounded_channel().0,
        kube: mpsc::unbounded_channel().0,
        actions: worker.cmds.clone(),
        target,
    };
    route(Cmd::Quit, &w);
    drop(w);
    drop(worker.cmds);
    let report = tokio::time::timeout(QUIT_GRACE + Duration::from_secs(5), async {
        loop {
            match rx.recv().await {
                Some(Msg::ActionDone(r)) => break r,
                Some(_) => {}
                None => panic!("the worker stopped without a report"),
            }
        }
    })
    .await
    .expect("the action ends within the grace period");
    let waited = quit_at.elapsed();
    assert!(waited >= QUIT_GRACE - Duration::from_millis(100), "cancelled before the grace: {waited:?}");
    tokio::time::timeout(Duration::from_secs(5), worker.task).await.expect("the worker task ends").unwrap();
    assert_eq!(report.outcome(), "interrupted", "{:?}", report.lines());

    let audit = std::fs::read_to_string(&audit_log).unwrap();
    let last: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["result"], "interrupted", "{last}");
    assert_eq!(last["action"], "grant", "{last}");
    let steps = last["steps"].as_array().unwrap();
    assert_eq!(steps[0]["step"], first.step.as_str(), "{last}");
    let end = steps.last().unwrap();
    assert_eq!((end["step"].as_str(), end["ok"].as_bool()), (Some("interrupted"), Some(false)), "{last}");
    let detail = end["detail"].as_str().unwrap();
    assert!(detail.starts_with("the console quit") && detail.contains(&first.step), "{detail}");
    assert!(!audit.contains("eyJ") && !audit.contains("BEGIN"), "a secret in the audit log: {audit}");
}

/// A violation line as nats-server writes it in a pod's log.
fn pod_line(subject: &str) -> String {
    format!(
        r#"[1] 2026/11/23 09:08:33.763031 [ERR] 10.0.0.5:51318 - cid:8 - "v2.16.0:go:wf-app" - "APP/user:UAPP" - Publish Violation - Subject "{subject}""#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pod_log_follower_moves_to_the_new_cluster_on_a_switch() {
    use warden::app::violations::feed::{self, Batch, PodLogs, Sources};
    let dir = tempfile::tempdir().unwrap();
    let (_doubles, k, kubeconfig) = two_clusters(dir.path(), "warden-readonly").await;
    let label = [("app.kubernetes.io/name", "nats")];
    k[0].add_pod("nats", "nats-a", &label, &["nats"]);
    k[1].add_pod("nats", "nats-b", &label, &["nats"]);
    let settings = KubeSettings { kubeconfig: Some(kubeconfig.clone()), context: Some("ctx-a".into()) };
    let section = KubeSection {
        kubeconfig: Some(kubeconfig),
        nats_pods: "app.kubernetes.io/name=nats".into(),
        ..Default::default()
    };
    let target = KubeTarget::new(settings.clone());
    let pods = feed::pod_logs(&settings, &section).await.expect("pod logs configured");
    let pods = PodLogs { retry: Duration::from_millis(200), target: Some(target.follow()), ..pods };
    let (tx, mut rx) = mpsc::channel::<Batch>(16);
    let _feed = feed::start(Sources { pods: Some(pods), ..Default::default() }, tx);

    let mut seen = Seen::default();
    seen.until(&mut rx, "nats-a followed", |s| s.following("pod nats/nats-a/nats")).await;
    k[0].append_pod_log("nats", "nats-a", "nats", &pod_line("in.a"));
    seen.until(&mut rx, "in.a", |s| s.has("in.a")).await;

    target.switch("ctx-b");
    seen.until(&mut rx, "nats-b followed", |s| s.following("pod nats/nats-b/nats")).await;
    k[0].append_pod_log("nats", "nats-a", "nats", &pod_line("a.after.switch"));
    k[1].append_pod_log("nats", "nats-b", "nats", &pod_line("in.b"));
    seen.until(&mut rx, "in.b", |s| s.has("in.b")).await;
    // Nothing orders two followers' lines, so A's absence is checked over a
    // bounded window (A's follower, were it alive, reads within ~100 ms).
    let window = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(Some(b)) = tokio::time::timeout_at(window, rx.recv()).await {
        seen.take(b);
    }
    assert!(!seen.has("a.after.switch"), "cluster A is still followed: {:?}", seen.subjects);
}

#[derive(Default)]
struct Seen {
    subjects: Vec<String>,
    following: Vec<String>,
}

impl Seen {
    fn take(&mut self, b: warden::app::violations::feed::Batch) {
        self.subjects.extend(b.violations.iter().filter_map(|v| v.subject.clone()));
        for s in b.sources {
            self.following.retain(|n| *n != s.name);
            if s.state.is_ok() {
                self.following.push(s.name);
            }
        }
    }
    fn has(&self, subject: &str) -> bool {
        self.subjects.iter().any(|x| x == subject)
    }
    fn following(&self, name: &str) -> bool {
        self.following.iter().any(|n| n == name)
    }
    async fn until(
        &mut self,
        rx: &mut mpsc::Receiver<warden::app::violations::feed::Batch>,
        what: &str,
        done: impl Fn(&Seen) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        while !done(self) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(b)) => self.take(b),
                _ => panic!("timed out waiting for {what}: {:?} {:?}", self.subjects, self.following),
            }
        }
    }
}
