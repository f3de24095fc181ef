//! NATS: connection, system-account requests, events, JWT.

pub mod jwt;
pub mod subject;
