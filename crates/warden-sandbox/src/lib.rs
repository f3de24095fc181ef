//! The sandbox world: a real nats-server, the Kubernetes API double, and the
//! scenario that seeds them. Also the harness the integration tests use.

pub mod connections;
pub mod crds;
pub mod nats_server;
pub mod operator_mode;
pub mod run;
pub mod running;
pub mod scenario;
pub mod seeds;
pub mod sites;
pub mod spiffe_mode;
pub mod spire_controller;
pub mod workloads;
