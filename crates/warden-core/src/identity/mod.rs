//! Identities: naming (namespace/workload -> SPIFFE ID, NATS user, subject
//! scope), the SPIFFE-mode authorization document, permissions, and the
//! JWT-mode lifecycle (NatsIdentity records, actions, audit log).

pub mod action;
pub mod actions;
pub mod approve_plan;
pub mod audit;
pub mod binding;
pub mod conf;
pub mod creds_secret;
pub mod effective;
pub mod join;
pub mod jwt_actions;
pub mod kube_facts;
pub mod naming;
pub mod permissions;
pub mod record;
pub mod runner;
pub mod scope_template;
pub mod spiffe_actions;
pub mod spiffe_authz;
pub mod ttl;
