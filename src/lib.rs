//! warden: terminal admin console for NATS + SPIFFE/SPIRE + Kubernetes workload identity.
//!
//! Layering (dependencies point one way): `ui` -> `app` -> domains
//! (`nats`, `kube`, `spire`, `identity`, `violations`, `sandbox`).
//! No domain module imports `app` or `ui`.

pub mod app;
pub mod cli;
pub mod config;
pub mod identity;
pub mod kube;
pub mod logging;
pub mod nats;
pub mod report;
pub mod sandbox;
pub mod secret;
pub mod spire;
pub mod ui;
pub mod violations;
