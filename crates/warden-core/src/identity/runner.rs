//! Runs one identity action outside the console (`warden identity ...`):
//! connects, dispatches to the mode's runner, appends to the audit log.
//! The command line that builds the request lives in the binary crate.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

use super::action::kube::KubeCtx;
use super::action::report::{ActionReport, Step};
use super::action::request::ActionRequest;
use super::actions::{AnyRequest, Mode};
use super::audit;
use super::binding::{Binding, BoundRequest, Current, server_set};
use super::jwt_actions::{self, ActionContext, KeyRef, SigningConfig};
use super::naming::Naming;
use super::spiffe_actions;
use super::ttl::TtlPolicy;
use crate::config::NatsSettings;
use crate::config::file::{IdentitySection, KubeSection, SigningSection};
use crate::kube::client::KubeSettings;
use crate::nats::connect;
use crate::nats::sys::SysClient;

/// Key sources: the flag paths first, then the config file (paths, then
/// Secret refs).
pub fn signing_config(
    account_flag: Option<PathBuf>,
    operator_flag: Option<PathBuf>,
    file: &SigningSection,
) -> Result<SigningConfig> {
    let pick = |flag: Option<PathBuf>, path: &Option<PathBuf>, secret: &Option<String>| -> Result<Option<KeyRef>> {
        if let Some(p) = flag.or(path.clone()) {
            return Ok(Some(KeyRef::File(p)));
        }
        secret.as_deref().map(KeyRef::parse_secret).transpose()
    };
    Ok(SigningConfig {
        account: pick(account_flag, &file.account_signing_key, &file.account_signing_key_secret)?,
        operator: pick(operator_flag, &file.operator_signing_key, &file.operator_signing_key_secret)?,
    })
}

/// Everything an action needs besides the request (the command line's view).
pub struct ActionEnv {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    pub signing: SigningConfig,
    pub read_only: bool,
    pub no_kube: bool,
    /// `[identity]` (mode, authz_file, TTLs).
    pub identity: IdentitySection,
    /// `--mode`, else `[identity] mode`.
    pub mode: Mode,
    /// `[naming]` (trust domain and templates), for both modes.
    pub naming: Naming,
}

/// Longest an action waits for one Kubernetes request (a read or a write),
/// unless `[kubernetes] request_timeout` says otherwise.
pub const ACTION_REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// A Kubernetes connection when one is configured and reachable.
pub async fn kube_ctx(settings: &KubeSettings, section: &KubeSection) -> Result<Option<KubeCtx>> {
    Ok(kube_conn(settings, section).await?.map(|(k, _)| k))
}

/// [`kube_ctx`] and the name of its context.
pub async fn kube_conn(settings: &KubeSettings, section: &KubeSection) -> Result<Option<(KubeCtx, String)>> {
    if !section.enabled {
        return Ok(None);
    }
    // ConfigFile::load refused an invalid request_timeout.
    let per_request = section.request_deadline().unwrap_or(ACTION_REQUEST_DEADLINE);
    match crate::kube::client::connect_bounded(settings, per_request).await? {
        Ok(c) => Ok(Some((KubeCtx { client: c.client, section: section.clone() }, c.context))),
        Err(_) => Ok(None),
    }
}

/// What an action runs with, in the console's action worker and on the
/// command line alike: the runner checks read-only, the mode and the
/// binding itself, whoever asks.
pub struct Runtime {
    pub sys: SysClient,
    pub kube: Option<KubeCtx>,
    /// The context `kube` is connected with (`None`: no Kubernetes).
    pub kube_context: Option<String>,
    pub signing: SigningConfig,
    pub identity: IdentitySection,
    pub mode: Mode,
    pub naming: Naming,
    pub ttl: TtlPolicy,
    pub read_only: bool,
    pub audit_log: PathBuf,
}

/// What [`execute`] did: the report step by step, and whether the audit line
/// was written (a failed audit write does not undo the action).
pub struct RunOutcome {
    pub report: ActionReport,
    pub audit: Result<()>,
}

/// Names of the NATS servers that answer VARZ now, sorted.
pub async fn current_servers(sys: &SysClient) -> Vec<String> {
    match sys.varz().await {
        Ok(replies) => server_set(
            replies.iter().map(|r| if r.server.name.is_empty() { r.server.id.clone() } else { r.server.name.clone() }),
        ),
        Err(_) => Vec::new(),
    }
}

fn jwt_name(req: &jwt_actions::Request) -> Option<&super::naming::IdentityName> {
    use jwt_actions::Request as R;
    match req {
        R::Register { name, .. }
        | R::Approve { name, .. }
        | R::Deny { name, .. }
        | R::Renew { name, .. }
        | R::Grant { name, .. }
        | R::Ungrant { name, .. } => Some(name),
        R::Revoke { target: jwt_actions::RevokeTarget::Identity(name), .. } => Some(name),
        R::Revoke { .. } => None,
    }
}

/// Why `req` may not start, before anything is read or written: read-only,
/// a changed binding, a TTL outside the bounds.
fn refusal(rt: &Runtime, bound: &BoundRequest, now: &Current) -> Option<String> {
    let req = &bound.request;
    if rt.read_only {
        return Some(format!(
            "refusing to {} {}: --read-only (or read_only in the config file) forbids every change",
            req.verb(),
            req.target()
        ));
    }
    if let Some(why) = bound.binding.refusal(req, now) {
        return Some(why);
    }
    if let AnyRequest::Jwt(
        jwt_actions::Request::Register { ttl: Some(t), .. }
        | jwt_actions::Request::Renew { ttl: Some(t), .. }
        | jwt_actions::Request::Approve { ttl: Some(t), .. },
    ) = req
        && let Err(e) = rt.ttl.check(*t)
    {
        return Some(format!("{e:#}"));
    }
    None
}

/// The row's key the operator saw must still be the identity's key.
async fn row_key_refusal(rt: &Runtime, bound: &BoundRequest) -> Option<String> {
    let key = bound.binding.row_key.as_deref().filter(|k| !k.is_empty())?;
    let AnyRequest::Jwt(req) = &bound.request else { return None };
    let (name, kube) = (jwt_name(req)?, rt.kube.as_ref()?);
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(kube.client.clone(), &name.namespace, &crate::kube::resources::nats_identity());
    let rec = api.get_opt(&name.workload).await.ok().flatten()?;
    let rec = super::record::IdentityRecord::from_object(&rec);
    let now = rec.user_key();
    (!now.is_empty() && now != key).then(|| {
        format!(
            "{name}'s key changed since it was shown ({} then, {} now): refused (ask again)",
            super::approve_plan::shown(key),
            super::approve_plan::shown(now)
        )
    })
}

/// Runs one bound action in its mode and appends it to the audit log
/// (refusals too). `progress` sees each step as it completes.
pub async fn execute(rt: &Runtime, bound: &BoundRequest, progress: impl FnMut(&Step) + Send) -> RunOutcome {
    execute_or_cancel(rt, bound, progress, std::future::pending()).await
}

/// [`execute`], stopped where it is when `cancel` resolves (with the
/// reason): the report holds the steps done, then an
/// [`INTERRUPTED`](super::action::report::INTERRUPTED) step naming them,
/// and so does the audit line (`"result": "interrupted"`).
pub async fn execute_or_cancel(
    rt: &Runtime,
    bound: &BoundRequest,
    mut progress: impl FnMut(&Step) + Send,
    cancel: impl std::future::Future<Output = String> + Send,
) -> RunOutcome {
    let req = &bound.request;
    let done = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Step>::new()));
    let seen = done.clone();
    let tracked = move |st: &Step| {
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(st.clone());
        progress(st);
    };
    let actor = audit::actor();
    let at =
        std::sync::Arc::new(std::sync::Mutex::new(audit::Where { mode: rt.mode.name().into(), ..Default::default() }));
    let report = tokio::select! {
        r = run_bound(rt, bound, tracked, &actor, at.clone()) => r,
        why = cancel => {
            let mut r = ActionReport::new(req.verb(), &req.target());
            r.steps = done.lock().unwrap_or_else(|p| p.into_inner()).clone();
            r.steps.push(super::action::report::interrupted(&why, &r.steps));
            r
        }
    };
    let at = at.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let audit = audit::append(&rt.audit_log, &actor, &at, &report);
    RunOutcome { report, audit }
}

async fn run_bound(
    rt: &Runtime,
    bound: &BoundRequest,
    mut progress: impl FnMut(&Step) + Send,
    actor: &str,
    where_: std::sync::Arc<std::sync::Mutex<audit::Where>>,
) -> ActionReport {
    let req = &bound.request;
    let actor = actor.to_string();
    let now = Current { kube_context: rt.kube_context.clone(), servers: current_servers(&rt.sys).await, mode: rt.mode };
    *where_.lock().unwrap_or_else(|p| p.into_inner()) = audit::Where {
        kube_context: now.kube_context.clone(),
        servers: now.servers.clone(),
        mode: rt.mode.name().into(),
    };
    let refused = match refusal(rt, bound, &now) {
        Some(why) => Some(why),
        None => row_key_refusal(rt, bound).await,
    };
    if let Some(why) = refused {
        let mut r = ActionReport::new(req.verb(), &req.target());
        let st = Step::err("refused", why);
        progress(&st);
        r.steps.push(st);
        r
    } else {
        match req {
            AnyRequest::Kick(k) => super::action::nats::run_kick(&rt.sys, k, progress).await,
            AnyRequest::Jwt(req) => {
                let ctx = ActionContext {
                    sys: rt.sys.clone(),
                    kube: rt.kube.clone(),
                    signing: rt.signing.clone(),
                    actor: actor.clone(),
                    settle: Duration::from_secs(3),
                    naming: rt.naming.clone(),
                    ttl: rt.ttl,
                };
                jwt_actions::run(&ctx, req, progress).await
            }
            AnyRequest::Spiffe(sreq) => match &rt.kube {
                Some(kube) => {
                    let ctx = spiffe_actions::SpiffeContext {
                        sys: rt.sys.clone(),
                        kube: kube.clone(),
                        naming: rt.naming.clone(),
                        actor: actor.clone(),
                        settle: Duration::from_secs(5),
                        authz_file: rt.identity.authz_file.clone(),
                    };
                    spiffe_actions::run(&ctx, sreq, progress).await
                }
                None => {
                    let mut r = ActionReport::new(req.verb(), &req.target());
                    let st = Step::err(
                        "kubernetes",
                        "SPIFFE mode needs Kubernetes (the authorization ConfigMap), and none is configured or reachable",
                    );
                    progress(&st);
                    r.steps.push(st);
                    r
                }
            },
        }
    }
}

/// Runs `req` from the command line. Errors before anything connects when
/// read-only or when the mode cannot do it; the report says which steps
/// succeeded.
pub async fn run(env: ActionEnv, req: &AnyRequest) -> Result<RunOutcome> {
    run_or_cancel(env, req, std::future::pending()).await
}

/// [`run`], stopped where it is when `cancel` resolves (a signal): the
/// report and the audit line end with an `interrupted` step naming the
/// steps done (see [`execute_or_cancel`]).
pub async fn run_or_cancel(
    env: ActionEnv,
    req: &AnyRequest,
    cancel: impl std::future::Future<Output = String> + Send,
) -> Result<RunOutcome> {
    if env.read_only {
        bail!(
            "refusing to {} {}: --read-only (or read_only in the config file) forbids every change",
            req.verb(),
            req.target()
        );
    }
    if req.mode() == Mode::Spiffe && env.no_kube {
        bail!("SPIFFE mode keeps identities in Kubernetes (the authorization ConfigMap): --no-kube does not apply");
    }
    let ttl = TtlPolicy::from_section(&env.identity)?;
    let client = connect::connect(&env.nats, None).await?;
    let kube = if env.no_kube { None } else { kube_conn(&env.kube, &env.kube_section).await? };
    let rt = Runtime {
        sys: SysClient::new(client),
        kube_context: kube.as_ref().map(|(_, c)| c.clone()),
        kube: kube.map(|(k, _)| k),
        signing: env.signing,
        identity: env.identity,
        mode: env.mode,
        naming: env.naming,
        ttl,
        read_only: env.read_only,
        audit_log: audit::default_path(),
    };
    let bound = BoundRequest { request: req.clone(), binding: Binding::mode_only(env.mode) };
    Ok(execute_or_cancel(&rt, &bound, |_| {}, cancel).await)
}
