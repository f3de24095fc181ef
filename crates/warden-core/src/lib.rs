//! warden-core: warden's domains, with no terminal UI and no command line.
//!
//! NATS (system-account requests, JWTs, subjects), Kubernetes (client,
//! watches), SPIRE (entries and agents through pods/exec), identities
//! (naming, permissions, the actions of both authorization modes, the audit
//! log), violations (parsers, attribution, the bounded store), configuration,
//! secrets and logging setup. Like gitui's `asyncgit`, it imports nothing of
//! the console: the `warden` binary crate holds the app, UI, reports and CLI.
//!
//! Inside the crate dependencies point one way:
//! `doctor` -> `identity` -> `nats`, `kube`, `spire`, `violations` -> `config` -> `secret`.

pub mod config;
pub mod doctor;
pub mod error_chain;
pub mod identity;
pub mod json_time;
pub mod kube;
pub mod logging;
pub mod nats;
pub mod secret;
pub mod spire;
pub mod violations;

#[cfg(test)]
mod test_support;
