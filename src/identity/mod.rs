//! Identities: naming (namespace/workload -> SPIFFE ID, NATS user, subject
//! scope) and the SPIFFE-mode authorization document.

pub mod conf;
pub mod naming;
pub mod spiffe_authz;
