//! The IO task that runs identity actions for the console: one at a time,
//! with its own system-account connection, sending each step as it happens
//! and the report at the end (also appended to the audit log).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::msg::Msg;
use crate::config::NatsSettings;
use crate::config::file::KubeSection;
use crate::identity::audit;
use crate::identity::jwt_actions::{self, ActionContext, ActionReport, Request, SigningConfig, Step};
use crate::kube::client::KubeSettings;
use crate::nats::connect;
use crate::nats::sys::SysClient;

#[derive(Clone)]
pub struct ActionSettings {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    pub signing: SigningConfig,
    pub audit_log: PathBuf,
}

pub fn spawn(settings: ActionSettings, tx: mpsc::Sender<Msg>) -> mpsc::UnboundedSender<Request> {
    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<Request>();
    tokio::spawn(async move {
        let mut sys: Option<SysClient> = None;
        while let Some(req) = req_rx.recv().await {
            let report = run_one(&settings, &mut sys, &req, &tx).await;
            if tx.send(Msg::ActionDone(report)).await.is_err() {
                break;
            }
        }
    });
    req_tx
}

async fn run_one(
    s: &ActionSettings,
    sys: &mut Option<SysClient>,
    req: &Request,
    tx: &mpsc::Sender<Msg>,
) -> ActionReport {
    let actor = audit::actor();
    if sys.is_none() {
        match connect::connect(&s.nats, None).await {
            Ok(c) => *sys = Some(SysClient::new(c)),
            Err(e) => {
                let mut r = ActionReport::new(req.verb(), &req.target());
                r.steps.push(Step::err("connect", format!("{e:#}")));
                let _ = audit::append(&s.audit_log, &actor, &r);
                return r;
            }
        }
    }
    let kube = crate::identity::cli::kube_ctx(&s.kube, &s.kube_section).await.ok().flatten();
    let ctx = ActionContext {
        sys: sys.clone().expect("connected above"),
        kube,
        signing: s.signing.clone(),
        actor: actor.clone(),
        settle: Duration::from_secs(3),
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
    let report = jwt_actions::run(&ctx, req, |st| {
        let _ = step_tx.send(st.clone());
    })
    .await;
    drop(step_tx);
    let _ = fwd.await;
    if let Err(e) = audit::append(&s.audit_log, &actor, &report) {
        tracing::warn!("audit log: {e:#}");
    }
    report
}
