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
use crate::identity::actions::{AnyRequest, Mode};
use crate::identity::jwt_actions::{ActionReport, IdentityName, Request, RevokeTarget, Step};
use crate::identity::spiffe_actions;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Register(Box<RegisterForm>),
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
                let name = crate::identity::naming::IdentityName::parse(self.fields[0].value().trim())
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
    let Some(name) = row.name().and_then(|n| crate::identity::naming::IdentityName::parse(&n).ok()) else {
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
