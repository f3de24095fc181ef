//! warden: terminal admin console for NATS + SPIFFE/SPIRE + Kubernetes workload identity.
//!
//! This crate holds what a user touches: the console (`app` state and
//! workers, `ui` rendering), `report` and the command line (`cli`). The
//! domains live in `warden-core`, the sandbox in `warden-sandbox` (behind the
//! `sandbox` feature). Layering: `ui`, `report`, `cli` -> `app` -> `warden_core`.

pub mod app;
pub mod cli;
pub mod report;
pub mod ui;
