//! Kubernetes: connection, watched resources, watch tasks, errors in words.

pub mod access;
pub mod client;
pub mod errors;
pub mod resources;
pub mod watch;
