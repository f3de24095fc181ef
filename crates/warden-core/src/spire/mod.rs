//! SPIRE: entries and agents read through the spire-server CLI in its pod.

pub mod exec;
pub mod model;
