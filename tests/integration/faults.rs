//! Faults in the middle of actions and feeds (issue 16): real nats-servers,
//! the Kubernetes API double with injected faults (`kube_double::Fault`),
//! the real binary. Each fault must end in a clear state with nothing lost:
//! the report says which steps were done and which were not, the audit log
//! says the same, and running the action again completes it.
//!
//! A slow consumer dropping system events is `fleet.rs`
//! (`missed_events_are_counted_and_healed`-style tests there: the dropped
//! count is shown and a full sweep heals the rows).

use std::path::PathBuf;
use std::time::Duration;

use kube_double::{Effect, Fault, Gate, KubeDouble, KubeState};
use serde_json::{Value, json};

use crate::harness::eventually;
use crate::jwt_actions::{Op, op_world};

const NI: &str = "warden.dev/v1alpha1";
const LIMIT: Duration = Duration::from_secs(60);

/// JWT mode with Kubernetes: an operator-mode nats-server, the strict
/// double with the operator ClusterRole, a warden home whose config file
/// points at both.
struct World {
    op: Op,
    _double: KubeDouble,
    k: KubeState,
    config: PathBuf,
}

impl World {
    async fn new(extra_config: &str) -> World {
        let op = op_world();
        let double = crate::harness::shop_double().await;
        let kubeconfig = op.dir.path().join("kubeconfig");
        double.write_kubeconfig(&kubeconfig, "double").unwrap();
        let k = double.state();
        k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-operator")).unwrap();
        let config = op.dir.path().join("warden.toml");
        std::fs::write(&config, format!("[kubernetes]\nkubeconfig = {kubeconfig:?}\n{extra_config}")).unwrap();
        World { op, _double: double, k, config }
    }

    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec!["--config".into(), self.config.display().to_string()];
        a.extend(args.iter().map(|s| s.to_string()));
        a.extend([
            "--account-signing-key".to_string(),
            self.op.account_key.display().to_string(),
            "--operator-signing-key".to_string(),
            self.op.operator_key.display().to_string(),
        ]);
        a
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let a = self.args(args);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let url = self.op.server.url();
        let creds = self.op.world.sys_creds_path.display().to_string();
        crate::harness::warden_command(
            &self.op.home(),
            &refs,
            &[("NATS_URL", url.as_str()), ("NATS_CREDS", creds.as_str())],
        )
    }

    /// `warden identity ...` to its end, off the runtime (the double is
    /// served by this runtime): (success, stdout + stderr).
    async fn warden(&self, args: &[&str]) -> (bool, String) {
        let mut cmd = self.command(args);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let out = wait_or_kill(cmd.spawn().unwrap(), &args.join(" ")).await;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("$ warden {}\n{text}", args.join(" "));
        (out.status.success(), text)
    }

    fn identity(&self, name: &str) -> Option<Value> {
        self.k.get(NI, "NatsIdentity", "shop", name)
    }

    fn secret(&self, name: &str) -> Option<Value> {
        self.k.get("v1", "Secret", "shop", &format!("{name}-nats-creds"))
    }

    /// The audit log's lines.
    fn audit(&self) -> Vec<Value> {
        audit_lines(&self.op.home())
    }
}

/// Waits for a spawned warden; past LIMIT it is killed and the test fails
/// saying it hung (a blocking wait would hold the test runtime forever).
async fn wait_or_kill(child: std::process::Child, what: &str) -> std::process::Output {
    let pid = child.id() as i32;
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    tokio::pin!(waiting);
    match tokio::time::timeout(LIMIT, &mut waiting).await {
        Ok(out) => out.unwrap().unwrap(),
        Err(_) => {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let out = waiting.await.unwrap().unwrap();
            panic!("{what}: warden hung for {LIMIT:?}; its output: {}", String::from_utf8_lossy(&out.stdout));
        }
    }
}

fn audit_lines(home: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(home.join("state/warden/audit.log")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("audit lines are JSON")).collect()
}

/// `(step, ok)` of an audit line.
fn audit_steps(line: &Value) -> Vec<(String, bool)> {
    line["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["ok"].as_bool().unwrap()))
        .collect()
}

/// The user key in a creds Secret's `user.creds`.
fn secret_user(secret: &Value) -> String {
    let b64 = secret["data"]["user.creds"].as_str().expect("user.creds");
    let text = String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap();
    warden_core::nats::jwt::parse_creds(&text).unwrap().claims.std.subject
}

/// Register, the creds Secret write failing with 500 (then, a second run,
/// a 409 storm): the record is not written, so nothing says "registered"
/// without credentials; the report and the audit line name the steps done
/// and the one that failed; running it again completes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_or_409_storm_mid_register_leaves_no_half_identity_and_a_retry_completes_it() {
    let w = World::new("").await;
    for (effect, times, code) in [(Effect::Status(500), 1, "500"), (Effect::Conflict, 5, "409")] {
        let hits = w.k.inject(Fault::next("patch", "secrets", effect).times(times).named("orders-nats-creds"));
        let (ok, text) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
        assert!(!ok, "{text}");
        assert_eq!(hits.get(), 1, "the fault fired");
        assert!(text.contains("ok    mint user JWT"), "{text}");
        assert!(
            text.contains("FAIL  creds Secret: writing Secret shop/orders-nats-creds") && text.contains(code),
            "{text}"
        );
        assert!(text.contains("FAIL  NatsIdentity: not written"), "{text}");
        assert!(w.identity("orders").is_none(), "no record claims the identity");
        assert!(w.secret("orders").is_none());
        let last = w.audit().pop().expect("an audit line");
        assert_eq!(last["result"], "partial", "{last}");
        let steps = audit_steps(&last);
        assert!(steps.contains(&("mint user JWT".into(), true)), "{steps:?}");
        assert!(steps.contains(&("creds Secret".into(), false)), "{steps:?}");
        assert!(steps.contains(&("NatsIdentity".into(), false)), "{steps:?}");
        w.k.clear_faults();
    }

    let (ok, text) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{text}");
    let rec = w.identity("orders").expect("record");
    assert_eq!(rec["status"]["phase"], "Active");
    assert_eq!(secret_user(&w.secret("orders").unwrap()), rec["status"]["userPublicKey"].as_str().unwrap());
    assert_eq!(w.audit().pop().unwrap()["result"], "ok");
    // Idempotent: a third run changes nothing.
    let (ok, text) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok && text.contains("already registered"), "{text}");
}

/// Register, the record write never answered: the step fails at the
/// configured request deadline naming what it wrote; a retry mints again
/// and completes (the Secret then holds the recorded user).
#[tokio::test(flavor = "multi_thread")]
async fn a_kubernetes_request_that_never_answers_fails_its_step_and_a_retry_completes() {
    let w = World::new("request_timeout = \"2s\"\n").await;
    let hits = w.k.inject(Fault::next("patch", "natsidentities", Effect::Hang).named("orders"));
    let (ok, text) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(!ok, "{text}");
    assert_eq!(hits.get(), 1);
    assert!(text.contains("ok    creds Secret: shop/orders-nats-creds"), "{text}");
    assert!(text.contains("FAIL  NatsIdentity: writing NatsIdentity shop/orders"), "{text}");
    let last = w.audit().pop().unwrap();
    assert_eq!(last["result"], "partial");
    assert!(audit_steps(&last).contains(&("NatsIdentity".into(), false)));
    // The record was not written: the retry registers anew.
    let (ok, text) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{text}");
    let rec = w.identity("orders").expect("record");
    assert_eq!(rec["status"]["phase"], "Active");
    assert_eq!(secret_user(&w.secret("orders").unwrap()), rec["status"]["userPublicKey"].as_str().unwrap());
}

/// SIGTERM and SIGHUP to the real binary while an action waits on
/// Kubernetes: it stops where it is, prints the steps, exits non-zero, and
/// the audit line says "interrupted" naming the steps done. A retry
/// completes the identity.
#[tokio::test(flavor = "multi_thread")]
async fn a_signal_mid_action_interrupts_it_with_the_steps_done_in_the_audit_log() {
    let w = World::new("").await;
    for (signal, wf) in [(libc::SIGTERM, "orders"), (libc::SIGHUP, "billing")] {
        let gate = Gate::new();
        let hits = w.k.inject(Fault::next("patch", "natsidentities", Effect::Hold(gate.clone())).named(wf));
        let mut cmd = w.command(&["identity", "register", &format!("shop/{wf}"), "--account", "APP"]);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        eventually(LIMIT, "the action reaches the record write", || {
            let hits = hits.clone();
            async move { (hits.get() == 1).then_some(()) }
        })
        .await;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = wait_or_kill(child, "exit after the signal").await;
        gate.open();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "a clean exit, not killed by the signal: {text}");
        let name = if signal == libc::SIGTERM { "SIGTERM" } else { "SIGHUP" };
        assert!(
            text.contains(&format!("FAIL  interrupted: {name} received; steps done before it stopped: "))
                && text.contains("creds Secret (they are not undone)"),
            "{text}"
        );
        let last = w.audit().pop().unwrap();
        assert_eq!(last["result"], "interrupted", "{last}");
        assert_eq!(last["target"], format!("shop/{wf}"));
        let steps = audit_steps(&last);
        assert_eq!(steps.last().unwrap(), &("interrupted".to_string(), false));
        assert!(steps.contains(&("creds Secret".into(), true)), "{steps:?}");
        // Not recorded as registered; the retry completes it.
        assert!(w.identity(wf).is_none_or(|r| r["status"]["phase"] != "Active"));
        let (ok, text) = w.warden(&["identity", "register", &format!("shop/{wf}"), "--account", "APP"]).await;
        assert!(ok, "{text}");
        assert_eq!(w.identity(wf).unwrap()["status"]["phase"], "Active");
    }
}

/// The nats-server killed while revoke waits on Kubernetes (after it read
/// the account, before it reads the connections and pushes the new account
/// JWT): the action ends, without hanging, with the NATS steps failed and
/// the record not marked Revoked; after the server is back a retry pushes
/// the revocation and marks it.
#[tokio::test(flavor = "multi_thread")]
async fn a_nats_server_killed_mid_revoke_fails_the_push_and_a_retry_completes_it() {
    let mut w = World::new("").await;
    let (ok, text) = w.warden(&["identity", "register", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{text}");
    let user = w.identity("orders").unwrap()["status"]["userPublicKey"].as_str().unwrap().to_string();

    let gate = Gate::new();
    let hits = w.k.inject(Fault::next("get", "natsidentities", Effect::Hold(gate.clone())).named("orders"));
    let mut cmd = w.command(&["identity", "revoke", "shop/orders", "--account", "APP"]);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    eventually(LIMIT, "revoke reaches the record read", || {
        let hits = hits.clone();
        async move { (hits.get() == 1).then_some(()) }
    })
    .await;
    w.op.server.stop();
    gate.open();
    let out = wait_or_kill(child, "revoke with its server gone").await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("ok    account"), "{text}");
    assert!(text.contains("FAIL  "), "{text}");
    assert_ne!(w.identity("orders").unwrap()["status"]["phase"], "Revoked", "not marked before it is pushed");
    let last = w.audit().pop().unwrap();
    assert!(matches!(last["result"].as_str(), Some("partial" | "failed")), "{last}");

    w.op.server.restart().unwrap();
    let (ok, text) = w.warden(&["identity", "revoke", "shop/orders", "--account", "APP"]).await;
    assert!(ok, "{text}");
    assert!(text.contains(&format!("added {user} to APP")) || text.contains("already revoked"), "{text}");
    assert!(text.contains("ok    push to"), "{text}");
    assert_eq!(w.identity("orders").unwrap()["status"]["phase"], "Revoked");
    assert_eq!(w.audit().pop().unwrap()["result"], "ok");
}

/// A nats-server violation line in the format of 2.12+ (config mode).
fn violation_line(subject: &str) -> String {
    format!(
        "[1] 2026/11/23 09:08:33.763031 [ERR] 127.0.0.1:51318 - cid:8 - \"v2.16.0:python3:app\" - \"APP/user:tent\" - Publish Violation - Subject \"{subject}\"\n"
    )
}

fn append(p: &std::path::Path, s: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new().create(true).append(true).open(p).unwrap().write_all(s.as_bytes()).unwrap();
}

/// Batches of the violations feed until `done` holds for what it has
/// handed over (subjects seen, sources' last states); fails after LIMIT
/// saying what it saw.
async fn feed_until(
    rx: &mut tokio::sync::mpsc::Receiver<warden::app::violations::feed::Batch>,
    seen: &mut (Vec<String>, std::collections::HashMap<String, Result<String, String>>),
    what: &str,
    done: impl Fn(&(Vec<String>, std::collections::HashMap<String, Result<String, String>>)) -> bool,
) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(b)) => {
                seen.0.extend(b.violations.iter().filter_map(|v| v.subject.clone()));
                for s in b.sources {
                    seen.1.insert(s.name, s.state);
                }
            }
            _ => panic!("timed out waiting for {what}; saw {seen:?}"),
        }
    }
}

/// A followed nats-server log file: a line of several megabytes (cut, the
/// next line whole), the file deleted and recreated (followed on), the file
/// replaced by a symlink to another file (refused, said on the source, the
/// other file never read), then a regular file again (followed). The same
/// megabytes line in a followed pod log is cut too.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_feed_survives_huge_lines_recreation_and_refuses_a_symlink() {
    use warden::app::violations::feed::{self, PodLogs, Sources};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("nats.log");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, violation_line("secret.from.the.symlink")).unwrap();
    append(&log, "");
    let double = crate::harness::strict_double(kube_double::KubeDoubleConfig::default()).await;
    let k = double.state();
    k.add_pod("nats", "nats-0", &[("app.kubernetes.io/name", "nats")], &["nats"]);
    let kc = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kc, "double").unwrap();
    let settings = warden_core::kube::client::KubeSettings { kubeconfig: Some(kc), context: None };
    let client = warden_core::kube::client::connect(&settings).await.unwrap().unwrap().client;
    let pods = PodLogs {
        client,
        selector: "app.kubernetes.io/name=nats".into(),
        containers: vec!["nats".into()],
        retry: Duration::from_millis(200),
        from_start: true,
        target: None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let _feed = feed::start(Sources { files: vec![log.clone()], pods: Some(pods), ..Default::default() }, tx);
    let file_source = format!("file {}", log.display());
    let mut seen = Default::default();
    feed_until(&mut rx, &mut seen, "the file followed", |s| s.1.get(&file_source).is_some_and(|r| r.is_ok())).await;

    let huge = format!("{}\n", "x".repeat(8 << 20));
    append(&log, &huge);
    append(&log, &violation_line("after.the.huge.line"));
    feed_until(&mut rx, &mut seen, "the line after 8 MiB", |s| s.0.iter().any(|x| x == "after.the.huge.line")).await;

    std::fs::remove_file(&log).unwrap();
    append(&log, &violation_line("in.the.recreated.file"));
    feed_until(&mut rx, &mut seen, "the recreated file", |s| s.0.iter().any(|x| x == "in.the.recreated.file")).await;

    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&secret, &log).unwrap();
    feed_until(&mut rx, &mut seen, "the symlink refused", |s| {
        s.1.get(&file_source).is_some_and(|r| r.as_ref().is_err_and(|e| e.contains("not a regular file")))
    })
    .await;
    std::fs::remove_file(&log).unwrap();
    append(&log, &violation_line("regular.again"));
    feed_until(&mut rx, &mut seen, "a regular file again", |s| s.0.iter().any(|x| x == "regular.again")).await;
    assert!(!seen.0.iter().any(|x| x == "secret.from.the.symlink"), "the symlink's target was read: {:?}", seen.0);

    // Pods: a line of megabytes, then a violation.
    k.append_pod_log("nats", "nats-0", "nats", &"y".repeat(8 << 20));
    k.append_pod_log("nats", "nats-0", "nats", violation_line("after.the.huge.pod.line").trim_end());
    feed_until(&mut rx, &mut seen, "the pod line after 8 MiB", |s| s.0.iter().any(|x| x == "after.the.huge.pod.line"))
        .await;
}

async fn kube_pump(
    s: &mut warden::app::state::AppState,
    rx: &mut tokio::sync::mpsc::Receiver<warden::app::msg::Msg>,
    what: &str,
    done: impl Fn(&warden::app::state::AppState) -> bool,
) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !done(s) {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out: {what}; kube: {:?} entries: {:?}", s.kube.link, s.entries.stale))
            .unwrap();
        warden::app::update::update(s, msg);
    }
}

fn cluster_spiffe_id(name: &str) -> Value {
    json!({
        "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
        "metadata": {"name": name},
        "spec": {"spiffeIDTemplate": "spiffe://td/ns/{{ .PodMeta.Namespace }}/wf/x",
                 "podSelector": {"matchLabels": {"tentacular.io/workflow": name}}},
    })
}

/// The console's Kubernetes side: a watch stream that ends in the middle
/// of an object (the watch restarts, the object arrives whole), and a
/// spire-server exec that never answers (the SPIRE panels say so at the
/// configured deadline, the console keeps going, the next fetch recovers).
#[tokio::test(flavor = "multi_thread")]
async fn a_watch_cut_mid_object_and_a_hanging_spire_server_end_in_a_clear_state() {
    use warden::app::kube_worker;
    let double = crate::harness::strict_double(kube_double::KubeDoubleConfig::default()).await;
    let k = double.state();
    k.add_pod("spire-server", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
    k.set_spire_entries(vec![kube_double::spire_entry(
        "e1",
        "spiffe://td/ns/a/wf/one",
        "spiffe://td/spire/agent/x",
        &["k8s:ns:a"],
    )]);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kc, "double").unwrap();
    let settings = warden_core::kube::client::KubeSettings { kubeconfig: Some(kc), context: None };
    let mut section = warden_core::config::file::KubeSection::default();
    section.spire.exec_timeout = "1s".into();
    let cut = k.inject(Fault::next("watch", "clusterspiffeids", Effect::Cut));
    k.upsert(cluster_spiffe_id("one")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cmds = kube_worker::spawn(settings, section, Duration::from_secs(1), tx);
    let mut s =
        warden::app::state::AppState::new("nats://x".into(), "test".into(), warden::app::table::Clock::system());
    kube_pump(&mut s, &mut rx, "listed", |s| {
        s.spiffe_ids.rows.iter().any(|r| r.object.name == "one") && s.entries.rows.len() == 1
    })
    .await;
    // The watch's next event is cut in half and the stream ends.
    k.upsert(cluster_spiffe_id("two")).unwrap();
    kube_pump(&mut s, &mut rx, "the object cut mid-stream, whole after the watch restarts", |s| {
        s.spiffe_ids.rows.iter().any(|r| r.object.name == "two")
    })
    .await;
    assert_eq!(cut.get(), 1, "the watch was cut");
    k.upsert(cluster_spiffe_id("three")).unwrap();
    kube_pump(&mut s, &mut rx, "watching again", |s| s.spiffe_ids.rows.iter().any(|r| r.object.name == "three")).await;

    let hang = k.inject(Fault::next("get", "pods/exec", Effect::Hang));
    let _ = cmds.send(kube_worker::KubeCmd::RefreshSpire);
    kube_pump(&mut s, &mut rx, "the hanging exec named", |s| {
        s.entries
            .stale
            .as_deref()
            .is_some_and(|e| e.contains("spire-server entry show") && e.contains("no answer within 1s"))
    })
    .await;
    assert_eq!(hang.get(), 1);
    assert_eq!(s.entries.rows.len(), 1, "the rows are kept, marked stale");
    let _ = cmds.send(kube_worker::KubeCmd::RefreshSpire);
    kube_pump(&mut s, &mut rx, "recovered", |s| s.entries.stale.is_none()).await;
}

/// A spire-server printing without end: warden reads a bounded amount and
/// fails saying so (here with a 1 MiB bound; the console's is
/// `spire::exec::MAX_OUTPUT`).
#[tokio::test(flavor = "multi_thread")]
async fn a_spire_server_printing_megabytes_is_read_bounded() {
    let double = crate::harness::strict_double(kube_double::KubeDoubleConfig::default()).await;
    let k = double.state();
    k.add_pod("spire-server", "spire-server-0", &[("app", "spire-server")], &["spire-server"]);
    k.set_exec_handler(|_| Some(kube_double::ExecOutput { stdout: vec![b'{'; 8 << 20], stderr: vec![], exit_code: 0 }));
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    double.write_kubeconfig(&kc, "double").unwrap();
    let settings = warden_core::kube::client::KubeSettings { kubeconfig: Some(kc), context: None };
    let client = warden_core::kube::client::connect(&settings).await.unwrap().unwrap().client;
    let at = warden_core::spire::exec::SpireServerPod::default();
    let run = warden_core::spire::exec::run_limited(&client, &at, &["entry", "show", "-output", "json"], 1 << 20);
    let e = tokio::time::timeout(LIMIT, run).await.expect("bounded, not hung").unwrap_err();
    assert!(e.to_string().contains("printed more than 1 MiB: output not read further"), "{e:#}");
}

/// SPIFFE-mode approve (authorization ConfigMap, ClusterSPIFFEID,
/// NatsIdentity Active, reload) with a 409 storm on the ConfigMap and a
/// 500 on the ClusterSPIFFEID: the ConfigMap is written after re-reading
/// through the conflicts, the identity is left Pending because its SPIRE
/// registration failed (never Active without it), the audit line says
/// partial; approving again completes it. A storm longer than the retries
/// fails the ConfigMap step and writes nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn spiffe_approve_through_a_409_storm_and_a_5xx_ends_pending_and_a_retry_completes_it() {
    use crate::spiffe_actions::SpiffeSetup;
    let setup = SpiffeSetup::start(&[]).await;
    let k = &setup.k;
    k.enforce_cluster_role_yaml(&crate::harness::rbac_role("warden-operator")).unwrap();
    let run = |args: &[&str]| {
        let env: Vec<(&str, &str)> = setup.env.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let out = crate::harness::warden(&setup.home, args, &env);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("$ warden {}\n{text}", args.join(" "));
        (out.status.success(), text)
    };
    let pending = |wf: &str| {
        k.upsert(json!({"apiVersion": NI, "kind": "NatsIdentity",
            "metadata": {"name": wf, "namespace": "tent-dev"}, "spec": {"workload": wf}}))
            .unwrap();
    };
    let phase = |wf: &str| {
        k.get(NI, "NatsIdentity", "tent-dev", wf).and_then(|r| r["status"]["phase"].as_str().map(str::to_string))
    };
    let csid = |wf: &str| k.get("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID", "", &format!("tent-dev.{wf}"));
    let (ok, text) = run(&["identity", "register", "tent-dev/first"]);
    assert!(ok, "{text}");

    pending("orders");
    let storm = k.inject(Fault::next("patch", "configmaps", Effect::Conflict).times(3));
    let spire = k.inject(Fault::next("patch", "clusterspiffeids", Effect::Status(500)));
    let (ok, text) = run(&["identity", "approve", "tent-dev/orders"]);
    assert!(!ok, "{text}");
    assert_eq!((storm.get(), spire.get()), (3, 1), "both faults fired");
    assert!(text.contains("ok    authz ConfigMap") && text.contains("after 3 conflicting write(s)"), "{text}");
    assert!(text.contains("FAIL  SPIRE registration") && text.contains("500"), "{text}");
    assert!(text.contains("FAIL  NatsIdentity: tent-dev/orders left Pending"), "{text}");
    assert_ne!(phase("orders").as_deref(), Some("Active"));
    assert!(csid("orders").is_none());
    let last = audit_lines(&setup.home).pop().unwrap();
    assert_eq!(last["result"], "partial", "{last}");
    let (ok, text) = run(&["identity", "approve", "tent-dev/orders"]);
    assert!(ok, "{text}");
    assert!(text.contains("already present"), "the ConfigMap entry stays as written: {text}");
    assert_eq!(phase("orders").as_deref(), Some("Active"));
    assert!(csid("orders").is_some());

    // Longer than the retries: nothing but the failed ConfigMap step.
    pending("billing");
    let storm = k.inject(Fault::next("patch", "configmaps", Effect::Conflict).times(50));
    let (ok, text) = run(&["identity", "approve", "tent-dev/billing"]);
    assert!(!ok, "{text}");
    assert!(storm.get() >= 2, "{}", storm.get());
    assert!(text.contains("FAIL  authz ConfigMap"), "{text}");
    assert!(!text.contains("SPIRE registration"), "{text}");
    assert!(csid("billing").is_none() && phase("billing").as_deref() != Some("Active"));
    let last = audit_lines(&setup.home).pop().unwrap();
    assert_eq!(last["result"], "failed", "{last}");
    k.clear_faults();
    let (ok, text) = run(&["identity", "approve", "tent-dev/billing"]);
    assert!(ok, "{text}");
    assert_eq!(phase("billing").as_deref(), Some("Active"));
}
