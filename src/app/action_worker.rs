//! The IO task that runs identity actions for the console: one at a time,
//! with its own system-account connection, sending each step as it happens
//! and the report at the end (also appended to the audit log).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::msg::Msg;
use warden_core::config::NatsSettings;
use warden_core::config::file::IdentitySection;
use warden_core::config::file::KubeSection;
use warden_core::identity::action::report::{ActionReport, Step};
use warden_core::identity::action::request::ActionRequest;
use warden_core::identity::actions::AnyRequest;
use warden_core::identity::audit;
use warden_core::identity::jwt_actions::{self, ActionContext, SigningConfig};
use warden_core::identity::spiffe_actions::{self, SpiffeContext};
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
    /// Mode and include file for SPIFFE-mode actions (`[identity]`).
    pub identity: IdentitySection,
    /// `[naming]`: trust domain and templates, for both modes.
    pub naming: warden_core::identity::naming::Naming,
}

pub fn spawn(settings: ActionSettings, tx: mpsc::Sender<Msg>) -> mpsc::UnboundedSender<AnyRequest> {
    let (req_tx, mut req_rx) = mpsc::unbounded_channel::<AnyRequest>();
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
    req: &AnyRequest,
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
    let kube = warden_core::identity::runner::kube_ctx(&s.kube, &s.kube_section).await.ok().flatten();
    let sys = sys.clone().expect("connected above");
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
    let report = match req {
        AnyRequest::Jwt(req) => {
            let ctx = ActionContext {
                sys,
                kube,
                signing: s.signing.clone(),
                actor: actor.clone(),
                settle: Duration::from_secs(3),
                naming: s.naming.clone(),
            };
            jwt_actions::run(&ctx, req, progress).await
        }
        AnyRequest::Spiffe(req) => match kube {
            Some(kube) => {
                let ctx = SpiffeContext {
                    sys,
                    kube,
                    naming: s.naming.clone(),
                    actor: actor.clone(),
                    settle: Duration::from_secs(5),
                    authz_file: s.identity.authz_file.clone(),
                };
                spiffe_actions::run(&ctx, req, progress).await
            }
            None => {
                let mut r = ActionReport::new(req.verb(), &req.target());
                r.steps.push(Step::err("kubernetes", "SPIFFE mode needs Kubernetes (the authorization ConfigMap)"));
                r
            }
        },
    };
    drop(step_tx);
    let _ = fwd.await;
    if let Err(e) = audit::append(&s.audit_log, &actor, &report) {
        tracing::warn!("audit log: {e:#}");
    }
    report
}
