//! Identity actions in the console: the register form, the confirmation
//! dialog (Cancel is the default button), and the part-by-part result.
//! Keys here only change state and return `Cmd::Action`; the action runs in
//! an IO task (`app::action_worker`), never inside `update`.

use std::time::Duration;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::keys::Action;
use super::msg::{Cmd, Outcome};
use super::state::{AppState, Level, ViewId};
use warden_core::identity::action::report::{ActionReport, Step};
use warden_core::identity::action::request::ActionRequest;
use warden_core::identity::actions::{AnyRequest, Mode};
use warden_core::identity::jwt_actions::{Request, RevokeTarget};
use warden_core::identity::naming::IdentityName;
use warden_core::identity::spiffe_actions;
use warden_core::nats::subject::Direction;

pub const FORM_FIELDS: [&str; 4] = ["identity (namespace/workload)", "account", "ttl", "creds file (optional)"];

#[derive(Debug, Clone)]
pub struct RegisterForm {
    pub fields: [Input; 4],
    pub focus: usize,
    pub error: Option<String>,
}

impl Default for RegisterForm {
    fn default() -> Self {
        RegisterForm {
            fields: [Input::default(), Input::default(), Input::new("24h".into()), Input::default()],
            focus: 0,
            error: None,
        }
    }
}

pub const GRANT_FIELDS: [&str; 2] = ["direction (publish / subscribe)", "subject"];

/// The grant / ungrant form for one identity.
#[derive(Debug, Clone)]
pub struct GrantForm {
    pub name: IdentityName,
    pub remove: bool,
    pub fields: [Input; 2],
    pub focus: usize,
    pub error: Option<String>,
}

impl GrantForm {
    pub fn new(name: IdentityName, remove: bool) -> GrantForm {
        GrantForm { name, remove, fields: [Input::new("publish".into()), Input::default()], focus: 1, error: None }
    }

    /// The JWT-mode request (see [`GrantForm::request_in`]).
    pub fn request(&self) -> Result<Request, String> {
        let dir = match self.fields[0].value().trim() {
            "publish" | "pub" | "p" => Direction::Publish,
            "subscribe" | "sub" | "s" => Direction::Subscribe,
            other => return Err(format!("direction {other:?}: publish or subscribe")),
        };
        let subject = self.fields[1].value().trim().to_string();
        warden_core::nats::subject::validate_grant(&subject).map_err(|e| format!("subject {subject:?}: {e}"))?;
        Ok(if self.remove {
            Request::ungrant(self.name.clone(), dir, subject)
        } else {
            Request::grant(self.name.clone(), dir, subject)
        })
    }

    /// The request in `mode`: JWT mode re-mints the user JWT, SPIFFE mode
    /// changes the identity's authorization entry.
    pub fn request_in(&self, mode: Mode) -> Result<AnyRequest, String> {
        let req = self.request()?;
        Ok(match (mode, req) {
            (Mode::Jwt, req) => AnyRequest::Jwt(req),
            (Mode::Spiffe, Request::Grant { name, dir, subject, .. }) => {
                AnyRequest::Spiffe(spiffe_actions::Request::Grant { name, direction: dir.into(), subject })
            }
            (Mode::Spiffe, Request::Ungrant { name, dir, subject, .. }) => {
                AnyRequest::Spiffe(spiffe_actions::Request::Ungrant { name, direction: dir.into(), subject })
            }
            (Mode::Spiffe, other) => AnyRequest::Jwt(other),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Register(Box<RegisterForm>),
    Grant(Box<GrantForm>),
    Confirm {
        request: AnyRequest,
        question: String,
        focus: Button,
    },
    /// An action under way or done: its steps so far.
    Progress {
        title: String,
        steps: Vec<Step>,
        done: Option<&'static str>,
    },
}

impl RegisterForm {
    pub fn request(&self) -> Result<Request, String> {
        let v = |i: usize| self.fields[i].value().trim().to_string();
        let name = IdentityName::parse(&v(0)).map_err(|e| e.to_string())?;
        if v(1).is_empty() {
            return Err("account is required".into());
        }
        let ttl = humantime::parse_duration(&v(2)).map_err(|e| format!("ttl: {e}"))?;
        let creds_out = (!v(3).is_empty()).then(|| v(3).into());
        Ok(Request::Register { name, account: v(1), ttl, creds_out })
    }

    /// The request in `mode`: SPIFFE mode needs only the identity.
    pub fn request_in(&self, mode: Mode) -> Result<AnyRequest, String> {
        match mode {
            Mode::Jwt => self.request().map(AnyRequest::Jwt),
            Mode::Spiffe => {
                let name = warden_core::identity::naming::IdentityName::parse(self.fields[0].value().trim())
                    .map_err(|e| e.to_string())?;
                Ok(AnyRequest::Spiffe(spiffe_actions::Request::Register { name }))
            }
        }
    }
}

/// Keys while a dialog is open.
pub fn on_key(s: &mut AppState, k: KeyEvent) -> Outcome {
    let Some(d) = s.dialog.take() else { return Outcome::none() };
    match d {
        Dialog::Register(mut form) => match k.code {
            KeyCode::Esc => {}
            KeyCode::Tab | KeyCode::Down => {
                form.focus = (form.focus + 1) % form.fields.len();
                s.dialog = Some(Dialog::Register(form));
            }
            KeyCode::BackTab | KeyCode::Up => {
                form.focus = (form.focus + form.fields.len() - 1) % form.fields.len();
                s.dialog = Some(Dialog::Register(form));
            }
            KeyCode::Enter => match form.request_in(s.identity_mode) {
                Ok(req) => return start(s, req),
                Err(e) => {
                    form.error = Some(e);
                    s.dialog = Some(Dialog::Register(form));
                }
            },
            _ => {
                form.fields[form.focus].handle_event(&Event::Key(k));
                form.error = None;
                s.dialog = Some(Dialog::Register(form));
            }
        },
        Dialog::Grant(mut form) => match k.code {
            KeyCode::Esc => {}
            KeyCode::Tab | KeyCode::Down | KeyCode::BackTab | KeyCode::Up => {
                form.focus = 1 - form.focus;
                s.dialog = Some(Dialog::Grant(form));
            }
            KeyCode::Enter => match form.request_in(s.identity_mode) {
                Ok(req) => return propose(s, req),
                Err(e) => {
                    form.error = Some(e);
                    s.dialog = Some(Dialog::Grant(form));
                }
            },
            _ => {
                form.fields[form.focus].handle_event(&Event::Key(k));
                form.error = None;
                s.dialog = Some(Dialog::Grant(form));
            }
        },
        Dialog::Confirm { request, question, focus } => match k.code {
            KeyCode::Esc | KeyCode::Char('n') => {}
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('h' | 'l') => {
                let focus = if focus == Button::Cancel { Button::Confirm } else { Button::Cancel };
                s.dialog = Some(Dialog::Confirm { request, question, focus });
            }
            KeyCode::Enter if focus == Button::Confirm => return start(s, request),
            KeyCode::Enter => {}
            _ => s.dialog = Some(Dialog::Confirm { request, question, focus }),
        },
        Dialog::Progress { title, steps, done } => {
            // Closable once done; while running, keys are ignored (the result stays visible).
            let close = matches!(k.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q'));
            if done.is_none() || !close {
                s.dialog = Some(Dialog::Progress { title, steps, done });
            }
        }
    }
    let _ = KeyModifiers::NONE;
    Outcome::redraw()
}

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

fn start(s: &mut AppState, req: impl Into<AnyRequest>) -> Outcome {
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

/// A step of the running action arrived.
pub fn on_step(s: &mut AppState, step: Step) -> Outcome {
    if let Some(Dialog::Progress { steps, .. }) = &mut s.dialog {
        steps.push(step);
        return Outcome::redraw();
    }
    Outcome::none()
}

/// The action finished: show its outcome, refresh what it changed.
pub fn on_done(s: &mut AppState, report: ActionReport) -> Outcome {
    let level = if report.ok() { Level::Info } else { Level::Error };
    s.status = Some((level, format!("{} {}: {}", report.action, report.target, report.outcome())));
    let outcome = report.outcome();
    match &mut s.dialog {
        Some(Dialog::Progress { steps, done, .. }) => {
            *steps = report.steps;
            *done = Some(outcome);
        }
        _ => {
            s.dialog = Some(Dialog::Progress {
                title: format!("{} {}", report.action, report.target),
                steps: report.steps,
                done: Some(outcome),
            })
        }
    }
    Outcome { cmds: vec![Cmd::Refresh(ViewId::Identities)], redraw: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_form_builds_the_request_of_the_mode() {
        let name = IdentityName::parse("shop/orders").unwrap();
        let mut f = GrantForm::new(name.clone(), false);
        f.fields = [Input::new("sub".into()), Input::new("tentacular.shop.cart.>".into())];
        assert!(matches!(
            f.request_in(Mode::Jwt).unwrap(),
            AnyRequest::Jwt(Request::Grant { dir: Direction::Subscribe, .. })
        ));
        match f.request_in(Mode::Spiffe).unwrap() {
            AnyRequest::Spiffe(spiffe_actions::Request::Grant { name: n, direction, subject }) => {
                assert_eq!(
                    (n, direction.to_string(), subject.as_str()),
                    (name.clone(), "subscribe".into(), "tentacular.shop.cart.>")
                )
            }
            other => panic!("{other:?}"),
        }
        f.remove = true;
        assert!(matches!(
            f.request_in(Mode::Spiffe).unwrap(),
            AnyRequest::Spiffe(spiffe_actions::Request::Ungrant { .. })
        ));
    }
}
