//! `warden identity ...`: the actions as subcommands, on the same code as
//! the console ([`super::jwt_actions::run`]), audited the same way.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Subcommand;

use super::audit;
use super::jwt_actions::{
    ActionContext, ActionReport, IdentityName, KeyRef, KubeCtx, Request, RevokeTarget, SigningConfig,
};
use crate::config::NatsSettings;
use crate::config::file::{KubeSection, SigningSection};
use crate::kube::client::KubeSettings;
use crate::nats::connect;
use crate::nats::sys::SysClient;

#[derive(Debug, Clone, clap::Args)]
pub struct KeyFlags {
    /// Account signing key (nsc seed file or creds); overrides [signing] account_signing_key
    #[arg(long, global = true)]
    pub account_signing_key: Option<PathBuf>,
    /// Operator signing key (nsc seed file); overrides [signing] operator_signing_key
    #[arg(long, global = true)]
    pub operator_signing_key: Option<PathBuf>,
    /// Do not use Kubernetes for this action (no Secret, no NatsIdentity)
    #[arg(long, global = true)]
    pub no_kube: bool,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Subcommand)]
pub enum IdentityCmd {
    /// New identity: nkey user, JWT signed by the account signing key, creds
    Register {
        /// NAMESPACE/WORKLOAD
        name: String,
        /// Account name or public key
        #[arg(long)]
        account: String,
        #[arg(long, default_value = "24h", value_parser = parse_ttl)]
        ttl: Duration,
        /// Write the creds file here (mode 0600)
        #[arg(long)]
        creds_out: Option<PathBuf>,
    },
    /// Approve a Pending NatsIdentity: mint its JWT into status
    Approve {
        name: String,
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
    },
    /// Deny a Pending NatsIdentity
    Deny {
        name: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Re-mint the user JWT with a new expiry
    Renew {
        name: String,
        /// Account name or key (default: the one that issued the current JWT)
        #[arg(long)]
        account: Option<String>,
        #[arg(long, default_value = "24h", value_parser = parse_ttl)]
        ttl: Duration,
        /// The creds file to renew in place
        #[arg(long)]
        creds_out: Option<PathBuf>,
    },
    /// Revoke a user: account revocation, pushed to every server; live connections closed
    Revoke {
        /// NAMESPACE/WORKLOAD or a user public key (U...)
        target: String,
        #[arg(long)]
        account: String,
        /// A creds file of the identity (to find its user key)
        #[arg(long = "identity-creds", id = "identity_creds")]
        creds: Option<PathBuf>,
    },
}

impl IdentityCmd {
    pub fn request(&self) -> Result<Request> {
        Ok(match self {
            IdentityCmd::Register { name, account, ttl, creds_out } => Request::Register {
                name: IdentityName::parse(name)?,
                account: account.clone(),
                ttl: *ttl,
                creds_out: creds_out.clone(),
            },
            IdentityCmd::Approve { name, ttl } => Request::Approve { name: IdentityName::parse(name)?, ttl: *ttl },
            IdentityCmd::Deny { name, reason } => {
                Request::Deny { name: IdentityName::parse(name)?, reason: reason.clone() }
            }
            IdentityCmd::Renew { name, account, ttl, creds_out } => Request::Renew {
                name: IdentityName::parse(name)?,
                account: account.clone(),
                ttl: *ttl,
                creds_out: creds_out.clone(),
            },
            IdentityCmd::Revoke { target, account, creds } => {
                Request::Revoke { target: RevokeTarget::parse(target)?, account: account.clone(), creds: creds.clone() }
            }
        })
    }
}

/// Key sources: flags, then the config file (paths, then Secret refs).
pub fn signing_config(flags: &KeyFlags, file: &SigningSection) -> Result<SigningConfig> {
    let pick = |flag: &Option<PathBuf>, path: &Option<PathBuf>, secret: &Option<String>| -> Result<Option<KeyRef>> {
        if let Some(p) = flag.clone().or(path.clone()) {
            return Ok(Some(KeyRef::File(p)));
        }
        secret.as_deref().map(KeyRef::parse_secret).transpose()
    };
    Ok(SigningConfig {
        account: pick(&flags.account_signing_key, &file.account_signing_key, &file.account_signing_key_secret)?,
        operator: pick(&flags.operator_signing_key, &file.operator_signing_key, &file.operator_signing_key_secret)?,
    })
}

/// Everything `warden identity` needs besides the subcommand.
pub struct CliEnv {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    pub signing: SigningConfig,
    pub read_only: bool,
    pub no_kube: bool,
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

/// Runs one action, prints its steps, appends it to the audit log. Errors
/// when any step failed (exit status non-zero).
pub async fn run(env: CliEnv, cmd: &IdentityCmd, out: &mut impl std::io::Write) -> Result<ActionReport> {
    let req = cmd.request()?;
    if env.read_only {
        bail!(
            "refusing to {} {}: --read-only (or read_only in the config file) forbids every change",
            req.verb(),
            req.target()
        );
    }
    let client = connect::connect(&env.nats, None).await?;
    let kube = if env.no_kube { None } else { kube_ctx(&env.kube, &env.kube_section).await? };
    let ctx = ActionContext {
        sys: SysClient::new(client),
        kube,
        signing: env.signing,
        actor: audit::actor(),
        settle: Duration::from_secs(3),
    };
    let report = super::jwt_actions::run(&ctx, &req, |_| {}).await;
    for l in report.lines() {
        writeln!(out, "{l}")?;
    }
    let audit_path = audit::default_path();
    if let Err(e) = audit::append(&audit_path, &ctx.actor, &report) {
        eprintln!("warning: audit log: {e:#}");
    }
    if !report.ok() {
        bail!("{} {}: {}", report.action, report.target, report.outcome());
    }
    Ok(report)
}
