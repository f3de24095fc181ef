//! What the actions of both authorization modes share: the step report and
//! its recorder, the request trait the console and the CLI dispatch on, the
//! Kubernetes client an action writes with and the workload's
//! ClusterSPIFFEID, and kicking a connection. `jwt_actions` and
//! `spiffe_actions` import this, never each other.

pub mod kube;
pub mod nats;
pub mod report;
pub mod request;
