//! Turning a key or a form into an action: read-only refuses, destructive
//! and over-broad requests ask first, the rest start in the action worker.

use std::time::Duration;

use super::model::{Button, Dialog, GrantForm};
use crate::app::keys::Action;
use crate::app::msg::{Cmd, Outcome};
use crate::app::state::{AppState, Level};
use crate::app::view_id::ViewId;
use warden_core::identity::action::request::ActionRequest;
use warden_core::identity::actions::{AnyRequest, Mode};
use warden_core::identity::jwt_actions::{Request, RevokeTarget};
use warden_core::identity::naming::IdentityName;
use warden_core::identity::spiffe_actions;

/// Any view's way to run an identity action (e.g. the Violations view's
/// "grant this subject to this identity": `propose(s, Request::grant(name,
/// dir, subject))`): refused in read-only mode; destructive actions and
/// over-broad grants ask first (Cancel is the default); the rest start.
/// Either mode's request: a JWT-mode one, or a SPIFFE-mode one.
pub fn propose(s: &mut AppState, req: impl Into<AnyRequest>) -> Outcome {
    if s.read_only {
        s.status = Some((Level::Warn, "read-only: no changes are offered".into()));
        return Outcome::redraw();
    }
    let req = match req.into() {
        AnyRequest::Jwt(req) => req,
        AnyRequest::Spiffe(req) => return propose_spiffe(s, req),
    };
    let question = match &req {
        Request::Grant { name, dir, subject, .. } if req.needs_broad_confirmation() => Some(format!(
            "{subject} is over-broad: it reaches beyond one tentacle's subjects. Grant {} {subject} to {name} anyway?",
            dir.word()
        )),
        Request::Ungrant { name, dir, subject, .. } => {
            Some(format!("Remove {} {subject} from {name}? Its JWT is re-minted without it.", dir.word()))
        }
        r if r.is_destructive() => Some(format!("{} {}?", capitalized(r.verb()), r.target())),
        _ => None,
    };
    match question {
        Some(question) => {
            // The confirmation is the explicit consent an over-broad grant needs.
            let request = match req {
                Request::Grant { name, dir, subject, creds_out, .. } => {
                    Request::Grant { name, dir, subject, allow_broad: true, creds_out }
                }
                other => other,
            };
            s.dialog = Some(Dialog::Confirm { request: request.into(), question, focus: Button::Cancel });
            Outcome::redraw()
        }
        None => start(s, req),
    }
}

/// [`propose`] in SPIFFE mode: the confirmation of an over-broad grant is
/// its consent (the request has no flag for it).
fn propose_spiffe(s: &mut AppState, req: spiffe_actions::Request) -> Outcome {
    use spiffe_actions::Request as R;
    let question = match &req {
        R::Grant { name, direction, subject } if warden_core::nats::subject::is_over_broad(subject) => Some(format!(
            "{subject} is over-broad: it reaches beyond one tentacle's subjects. Grant {direction} {subject} to {name} anyway?"
        )),
        R::Ungrant { name, direction, subject } => Some(format!(
            "Remove {direction} {subject} from {name}? Its authorization entry loses it and every server reloads."
        )),
        r if r.is_destructive() => Some(format!("{} {}?", capitalized(r.verb()), r.target())),
        _ => None,
    };
    match question {
        Some(question) => {
            s.dialog = Some(Dialog::Confirm { request: req.into(), question, focus: Button::Cancel });
            Outcome::redraw()
        }
        None => start(s, req),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

pub(super) fn start(s: &mut AppState, req: impl Into<AnyRequest>) -> Outcome {
    let req = req.into();
    s.dialog = Some(Dialog::Progress { title: format!("{} {}", req.verb(), req.target()), steps: vec![], done: None });
    Outcome::cmd(Cmd::Action(req))
}

/// An action key (register, approve, ...) in normal mode.
pub fn on_action(s: &mut AppState, a: Action) -> Outcome {
    if s.read_only {
        s.status = Some((Level::Warn, "read-only: no changes are offered".into()));
        return Outcome::redraw();
    }
    if s.view != ViewId::Identities {
        s.status = Some((Level::Info, "identity actions are on the Identities view (:identities)".into()));
        return Outcome::redraw();
    }
    if a == Action::Register {
        s.dialog = Some(Dialog::Register(Box::default()));
        return Outcome::redraw();
    }
    if s.identity_mode == Mode::Spiffe {
        return on_spiffe_action(s, a);
    }
    let Some(row) = s.identities.selected().cloned() else {
        s.status = Some((Level::Warn, "no identity selected".into()));
        return Outcome::redraw();
    };
    let name = row.name().and_then(|n| IdentityName::parse(&n).ok());
    let need_name = |s: &mut AppState| {
        s.status = Some((Level::Warn, format!("{} has no NAMESPACE/WORKLOAD", row.user)));
        Outcome::redraw()
    };
    let req = match a {
        Action::Approve => match name {
            Some(name) => Request::Approve { name, ttl: None },
            None => return need_name(s),
        },
        Action::Renew => match name {
            Some(name) => Request::Renew { name, account: None, ttl: Duration::from_secs(24 * 3600), creds_out: None },
            None => return need_name(s),
        },
        Action::Deny => match name {
            Some(name) => Request::Deny {
                name,
                reason: format!("denied in the console by {}", s.conn.user.clone().unwrap_or_default()),
            },
            None => return need_name(s),
        },
        Action::Grant | Action::Ungrant => match name {
            Some(name) => {
                s.dialog = Some(Dialog::Grant(Box::new(GrantForm::new(name, a == Action::Ungrant))));
                return Outcome::redraw();
            }
            None => return need_name(s),
        },
        Action::Revoke => {
            let target = match (&name, row.user_key.is_empty()) {
                (Some(n), true) => RevokeTarget::Identity(n.clone()),
                _ => RevokeTarget::UserKey(row.user_key.clone()),
            };
            let account = if row.account_key.is_empty() { row.account.clone() } else { row.account_key.clone() };
            Request::Revoke { target, account, creds: None }
        }
        _ => return Outcome::none(),
    };
    if req.is_destructive() {
        let question = match &req {
            Request::Revoke { .. } => format!(
                "Revoke {}? The user key {} is added to the account's revocations, pushed to every server, and its {} live connection(s) are closed.",
                row.name().unwrap_or(row.user.clone()),
                row.user_key,
                row.connections
            ),
            _ => format!("Deny the pending request {}?", req.target()),
        };
        s.dialog = Some(Dialog::Confirm { request: req.into(), question, focus: Button::Cancel });
        return Outcome::redraw();
    }
    start(s, req)
}

/// SPIFFE mode: the selected identity's NAMESPACE/WORKLOAD is all an action needs.
fn on_spiffe_action(s: &mut AppState, a: Action) -> Outcome {
    let Some(row) = s.identities.selected().cloned() else {
        s.status = Some((Level::Warn, "no identity selected".into()));
        return Outcome::redraw();
    };
    let Some(name) = row.name().and_then(|n| warden_core::identity::naming::IdentityName::parse(&n).ok()) else {
        s.status = Some((Level::Warn, format!("{} has no NAMESPACE/WORKLOAD", row.user)));
        return Outcome::redraw();
    };
    let req = match a {
        Action::Approve => spiffe_actions::Request::Approve { name },
        Action::Deny => spiffe_actions::Request::Deny {
            name,
            reason: format!("denied in the console by {}", s.conn.user.clone().unwrap_or_default()),
        },
        Action::Revoke => spiffe_actions::Request::Revoke { name },
        Action::Grant | Action::Ungrant => {
            s.dialog = Some(Dialog::Grant(Box::new(GrantForm::new(name, a == Action::Ungrant))));
            return Outcome::redraw();
        }
        Action::Renew => {
            s.status = Some((Level::Info, "SPIFFE mode: SPIRE rotates SVIDs; there is no JWT to renew".into()));
            return Outcome::redraw();
        }
        _ => return Outcome::none(),
    };
    if req.is_destructive() {
        let question = match &req {
            spiffe_actions::Request::Revoke { name } => format!(
                "Revoke {name}? Its authorization entry and ClusterSPIFFEID are removed, every server reloads, and its {} live connection(s) are closed.",
                row.connections
            ),
            _ => format!("{} {}?", req.verb(), req.target()),
        };
        s.dialog = Some(Dialog::Confirm { request: req.into(), question, focus: Button::Cancel });
        return Outcome::redraw();
    }
    start(s, req)
}
