//! `warden identity ...`: the actions as subcommands, on the same runner as
//! the console's action worker, audited the same way.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Subcommand;

use warden_core::config::file::SigningSection;
use warden_core::identity::action::report::ActionReport;
use warden_core::identity::actions::{AnyRequest, Mode};
use warden_core::identity::jwt_actions::{Request, RevokeTarget, SigningConfig};
use warden_core::identity::naming;
use warden_core::identity::naming::IdentityName;
use warden_core::identity::runner::{self, ActionEnv, RunOutcome};
use warden_core::identity::spiffe_actions;
use warden_core::nats::subject::Direction;

#[derive(Debug, Clone, clap::Args)]
pub struct KeyFlags {
    /// Account signing key (nsc seed file or creds); overrides [signing] account_signing_key
    #[arg(long, global = true)]
    pub account_signing_key: Option<PathBuf>,
    /// Operator signing key (nsc seed file); overrides [signing] operator_signing_key
    #[arg(long, global = true)]
    pub operator_signing_key: Option<PathBuf>,
    /// Do not use Kubernetes for this action (no Secret, no NatsIdentity; JWT mode only)
    #[arg(long, global = true)]
    pub no_kube: bool,
    /// Authorization mode: jwt (operator mode) or spiffe (verify_and_map +
    /// the authorization ConfigMap); overrides [identity] mode
    #[arg(long, global = true, value_enum)]
    pub mode: Option<super::ModeArg>,
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Subcommand)]
pub enum IdentityCmd {
    /// New identity. JWT mode: nkey user, JWT signed by the account signing
    /// key, creds. SPIFFE mode: authorization entry, ClusterSPIFFEID,
    /// NatsIdentity, servers reloaded
    Register {
        /// NAMESPACE/WORKLOAD
        name: String,
        /// Account name or public key (JWT mode)
        #[arg(long)]
        account: Option<String>,
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
    /// Revoke: JWT mode, account revocation pushed to every server; SPIFFE
    /// mode, authorization entry and ClusterSPIFFEID removed. Live connections closed
    Revoke {
        /// NAMESPACE/WORKLOAD or a user public key (U..., JWT mode)
        target: String,
        /// Account name or public key (JWT mode)
        #[arg(long)]
        account: Option<String>,
        /// A creds file of the identity (to find its user key)
        #[arg(long = "identity-creds", id = "identity_creds")]
        creds: Option<PathBuf>,
    },
    /// Add an explicit (cross-tentacle) subject: JWT mode re-mints the user
    /// JWT with it; SPIFFE mode adds it to the authorization entry
    Grant {
        /// NAMESPACE/WORKLOAD
        name: String,
        #[command(flatten)]
        subject: GrantSubject,
        /// Allow an over-broad subject (`>`, `*.>`, a leading wildcard)
        #[arg(long)]
        allow_broad: bool,
        /// The identity's creds file (JWT mode, when Kubernetes is not used)
        #[arg(long)]
        creds_out: Option<PathBuf>,
    },
    /// Remove an explicit subject granted before (the scope stays)
    Ungrant {
        /// NAMESPACE/WORKLOAD
        name: String,
        #[command(flatten)]
        subject: GrantSubject,
        /// The identity's creds file (JWT mode, when Kubernetes is not used)
        #[arg(long)]
        creds_out: Option<PathBuf>,
    },
}

/// Exactly one of `--publish SUBJECT` / `--subscribe SUBJECT`.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct GrantSubject {
    #[arg(long)]
    pub publish: Option<String>,
    #[arg(long)]
    pub subscribe: Option<String>,
}

impl GrantSubject {
    fn get(&self) -> (Direction, String) {
        match (&self.publish, &self.subscribe) {
            (Some(p), _) => (Direction::Publish, p.clone()),
            (None, Some(s)) => (Direction::Subscribe, s.clone()),
            (None, None) => unreachable!("clap requires one"),
        }
    }
}

impl IdentityCmd {
    /// The request in `mode`; what a mode cannot do is refused here, before
    /// anything connects.
    pub fn request(&self, mode: Mode) -> Result<AnyRequest> {
        match mode {
            Mode::Jwt => self.jwt_request().map(AnyRequest::Jwt),
            Mode::Spiffe => self.spiffe_request().map(AnyRequest::Spiffe),
        }
    }

    fn jwt_request(&self) -> Result<Request> {
        let need_account =
            |a: &Option<String>| a.clone().ok_or_else(|| anyhow::anyhow!("--account is required in JWT mode"));
        Ok(match self {
            IdentityCmd::Register { name, account, ttl, creds_out } => Request::Register {
                name: IdentityName::parse(name)?,
                account: need_account(account)?,
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
            IdentityCmd::Revoke { target, account, creds } => Request::Revoke {
                target: RevokeTarget::parse(target)?,
                account: need_account(account)?,
                creds: creds.clone(),
            },
            IdentityCmd::Grant { name, subject, allow_broad, creds_out } => {
                let (dir, subject) = subject.get();
                Request::Grant {
                    name: IdentityName::parse(name)?,
                    dir,
                    subject,
                    allow_broad: *allow_broad,
                    creds_out: creds_out.clone(),
                }
            }
            IdentityCmd::Ungrant { name, subject, creds_out } => {
                let (dir, subject) = subject.get();
                Request::Ungrant { name: IdentityName::parse(name)?, dir, subject, creds_out: creds_out.clone() }
            }
        })
    }

    fn spiffe_request(&self) -> Result<spiffe_actions::Request> {
        let parse = |s: &str| -> Result<naming::IdentityName> { Ok(naming::IdentityName::parse(s)?) };
        Ok(match self {
            IdentityCmd::Register { name, .. } => spiffe_actions::Request::Register { name: parse(name)? },
            IdentityCmd::Approve { name, .. } => spiffe_actions::Request::Approve { name: parse(name)? },
            IdentityCmd::Deny { name, reason } => {
                spiffe_actions::Request::Deny { name: parse(name)?, reason: reason.clone() }
            }
            IdentityCmd::Renew { .. } => {
                bail!("renew is a JWT-mode action: in SPIFFE mode SPIRE rotates the SVIDs (see the Expiry view)")
            }
            IdentityCmd::Revoke { target, .. } => spiffe_actions::Request::Revoke { name: parse(target)? },
            IdentityCmd::Grant { name, subject, allow_broad, .. } => {
                let (direction, subject) = subject.get();
                if !allow_broad && warden_core::nats::subject::is_over_broad(&subject) {
                    bail!(
                        "{subject} is over-broad (it reaches beyond one tentacle's subjects): pass --allow-broad to grant it anyway"
                    );
                }
                spiffe_actions::Request::Grant { name: parse(name)?, direction, subject }
            }
            IdentityCmd::Ungrant { name, subject, .. } => {
                let (direction, subject) = subject.get();
                spiffe_actions::Request::Ungrant { name: parse(name)?, direction, subject }
            }
        })
    }
}

impl KeyFlags {
    /// Signing keys: these flags first, then the config file.
    pub fn signing_config(&self, file: &SigningSection) -> Result<SigningConfig> {
        runner::signing_config(self.account_signing_key.clone(), self.operator_signing_key.clone(), file)
    }
}

/// Runs one action, prints its steps; the runner appends it to the audit
/// log. Errors when any step failed (exit status non-zero).
pub async fn run(env: ActionEnv, cmd: &IdentityCmd, out: &mut impl std::io::Write) -> Result<ActionReport> {
    let req = cmd.request(env.mode)?;
    let RunOutcome { report, audit } = runner::run(env, &req).await?;
    for l in report.lines() {
        writeln!(out, "{l}")?;
    }
    if let Err(e) = audit {
        eprintln!("warning: audit log: {e:#}");
    }
    if !report.ok() {
        bail!("{} {}: {}", report.action, report.target, report.outcome());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        cmd: IdentityCmd,
    }

    fn cmd(args: &[&str]) -> IdentityCmd {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap().cmd
    }

    #[test]
    fn grant_and_ungrant_in_both_modes() {
        let g = cmd(&["grant", "shop/orders", "--subscribe", "tentacular.shop.cart.>"]);
        match g.request(Mode::Jwt).unwrap() {
            AnyRequest::Jwt(Request::Grant { dir: Direction::Subscribe, subject, allow_broad: false, .. }) => {
                assert_eq!(subject, "tentacular.shop.cart.>")
            }
            other => panic!("{other:?}"),
        }
        match g.request(Mode::Spiffe).unwrap() {
            AnyRequest::Spiffe(spiffe_actions::Request::Grant { direction: Direction::Subscribe, subject, .. }) => {
                assert_eq!(subject, "tentacular.shop.cart.>")
            }
            other => panic!("{other:?}"),
        }
        let u = cmd(&["ungrant", "shop/orders", "--publish", "x.y"]);
        assert!(matches!(
            u.request(Mode::Jwt).unwrap(),
            AnyRequest::Jwt(Request::Ungrant { dir: Direction::Publish, .. })
        ));
        assert!(matches!(
            u.request(Mode::Spiffe).unwrap(),
            AnyRequest::Spiffe(spiffe_actions::Request::Ungrant { direction: Direction::Publish, .. })
        ));
        // Over-broad needs --allow-broad in SPIFFE mode too (JWT mode refuses in the action).
        let broad = cmd(&["grant", "shop/orders", "--publish", ">"]);
        assert!(broad.request(Mode::Spiffe).unwrap_err().to_string().contains("--allow-broad"));
        let broad = cmd(&["grant", "shop/orders", "--publish", ">", "--allow-broad"]);
        assert!(matches!(broad.request(Mode::Spiffe).unwrap(), AnyRequest::Spiffe(_)));
        assert!(cmd(&["renew", "shop/orders"]).request(Mode::Spiffe).is_err());
    }
}
