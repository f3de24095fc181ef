//! `warden identity ...`: the actions as subcommands, on the same runner as
//! the console's action worker, audited the same way.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Subcommand;

use warden_core::config::file::SigningSection;
use warden_core::identity::action::report::ActionReport;
use warden_core::identity::actions::{AnyRequest, Ask, Mode};
use warden_core::identity::jwt_actions::SigningConfig;
use warden_core::identity::runner::{self, ActionEnv, RunOutcome};
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

/// A duration (`720h`, `1h30m`, `90d`); its bounds (`[identity] min_ttl`,
/// `max_ttl`) are checked by the runner before anything connects.
fn parse_ttl(s: &str) -> Result<Duration, String> {
    warden_core::identity::ttl::parse(s).map_err(|e| e.to_string())
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
        /// JWT lifetime (default: [identity] ttl, 24h)
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
        /// Write the creds file here (mode 0600); an existing file is refused
        /// unless --force
        #[arg(long)]
        creds_out: Option<PathBuf>,
        /// Replace an existing --creds-out file
        #[arg(long)]
        force: bool,
    },
    /// Approve a Pending NatsIdentity: mint its JWT into status
    Approve {
        name: String,
        /// JWT lifetime (default: the record's spec.ttl, else [identity] ttl)
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
        /// Approve a spec that reaches beyond the identity's own scope
        /// (other subjects, over-broad wildcards, another user name)
        #[arg(long)]
        allow_broad: bool,
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
        /// JWT lifetime (default: the record's spec.ttl, else [identity] ttl)
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
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
    /// What the command asks for: the same [`Ask`] the console builds.
    pub fn ask(&self) -> Ask {
        match self.clone() {
            IdentityCmd::Register { name, account, ttl, creds_out, force } => {
                Ask::Register { name, account, ttl, creds_out, force }
            }
            IdentityCmd::Approve { name, ttl, allow_broad } => Ask::Approve { name, ttl, allow_broad },
            IdentityCmd::Deny { name, reason } => Ask::Deny { name, reason },
            IdentityCmd::Renew { name, account, ttl, creds_out } => Ask::Renew { name, account, ttl, creds_out },
            IdentityCmd::Revoke { target, account, creds } => Ask::Revoke { target, account, creds },
            IdentityCmd::Grant { name, subject, allow_broad, creds_out } => {
                let (dir, subject) = subject.get();
                Ask::Grant { name, dir, subject, allow_broad, creds_out }
            }
            IdentityCmd::Ungrant { name, subject, creds_out } => {
                let (dir, subject) = subject.get();
                Ask::Ungrant { name, dir, subject, creds_out }
            }
        }
    }

    /// The request in `mode`; what a mode cannot do is refused here, before
    /// anything connects.
    pub fn request(&self, mode: Mode) -> Result<AnyRequest> {
        self.ask().request(mode)
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
    // Handled from here on: a SIGTERM, SIGHUP or Ctrl-C in the middle of an
    // action stops it where it is, and the report and the audit line say
    // which steps were done, instead of the process dying between two writes
    // with nothing recorded.
    let signal = signal_received()?;
    let RunOutcome { report, audit } = runner::run_or_cancel(env, &req, signal).await?;
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

/// Resolves with what arrived first of SIGTERM, SIGHUP and SIGINT (the
/// handlers are installed now, so none of them kills the process).
fn signal_received() -> Result<impl std::future::Future<Output = String> + Send> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
            _ = int.recv() => "SIGINT",
        };
        format!("{name} received")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use warden_core::identity::jwt_actions::Request;
    use warden_core::identity::spiffe_actions;

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
        // Over-broad needs --allow-broad in both modes: the actions refuse without it.
        let broad = cmd(&["grant", "shop/orders", "--publish", ">"]);
        assert!(matches!(
            broad.request(Mode::Spiffe).unwrap(),
            AnyRequest::Spiffe(spiffe_actions::Request::Grant { allow_broad: false, .. })
        ));
        let broad = cmd(&["grant", "shop/orders", "--publish", ">", "--allow-broad"]);
        assert!(matches!(
            broad.request(Mode::Spiffe).unwrap(),
            AnyRequest::Spiffe(spiffe_actions::Request::Grant { allow_broad: true, .. })
        ));
        assert!(cmd(&["renew", "shop/orders"]).request(Mode::Spiffe).is_err());
    }
}
