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
}

impl AnyRequest {
    fn inner(&self) -> &dyn ActionRequest {
        match self {
            AnyRequest::Jwt(r) => r,
            AnyRequest::Spiffe(r) => r,
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            AnyRequest::Jwt(_) => Mode::Jwt,
            AnyRequest::Spiffe(_) => Mode::Spiffe,
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
