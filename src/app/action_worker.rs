//! The IO task that runs identity actions for the console: one at a time,
//! with its own system-account connection, through the same runner as
//! `warden identity ...` (`warden_core::identity::runner::execute`: it
//! checks read-only, the mode and the request's binding itself, and appends
//! to the audit log), sending each step as it happens and the report at
//! the end.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::msg::Msg;
use warden_core::config::NatsSettings;
use warden_core::config::file::IdentitySection;
use warden_core::config::file::KubeSection;
use warden_core::identity::action::report::{ActionReport, Step, within};
use warden_core::identity::action::request::ActionRequest;
use warden_core::identity::actions::Mode;
use warden_core::identity::audit;
use warden_core::identity::binding::BoundRequest;
use warden_core::identity::jwt_actions::SigningConfig;
use warden_core::identity::runner::{self, Runtime};
use warden_core::identity::ttl::TtlPolicy;
use warden_core::kube::client::KubeSettings;
use warden_core::nats::connect;
use warden_core::nats::sys::SysClient;

#[derive(Clone)]
pub struct ActionSettings {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    pub signing: SigningConfig,
    pub audit_log: PathBuf,
    /// Mode, include file and TTLs for the actions (`[identity]`).
    pub identity: IdentitySection,
    /// `[naming]`: trust domain and templates, for both modes.
    pub naming: warden_core::identity::naming::Naming,
    /// `--read-only`: the runner refuses every action (the console offers none).
    pub read_only: bool,
    /// The mode the console runs in (`--mode`, else `[identity] mode`).
    pub mode: Mode,
    pub ttl: TtlPolicy,
}

/// What the worker is asked to do.
#[derive(Debug, Clone)]
pub enum ActionCmd {
    /// Run an action bound to what the screen showed.
    Run(BoundRequest),
    /// From now on connect to this Kubernetes context (`:ctx`): an action
    /// bound to the previous one is refused by the runner.
    UseContext(Option<String>),
    /// Stop the running action where it is (the operator confirmed it in
    /// the progress dialog); it ends with an "interrupted" step and audit line.
    Cancel,
    /// The console quits: the running action gets [`QUIT_GRACE`] to finish,
    /// then it is cancelled. Closing the channel does the same.
    Quit,
}

/// Longest the worker waits to connect (NATS, Kubernetes) before an action.
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// How long quitting waits for a running action before cancelling it.
pub const QUIT_GRACE: Duration = Duration::from_secs(3);

/// The worker: its commands and its task (which ends after a quit, within
/// [`QUIT_GRACE`] and the time to write the audit line).
pub struct ActionWorker {
    pub cmds: mpsc::UnboundedSender<ActionCmd>,
    pub task: JoinHandle<()>,
}

/// A worker that stays on the context of `settings` unless told
/// (`UseContext`); it stops when the returned sender is dropped.
pub fn spawn(settings: ActionSettings, tx: mpsc::Sender<Msg>) -> mpsc::UnboundedSender<ActionCmd> {
    spawn_following(settings, None, tx).cmds
}

/// A worker whose Kubernetes context follows `target` (the console's one
/// owner of it, [`super::kube_target::KubeTarget`]): an action runs in the
/// cluster the console shows now.
pub fn spawn_following(
    settings: ActionSettings,
    target: Option<watch::Receiver<KubeSettings>>,
    tx: mpsc::Sender<Msg>,
) -> ActionWorker {
    let (req_tx, req_rx) = mpsc::unbounded_channel::<ActionCmd>();
    let task = tokio::spawn(serve(settings, target, req_rx, tx));
    ActionWorker { cmds: req_tx, task }
}

async fn serve(
    mut settings: ActionSettings,
    mut target: Option<watch::Receiver<KubeSettings>>,
    mut req_rx: mpsc::UnboundedReceiver<ActionCmd>,
    tx: mpsc::Sender<Msg>,
) {
    let mut sys: Option<SysClient> = None;
    let mut queued: VecDeque<ActionCmd> = VecDeque::new();
    let mut quitting = false;
    loop {
        if let Some(t) = &mut target
            && t.has_changed().unwrap_or(false)
        {
            settings.kube = t.borrow_and_update().clone();
        }
        let cmd = match queued.pop_front() {
            Some(c) => c,
            None if quitting => return,
            None => match req_rx.recv().await {
                Some(c) => c,
                None => return,
            },
        };
        match cmd {
            ActionCmd::UseContext(c) => settings.kube.context = c,
            ActionCmd::Cancel => {}
            ActionCmd::Quit => return,
            ActionCmd::Run(_) if quitting => {}
            ActionCmd::Run(bound) => {
                if let Some(t) = &mut target {
                    settings.kube = t.borrow_and_update().clone();
                }
                let report = run_one(&settings, &mut sys, &bound, &tx, &mut req_rx, &mut queued, &mut quitting).await;
                if tx.send(Msg::ActionDone(report)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Commands that arrive while an action runs: Cancel stops it, Quit (or a
/// closed channel) stops it after [`QUIT_GRACE`], the rest waits its turn.
async fn watch_cmds(
    req_rx: &mut mpsc::UnboundedReceiver<ActionCmd>,
    queued: &mut VecDeque<ActionCmd>,
    quitting: &mut bool,
) -> String {
    let mut quit_at: Option<tokio::time::Instant> = None;
    loop {
        let grace = async {
            match quit_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = grace => return format!("the console quit; the action was still running after {QUIT_GRACE:?}"),
            c = req_rx.recv(), if !*quitting => match c {
                Some(ActionCmd::Cancel) => return "cancelled by the operator".to_string(),
                None | Some(ActionCmd::Quit) => {
                    *quitting = true;
                    quit_at = Some(tokio::time::Instant::now() + QUIT_GRACE);
                }
                Some(other) => queued.push_back(other),
            },
        }
    }
}

async fn run_one(
    s: &ActionSettings,
    sys: &mut Option<SysClient>,
    bound: &BoundRequest,
    tx: &mpsc::Sender<Msg>,
    req_rx: &mut mpsc::UnboundedReceiver<ActionCmd>,
    queued: &mut VecDeque<ActionCmd>,
    quitting: &mut bool,
) -> ActionReport {
    let req = &bound.request;
    if sys.is_none() {
        match within("connect", CONNECT_DEADLINE, connect::connect(&s.nats, None)).await {
            Ok(c) => *sys = Some(SysClient::new(c)),
            Err(e) => {
                let mut r = ActionReport::new(req.verb(), &req.target());
                r.steps.push(Step::err("connect", warden_core::error_chain::chain(&e)));
                let at = audit::Where { mode: s.mode.name().into(), ..Default::default() };
                let _ = audit::append(&s.audit_log, &audit::actor(), &at, &r);
                return r;
            }
        }
    }
    let kube = within("kubernetes", CONNECT_DEADLINE, runner::kube_conn(&s.kube, &s.kube_section)).await.ok().flatten();
    let rt = Runtime {
        sys: sys.clone().expect("connected above"),
        kube_context: kube.as_ref().map(|(_, c)| c.clone()),
        kube: kube.map(|(k, _)| k),
        signing: s.signing.clone(),
        identity: s.identity.clone(),
        mode: s.mode,
        naming: s.naming.clone(),
        ttl: s.ttl,
        read_only: s.read_only,
        audit_log: s.audit_log.clone(),
    };
    let (step_tx, mut step_rx) = mpsc::unbounded_channel::<Step>();
    let fwd_tx = tx.clone();
    let fwd = tokio::spawn(async move {
        while let Some(st) = step_rx.recv().await {
            if fwd_tx.send(Msg::ActionStep(st)).await.is_err() {
                break;
            }
        }
    });
    let progress = |st: &Step| {
        let _ = step_tx.send(st.clone());
    };
    let outcome = runner::execute_or_cancel(&rt, bound, progress, watch_cmds(req_rx, queued, quitting)).await;
    drop(step_tx);
    let _ = fwd.await;
    if let Err(e) = outcome.audit {
        tracing::warn!("audit log: {e:#}");
    }
    outcome.report
}
