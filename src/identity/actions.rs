//! One entry point for identity actions in both authorization modes: the
//! console's action worker and `warden identity ...` build an [`AnyRequest`]
//! and hand it to the mode's runner; both report with the same
//! [`ActionReport`](super::jwt_actions::ActionReport) and audit log.

use serde::Deserialize;

use super::jwt_actions;
use super::spiffe_actions;

/// Which authorization mode the NATS deployment runs (config
/// `[identity] mode`, flag `--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Operator mode: user JWTs, account revocations.
    #[default]
    Jwt,
    /// `tls { verify_and_map: true }`: the authorization ConfigMap, SPIRE registrations.
    Spiffe,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Jwt => "jwt",
            Mode::Spiffe => "spiffe",
        }
    }
}

/// An action request in either mode.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRequest {
    Jwt(jwt_actions::Request),
    Spiffe(spiffe_actions::Request),
}

impl AnyRequest {
    pub fn verb(&self) -> &'static str {
        match self {
            AnyRequest::Jwt(r) => r.verb(),
            AnyRequest::Spiffe(r) => r.verb(),
        }
    }
    pub fn target(&self) -> String {
        match self {
            AnyRequest::Jwt(r) => r.target(),
            AnyRequest::Spiffe(r) => r.target(),
        }
    }
    /// Destructive actions ask for confirmation (Cancel by default).
    pub fn is_destructive(&self) -> bool {
        match self {
            AnyRequest::Jwt(r) => r.is_destructive(),
            AnyRequest::Spiffe(r) => r.is_destructive(),
        }
    }
    pub fn mode(&self) -> Mode {
        match self {
            AnyRequest::Jwt(_) => Mode::Jwt,
            AnyRequest::Spiffe(_) => Mode::Spiffe,
        }
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
