//! Identities: the joined model of one workload's parts, and the actions on it.

pub mod audit;
pub mod cli;
pub mod jwt_actions;
pub mod record;
