//! The IO task that runs identity actions for the console: one at a time,
//! with its own system-account connection, through the same runner as
//! `warden identity ...` (`warden_core::identity::runner::execute`: it
//! checks read-only, the mode and the request's binding itself, and appends
//! to the audit log), sending each step as it happens and the report at
//! the end.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::msg::Msg;
use warden_core::config::NatsSettings;
use warden_core::config::file::IdentitySection;
use warden_core::config::file::KubeSection;
use warden_core::identity::action::report::{ActionReport, Step};
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
}

pub fn spawn(settings: ActionSettings, tx: mpsc::Sender<Msg>) -> mpsc::UnboundedSender<ActionCmd> {
    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<ActionCmd>();
    tokio::spawn(async move {
        let mut settings = settings;
        let mut sys: Option<SysClient> = None;
        while let Some(cmd) = req_rx.recv().await {
            match cmd {
                ActionCmd::UseContext(c) => settings.kube.context = c,
                ActionCmd::Run(bound) => {
                    let report = run_one(&settings, &mut sys, &bound, &tx).await;
                    if tx.send(Msg::ActionDone(report)).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    req_tx
}

async fn run_one(
    s: &ActionSettings,
    sys: &mut Option<SysClient>,
    bound: &BoundRequest,
    tx: &mpsc::Sender<Msg>,
) -> ActionReport {
    let req = &bound.request;
    if sys.is_none() {
        match connect::connect(&s.nats, None).await {
            Ok(c) => *sys = Some(SysClient::new(c)),
            Err(e) => {
                let mut r = ActionReport::new(req.verb(), &req.target());
                r.steps.push(Step::err("connect", format!("{e:#}")));
                let at = audit::Where { mode: s.mode.name().into(), ..Default::default() };
                let _ = audit::append(&s.audit_log, &audit::actor(), &at, &r);
                return r;
            }
        }
    }
    let kube = runner::kube_conn(&s.kube, &s.kube_section).await.ok().flatten();
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
    let outcome = runner::execute(&rt, bound, progress).await;
    drop(step_tx);
    let _ = fwd.await;
    if let Err(e) = outcome.audit {
        tracing::warn!("audit log: {e:#}");
    }
    outcome.report
}
