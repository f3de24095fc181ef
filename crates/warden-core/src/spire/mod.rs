//! SPIRE: entries and agents read through the spire-server CLI in its pod,
//! and the spire-controller-manager objects that declare them.

pub mod cluster_spiffe_id;
pub mod exec;
pub mod model;
