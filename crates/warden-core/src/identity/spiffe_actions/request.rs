//! A SPIFFE-mode action request.

use crate::identity::action::request::ActionRequest;
use crate::identity::naming::IdentityName;
use crate::nats::subject::Direction;

/// A SPIFFE-mode action request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Creates every part at once (Active).
    Register {
        name: IdentityName,
    },
    /// Activates a Pending `NatsIdentity` (scope + requested grants).
    Approve {
        name: IdentityName,
        /// Consent to a spec that reaches beyond the identity's own scope
        /// (`identity::approve_plan`).
        allow_broad: bool,
    },
    Deny {
        name: IdentityName,
        reason: String,
    },
    Grant {
        name: IdentityName,
        direction: Direction,
        subject: String,
        /// Consent to an over-broad subject (`nats::subject::is_over_broad`).
        allow_broad: bool,
    },
    Ungrant {
        name: IdentityName,
        direction: Direction,
        subject: String,
    },
    /// Removes the authorization entry and the SPIRE registration; live
    /// connections are closed.
    Revoke {
        name: IdentityName,
    },
}

impl ActionRequest for Request {
    fn verb(&self) -> &'static str {
        match self {
            Request::Register { .. } => "register",
            Request::Approve { .. } => "approve",
            Request::Deny { .. } => "deny",
            Request::Grant { .. } => "grant",
            Request::Ungrant { .. } => "ungrant",
            Request::Revoke { .. } => "revoke",
        }
    }
    fn target(&self) -> String {
        match self {
            Request::Grant { name, direction, subject, .. } | Request::Ungrant { name, direction, subject } => {
                format!("{name} {direction} {subject}")
            }
            r => r.name().to_string(),
        }
    }
    /// Revoke, deny and ungrant take access away: they ask first.
    fn is_destructive(&self) -> bool {
        matches!(self, Request::Revoke { .. } | Request::Deny { .. } | Request::Ungrant { .. })
    }
}

impl Request {
    pub fn name(&self) -> &IdentityName {
        match self {
            Request::Register { name }
            | Request::Approve { name, .. }
            | Request::Deny { name, .. }
            | Request::Grant { name, .. }
            | Request::Ungrant { name, .. }
            | Request::Revoke { name } => name,
        }
    }
}
