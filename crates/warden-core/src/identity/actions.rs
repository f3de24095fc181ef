//! One entry point for identity actions in both authorization modes: the
//! console's action worker and `warden identity ...` build an [`AnyRequest`]
//! and hand it to the mode's runner; both report with the same
//! [`ActionReport`](super::action::report::ActionReport) and audit log.

pub use crate::config::file::Mode;

use super::action::request::ActionRequest;
use super::jwt_actions;
use super::spiffe_actions;

/// An action request in either mode.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRequest {
    Jwt(jwt_actions::Request),
    Spiffe(spiffe_actions::Request),
    /// Close one connection (either mode).
    Kick(super::action::nats::KickRequest),
}

impl AnyRequest {
    fn inner(&self) -> &dyn ActionRequest {
        match self {
            AnyRequest::Jwt(r) => r,
            AnyRequest::Spiffe(r) => r,
            AnyRequest::Kick(r) => r,
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            AnyRequest::Jwt(_) => Mode::Jwt,
            AnyRequest::Spiffe(_) => Mode::Spiffe,
            AnyRequest::Kick(k) => k.mode,
        }
    }
}

impl ActionRequest for AnyRequest {
    fn verb(&self) -> &'static str {
        self.inner().verb()
    }
    fn target(&self) -> String {
        self.inner().target()
    }
    fn is_destructive(&self) -> bool {
        self.inner().is_destructive()
    }
}

impl From<jwt_actions::Request> for AnyRequest {
    fn from(r: jwt_actions::Request) -> Self {
        AnyRequest::Jwt(r)
    }
}

impl From<spiffe_actions::Request> for AnyRequest {
    fn from(r: spiffe_actions::Request) -> Self {
        AnyRequest::Spiffe(r)
    }
}

/// What an operator asks for, in either mode: built from a key press and
/// the selected row in the console, or from `warden identity ...`. One
/// builder ([`Ask::request`]) turns it into the mode's request, so the
/// console and the command line send the same request for the same ask.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    Register {
        name: String,
        account: Option<String>,
        ttl: Option<std::time::Duration>,
        creds_out: Option<std::path::PathBuf>,
        force: bool,
    },
    Approve {
        name: String,
        ttl: Option<std::time::Duration>,
        allow_broad: bool,
    },
    Deny {
        name: String,
        reason: String,
    },
    Renew {
        name: String,
        account: Option<String>,
        ttl: Option<std::time::Duration>,
        creds_out: Option<std::path::PathBuf>,
    },
    /// `target`: `NAMESPACE/WORKLOAD` (the whole identity: every user key
    /// it has, its record, its SPIRE registration), or a user key (JWT mode)
    /// when no identity is known.
    Revoke {
        target: String,
        account: Option<String>,
        creds: Option<std::path::PathBuf>,
    },
    Grant {
        name: String,
        dir: crate::nats::subject::Direction,
        subject: String,
        allow_broad: bool,
        creds_out: Option<std::path::PathBuf>,
    },
    Ungrant {
        name: String,
        dir: crate::nats::subject::Direction,
        subject: String,
        creds_out: Option<std::path::PathBuf>,
    },
}

impl Ask {
    /// The request in `mode`; what a mode cannot do is refused here, before
    /// anything connects.
    pub fn request(&self, mode: Mode) -> anyhow::Result<AnyRequest> {
        use super::naming::IdentityName;
        let parse = |s: &str| -> anyhow::Result<IdentityName> { Ok(IdentityName::parse(s)?) };
        let need_account =
            |a: &Option<String>| a.clone().ok_or_else(|| anyhow::anyhow!("--account is required in JWT mode"));
        use jwt_actions::Request as J;
        use spiffe_actions::Request as S;
        Ok(match (mode, self.clone()) {
            (Mode::Jwt, Ask::Register { name, account, ttl, creds_out, force }) => {
                J::Register { name: parse(&name)?, account: need_account(&account)?, ttl, creds_out, force }.into()
            }
            (Mode::Jwt, Ask::Approve { name, ttl, allow_broad }) => {
                J::Approve { name: parse(&name)?, ttl, allow_broad }.into()
            }
            (Mode::Jwt, Ask::Deny { name, reason }) => J::Deny { name: parse(&name)?, reason }.into(),
            (Mode::Jwt, Ask::Renew { name, account, ttl, creds_out }) => {
                J::Renew { name: parse(&name)?, account, ttl, creds_out }.into()
            }
            (Mode::Jwt, Ask::Revoke { target, account, creds }) => J::Revoke {
                target: jwt_actions::RevokeTarget::parse(&target)?,
                account: need_account(&account)?,
                creds,
            }
            .into(),
            (Mode::Jwt, Ask::Grant { name, dir, subject, allow_broad, creds_out }) => {
                J::Grant { name: parse(&name)?, dir, subject, allow_broad, creds_out }.into()
            }
            (Mode::Jwt, Ask::Ungrant { name, dir, subject, creds_out }) => {
                J::Ungrant { name: parse(&name)?, dir, subject, creds_out }.into()
            }
            (Mode::Spiffe, Ask::Register { name, .. }) => S::Register { name: parse(&name)? }.into(),
            (Mode::Spiffe, Ask::Approve { name, allow_broad, .. }) => {
                S::Approve { name: parse(&name)?, allow_broad }.into()
            }
            (Mode::Spiffe, Ask::Deny { name, reason }) => S::Deny { name: parse(&name)?, reason }.into(),
            (Mode::Spiffe, Ask::Renew { .. }) => {
                anyhow::bail!(
                    "renew is a JWT-mode action: in SPIFFE mode SPIRE rotates the SVIDs (see the Expiry view)"
                )
            }
            (Mode::Spiffe, Ask::Revoke { target, .. }) => S::Revoke { name: parse(&target)? }.into(),
            (Mode::Spiffe, Ask::Grant { name, dir, subject, allow_broad, .. }) => {
                S::Grant { name: parse(&name)?, direction: dir, subject, allow_broad }.into()
            }
            (Mode::Spiffe, Ask::Ungrant { name, dir, subject, .. }) => {
                S::Ungrant { name: parse(&name)?, direction: dir, subject }.into()
            }
        })
    }
}
