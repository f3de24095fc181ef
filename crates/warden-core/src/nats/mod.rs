//! NATS: connection, system-account requests, events, JWT.

pub mod account_reach;
pub mod accounts;
pub mod claims_update;
pub mod connect;
pub mod info_probe;
pub mod jwt;
pub mod mapping;
pub mod reserved;
pub mod subject;
pub mod sys;
pub mod types;
