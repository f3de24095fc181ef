//! Identities: naming (namespace/workload -> SPIFFE ID, NATS user, subject
//! scope), the SPIFFE-mode authorization document, permissions.

pub mod conf;
pub mod naming;
pub mod permissions;
pub mod spiffe_authz;
