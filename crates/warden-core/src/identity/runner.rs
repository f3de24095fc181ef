//! Runs one identity action outside the console (`warden identity ...`):
//! connects, dispatches to the mode's runner, appends to the audit log.
//! The command line that builds the request lives in the binary crate.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

use super::action::kube::KubeCtx;
use super::action::report::ActionReport;
use super::action::request::ActionRequest;
use super::actions::{AnyRequest, Mode};
use super::audit;
use super::jwt_actions::{self, ActionContext, KeyRef, SigningConfig};
use super::naming::Naming;
use super::spiffe_actions;
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

/// Everything an action needs besides the request.
pub struct ActionEnv {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    pub signing: SigningConfig,
    pub read_only: bool,
    pub no_kube: bool,
    /// `[identity]` (mode, authz_file).
    pub identity: IdentitySection,
    /// `--mode`, else `[identity] mode`.
    pub mode: Mode,
    /// `[naming]` (trust domain and templates), for both modes.
    pub naming: Naming,
}

/// A Kubernetes connection when one is configured and reachable.
pub async fn kube_ctx(settings: &KubeSettings, section: &KubeSection) -> Result<Option<KubeCtx>> {
    if !section.enabled {
        return Ok(None);
    }
    match crate::kube::client::connect(settings).await? {
        Ok(c) => Ok(Some(KubeCtx { client: c.client, section: section.clone() })),
        Err(_) => Ok(None),
    }
}

/// What [`run`] did: the report step by step, and whether the audit line
/// was written (a failed audit write does not undo the action).
pub struct RunOutcome {
    pub report: ActionReport,
    pub audit: Result<()>,
}

/// Runs `req` and appends it to the audit log. Errors before anything is
/// written when read-only; the report says which steps succeeded.
pub async fn run(env: ActionEnv, req: &AnyRequest) -> Result<RunOutcome> {
    if env.read_only {
        bail!(
            "refusing to {} {}: --read-only (or read_only in the config file) forbids every change",
            req.verb(),
            req.target()
        );
    }
    let client = connect::connect(&env.nats, None).await?;
    let actor = audit::actor();
    let report = match req {
        AnyRequest::Jwt(req) => {
            let kube = if env.no_kube { None } else { kube_ctx(&env.kube, &env.kube_section).await? };
            let ctx = ActionContext {
                sys: SysClient::new(client),
                kube,
                signing: env.signing,
                actor: actor.clone(),
                settle: Duration::from_secs(3),
                naming: env.naming.clone(),
            };
            jwt_actions::run(&ctx, req, |_| {}).await
        }
        AnyRequest::Spiffe(req) => {
            if env.no_kube {
                bail!(
                    "SPIFFE mode keeps identities in Kubernetes (the authorization ConfigMap): --no-kube does not apply"
                );
            }
            let Some(kube) = kube_ctx(&env.kube, &env.kube_section).await? else {
                bail!(
                    "SPIFFE mode needs Kubernetes (the authorization ConfigMap), and none is configured or reachable"
                );
            };
            let ctx = spiffe_actions::SpiffeContext {
                sys: SysClient::new(client),
                kube,
                naming: env.naming.clone(),
                actor: actor.clone(),
                settle: Duration::from_secs(5),
                authz_file: env.identity.authz_file.clone(),
            };
            spiffe_actions::run(&ctx, req, |_| {}).await
        }
    };
    let audit = audit::append(&audit::default_path(), &actor, &report);
    Ok(RunOutcome { report, audit })
}
