//! Command line: the console by default, reports and (later) actions as
//! subcommands sharing the same code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use warden_core::config::NatsFlags;
use warden_core::identity::actions::Mode;
use warden_core::secret::Secret;

use crate::report;

pub mod identity;

#[derive(Debug, Parser)]
#[command(name = "warden", version, about = "Terminal console for NATS + SPIFFE/SPIRE + Kubernetes workload identity")]
pub struct Cli {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Theme: default, high-contrast, monochrome, or a path to a TOML theme
    #[arg(long, global = true, env = "WARDEN_THEME")]
    pub theme: Option<String>,
    /// Offer no mutating action at all
    #[arg(long, global = true)]
    pub read_only: bool,
    /// kubeconfig file (default: KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes context (default: the kubeconfig's current context)
    #[arg(long, global = true)]
    pub kube_context: Option<String>,
    /// Config file (default $XDG_CONFIG_HOME/warden/config.toml)
    #[arg(long, global = true, env = "WARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// nats-server log file to follow for permission violations (repeatable;
    /// rotation and truncation are followed)
    #[arg(long = "server-log", global = true, value_name = "PATH")]
    pub server_logs: Vec<PathBuf>,
    /// A site to examine besides the others, NAME=KUBE_CONTEXT (repeatable;
    /// adds to `[[sites]]` in the config file). NATS is the shared connection.
    #[arg(long = "site", global = true, value_name = "NAME=KUBE_CONTEXT")]
    pub sites: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive console (the default)
    Console,
    /// Print a report and exit
    Report {
        kind: report::Kind,
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: report::Output,
        #[command(flatten)]
        violations: report::violations::ViolationsFlags,
    },
    /// Findings across NATS, SPIRE and Kubernetes, worst first, each with
    /// a stable code, the objects involved, the evidence and a remedy
    Doctor {
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: report::Output,
    },
    /// One identity's chain (NatsIdentity, ClusterSPIFFEID, SPIRE entries
    /// and agent, authorization or user JWT, connections, failures,
    /// violations) and the first broken link; exit 1 when one is broken
    Trace {
        /// NAMESPACE/WORKLOAD
        identity: String,
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: report::Output,
    },
    /// A monitoring check (Nagios plugin exit codes: 0 OK, 1 WARNING,
    /// 2 CRITICAL, 3 UNKNOWN)
    Check {
        kind: report::check::CheckKind,
        /// WARNING under this (expiry, doctor: time left; connection: time taken)
        #[arg(long, value_parser = humantime::parse_duration)]
        warn: Option<std::time::Duration>,
        /// CRITICAL under this (expiry, doctor: time left; connection: time taken)
        #[arg(long, value_parser = humantime::parse_duration)]
        crit: Option<std::time::Duration>,
        #[arg(long = "format", value_enum, default_value = "nagios")]
        format: report::check::CheckFormat,
    },
    #[cfg(feature = "sandbox")]
    /// A whole world on this machine: nats-server, a Kubernetes API double
    /// seeded with a fleet, simulated workloads, and the console
    Sandbox {
        /// Run the world without the console and print how to reach it
        #[arg(long)]
        headless: bool,
        /// Where to keep its files (default: a fresh temporary directory,
        /// removed on exit)
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Authorization mode of the world: `jwt` (operator mode, user JWTs)
        /// or `spiffe` (`verify_and_map`, X.509 SVIDs, the authorization ConfigMap)
        #[arg(long, value_enum, default_value_t = ModeArg::Jwt)]
        mode: ModeArg,
        /// Also hold this many live connections (fleet-scale testing): user
        /// JWTs in `jwt` mode, TLS with X.509 SVIDs in `spiffe` mode
        #[arg(long, default_value_t = 0)]
        connections: usize,
        /// Users the extra connections are spread over
        #[arg(long, default_value_t = 200)]
        identities: usize,
        /// Accounts those users are spread over (`jwt` mode: APP, FLEET1...)
        #[arg(long, default_value_t = 1)]
        accounts: usize,
        /// Several sites (2 or more): one NATS supercluster (a cluster per
        /// site, joined by gateways) and a Kubernetes API double per site,
        /// the last one drifted on purpose (JWT mode only)
        #[arg(long = "sites", value_name = "N")]
        site_count: Option<usize>,
    },
    /// Identity actions (JWT mode): register, approve, deny, renew, revoke
    Identity {
        #[command(flatten)]
        keys: identity::KeyFlags,
        #[command(subcommand)]
        action: identity::IdentityCmd,
    },
}

/// NATS connection flags; each also reads the natscli environment variable.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct NatsArgs {
    /// natscli context name (~/.config/nats/context/<name>.json)
    #[arg(long = "nats-context", env = "NATS_CONTEXT", global = true)]
    pub context: Option<String>,
    /// NATS server URL(s), comma separated
    #[arg(long = "server", short = 's', env = "NATS_URL", global = true)]
    pub url: Option<String>,
    /// credentials file (JWT + seed)
    #[arg(long, env = "NATS_CREDS", global = true)]
    pub creds: Option<PathBuf>,
    /// nkey seed file
    #[arg(long, env = "NATS_NKEY", global = true)]
    pub nkey: Option<PathBuf>,
    #[arg(long, env = "NATS_USER", global = true)]
    pub user: Option<String>,
    /// password (prefer NATS_PASSWORD or a context: a flag is visible in `ps`)
    #[arg(long, env = "NATS_PASSWORD", global = true, hide_env_values = true)]
    pub password: Option<Secret>,
    /// token (prefer NATS_TOKEN or a context: a flag is visible in `ps`)
    #[arg(long, env = "NATS_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<Secret>,
    /// client certificate (mTLS)
    #[arg(long = "tlscert", env = "NATS_CERT", global = true)]
    pub cert: Option<PathBuf>,
    /// client key (mTLS)
    #[arg(long = "tlskey", env = "NATS_KEY", global = true)]
    pub key: Option<PathBuf>,
    /// CA bundle to verify the server
    #[arg(long = "tlsca", env = "NATS_CA", global = true)]
    pub ca: Option<PathBuf>,
}

/// A warning for each secret given as a command-line flag: other local
/// users can read it in `ps` and `/proc/<pid>/cmdline`.
pub fn secret_flag_warnings(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        for (flag, env) in [("--password", "NATS_PASSWORD"), ("--token", "NATS_TOKEN")] {
            if (a == flag || a.starts_with(&format!("{flag}="))) && !out.iter().any(|w: &String| w.contains(flag)) {
                out.push(format!(
                    "warning: {flag} on the command line is visible to other local users (ps); use {env} or a natscli context"
                ));
            }
        }
    }
    out
}

impl From<&NatsArgs> for NatsFlags {
    fn from(a: &NatsArgs) -> Self {
        let a = a.clone();
        NatsFlags {
            context: a.context,
            url: a.url,
            creds: a.creds,
            nkey: a.nkey,
            user: a.user,
            password: a.password,
            token: a.token,
            cert: a.cert,
            key: a.key,
            ca: a.ca,
        }
    }
}

/// `--mode`: the authorization mode as the command line spells it (the
/// domain's `Mode` knows nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Operator mode: user JWTs, account revocations.
    Jwt,
    /// `tls { verify_and_map: true }`: the authorization ConfigMap, SPIRE registrations.
    Spiffe,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Jwt => Mode::Jwt,
            ModeArg::Spiffe => Mode::Spiffe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_on_the_command_line_are_warned_about_and_never_printed() {
        let args = ["warden", "--password", "hunter2", "--token=tok", "--password", "x"].map(String::from);
        let w = secret_flag_warnings(args);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w.iter().all(|l| !l.contains("hunter2") && !l.contains("tok,")));
        let cli = Cli::parse_from(["warden", "--password", "hunter2", "report", "servers"]);
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
