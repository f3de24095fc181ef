//! The SPIFFE-mode authorization document: the nats-server config fragment
//! that the authorization ConfigMap holds and the NATS pods `include`.
//!
//! Two shapes, both accepted by nats-server 2.15.1 (verified by the
//! integration tests):
//!
//! - [`DocumentShape::UsersArray`]: `users = [ ... ]`, included inside an
//!   account block (`accounts { APP { include "authz.conf" } }`), which keeps
//!   the tentacles in their own account beside `SYS`;
//! - [`DocumentShape::AuthorizationBlock`]: `authorization { users = [ ... ] }`,
//!   included at the top level (tentacles land in the global account `$G`).
//!
//! Each user entry is keyed by the exact SPIFFE ID (`verify_and_map` looks the
//! SVID's URI SAN up as a string). Scope subjects and explicit grants share
//! the `allow` arrays nats-server reads; grants carry the same-line comment
//! `# warden:grant`, which is how they stay distinguishable after a round
//! trip. The rendering is canonical: users sorted, scope subjects first in
//! their order, then grants sorted; parsing a rendering gives it back.
//!
//! nats-server semantics kept on purpose: a direction with no `allow` and no
//! `deny` is rendered as nothing, which nats-server reads as *unrestricted*.

mod conf_mapping;
mod document;

pub use document::*;

#[cfg(test)]
mod tests;
