//! Command line: the console by default, reports and (later) actions as
//! subcommands sharing the same code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::NatsFlags;
use crate::report;

#[derive(Debug, Parser)]
#[command(name = "warden", version, about = "Terminal console for NATS + SPIFFE/SPIRE + Kubernetes workload identity")]
pub struct Cli {
    #[command(flatten)]
    pub nats: NatsFlags,
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
        #[arg(long, value_enum, default_value_t = crate::identity::actions::Mode::Jwt)]
        mode: crate::identity::actions::Mode,
    },
    /// Identity actions (JWT mode): register, approve, deny, renew, revoke
    Identity {
        #[command(flatten)]
        keys: crate::identity::cli::KeyFlags,
        #[command(subcommand)]
        action: crate::identity::cli::IdentityCmd,
    },
}
