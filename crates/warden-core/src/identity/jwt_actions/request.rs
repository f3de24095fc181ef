//! A JWT-mode action request, from a key press or a subcommand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::identity::action::request::ActionRequest;
use crate::identity::naming::IdentityName;
use crate::nats::jwt::{self, KeyKind};
use crate::nats::subject::Direction;

/// What revoke acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    Identity(IdentityName),
    UserKey(String),
}

impl RevokeTarget {
    pub fn parse(s: &str) -> Result<RevokeTarget> {
        if s.starts_with('U') && !s.contains('/') {
            jwt::check_public(s, KeyKind::User)?;
            return Ok(RevokeTarget::UserKey(s.to_string()));
        }
        Ok(RevokeTarget::Identity(IdentityName::parse(s)?))
    }
}

impl std::fmt::Display for RevokeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevokeTarget::Identity(n) => n.fmt(f),
            RevokeTarget::UserKey(k) => f.write_str(k),
        }
    }
}

/// An action request, from a key press or a subcommand.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `ttl`: `None` is `[identity] ttl`. `force`: overwrite an existing
    /// `creds_out` file (otherwise refused: it may hold another seed).
    Register {
        name: IdentityName,
        account: String,
        ttl: Option<Duration>,
        creds_out: Option<PathBuf>,
        force: bool,
    },
    /// `ttl`: `None` is `spec.ttl`, else `[identity] ttl`. A spec reaching
    /// beyond the identity's own scope needs `allow_broad`.
    Approve {
        name: IdentityName,
        ttl: Option<Duration>,
        allow_broad: bool,
    },
    Deny {
        name: IdentityName,
        reason: String,
    },
    /// `ttl`: `None` is `spec.ttl`, else `[identity] ttl`.
    Renew {
        name: IdentityName,
        account: Option<String>,
        ttl: Option<Duration>,
        creds_out: Option<PathBuf>,
    },
    Revoke {
        target: RevokeTarget,
        account: String,
        creds: Option<PathBuf>,
    },
    /// Add an explicit (cross-tentacle) subject to the user JWT. Over-broad
    /// subjects (`nats::subject::is_over_broad`) need `allow_broad`.
    Grant {
        name: IdentityName,
        dir: Direction,
        subject: String,
        allow_broad: bool,
        creds_out: Option<PathBuf>,
    },
    /// Remove an explicit subject (never the identity's own scope).
    Ungrant {
        name: IdentityName,
        dir: Direction,
        subject: String,
        creds_out: Option<PathBuf>,
    },
}

impl ActionRequest for Request {
    fn verb(&self) -> &'static str {
        match self {
            Request::Register { .. } => "register",
            Request::Approve { .. } => "approve",
            Request::Deny { .. } => "deny",
            Request::Renew { .. } => "renew",
            Request::Revoke { .. } => "revoke",
            Request::Grant { .. } => "grant",
            Request::Ungrant { .. } => "ungrant",
        }
    }
    fn target(&self) -> String {
        match self {
            Request::Register { name, .. }
            | Request::Approve { name, .. }
            | Request::Deny { name, .. }
            | Request::Renew { name, .. } => name.to_string(),
            Request::Grant { name, dir, subject, .. } | Request::Ungrant { name, dir, subject, .. } => {
                format!("{name} {} {subject}", dir.word())
            }
            Request::Revoke { target, .. } => target.to_string(),
        }
    }
    /// Destructive actions ask for confirmation (Cancel by default).
    fn is_destructive(&self) -> bool {
        matches!(self, Request::Revoke { .. } | Request::Deny { .. } | Request::Ungrant { .. })
    }
}

impl Request {
    /// The grant any view can send ("grant this subject to this identity"):
    /// written where the identity's JWT lives, not over-broad unless
    /// confirmed (see [`Request::needs_broad_confirmation`]).
    pub fn grant(name: IdentityName, dir: Direction, subject: impl Into<String>) -> Request {
        Request::Grant { name, dir, subject: subject.into(), allow_broad: false, creds_out: None }
    }

    pub fn ungrant(name: IdentityName, dir: Direction, subject: impl Into<String>) -> Request {
        Request::Ungrant { name, dir, subject: subject.into(), creds_out: None }
    }

    /// A grant of an over-broad subject not yet confirmed as such.
    pub fn needs_broad_confirmation(&self, naming: &crate::identity::naming::Naming) -> bool {
        matches!(self, Request::Grant { name, dir, subject, allow_broad: false, .. }
            if crate::nats::subject::is_over_broad(subject, &naming.reach(name, *dir, &[])))
    }
}
