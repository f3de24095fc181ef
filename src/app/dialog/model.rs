//! What an open dialog holds: the forms, the confirmation, the progress.

use tui_input::Input;

use warden_core::identity::action::report::Step;
use warden_core::identity::actions::{AnyRequest, Ask, Mode};
use warden_core::identity::binding::Binding;
use warden_core::identity::naming::IdentityName;
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

    /// What the form asks for (the same [`Ask`] as `warden identity grant`).
    pub fn ask(&self) -> Result<Ask, String> {
        let dir = match self.fields[0].value().trim() {
            "publish" | "pub" | "p" => Direction::Publish,
            "subscribe" | "sub" | "s" => Direction::Subscribe,
            other => return Err(format!("direction {other:?}: publish or subscribe")),
        };
        let subject = self.fields[1].value().trim().to_string();
        warden_core::nats::subject::validate_grant(&subject).map_err(|e| format!("subject {subject:?}: {e}"))?;
        let name = self.name.to_string();
        Ok(if self.remove {
            Ask::Ungrant { name, dir, subject, creds_out: None }
        } else {
            Ask::Grant { name, dir, subject, allow_broad: false, creds_out: None }
        })
    }

    /// The request in `mode`: JWT mode re-mints the user JWT, SPIFFE mode
    /// changes the identity's authorization entry.
    pub fn request_in(&self, mode: Mode) -> Result<AnyRequest, String> {
        self.ask()?.request(mode).map_err(|e| warden_core::error_chain::chain(&e))
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
    /// A confirmation, Cancel focused for anything destructive or broad.
    /// `request` is bound (`binding`) to what the screen showed when it was
    /// asked for; `detail` lists what it will write (the approve summary,
    /// flagged items marked `!!`); `then` is a second question that must be
    /// confirmed too (out-of-scope consent), after which the request runs
    /// with that consent.
    Confirm {
        request: AnyRequest,
        binding: Binding,
        question: String,
        detail: Vec<String>,
        then: Option<String>,
        focus: Button,
    },
    /// An action under way or done: its steps so far.
    Progress {
        title: String,
        steps: Vec<Step>,
        done: Option<&'static str>,
        /// When it started (unix seconds, from the first one-second tick:
        /// `update` reads no clock): the dialog shows the time elapsed.
        started: Option<i64>,
        /// While it runs: a question to cancel it (or to quit, which
        /// cancels it), Cancel (keep running) focused.
        ask: Option<StopAsk>,
        /// Cancelling was confirmed; the worker stops it where it is.
        cancelling: bool,
    },
}

/// Stopping a running action, asked in its progress dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopAsk {
    /// `q` / Ctrl-C: quit the console (the action is cancelled); else only cancel it.
    pub quit: bool,
    pub focus: Button,
}

impl Dialog {
    /// A progress dialog for an action that starts now.
    pub fn progress(title: String) -> Dialog {
        Dialog::Progress { title, steps: vec![], done: None, started: None, ask: None, cancelling: false }
    }
}

impl RegisterForm {
    /// What the form asks for (the same [`Ask`] as `warden identity register`).
    pub fn ask(&self, mode: Mode) -> Result<Ask, String> {
        let v = |i: usize| self.fields[i].value().trim().to_string();
        IdentityName::parse(&v(0)).map_err(|e| e.to_string())?;
        if mode == Mode::Jwt && v(1).is_empty() {
            return Err("account is required".into());
        }
        let ttl = if v(2).is_empty() {
            None
        } else {
            Some(warden_core::identity::ttl::parse(&v(2)).map_err(|e| format!("ttl: {e}"))?)
        };
        let creds_out = (!v(3).is_empty()).then(|| v(3).into());
        Ok(Ask::Register { name: v(0), account: Some(v(1)), ttl, creds_out, force: false })
    }

    /// The request in `mode`: SPIFFE mode needs only the identity.
    pub fn request_in(&self, mode: Mode) -> Result<AnyRequest, String> {
        self.ask(mode)?.request(mode).map_err(|e| warden_core::error_chain::chain(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::identity::jwt_actions::Request;
    use warden_core::identity::spiffe_actions;

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
            AnyRequest::Spiffe(spiffe_actions::Request::Grant { name: n, direction, subject, .. }) => {
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
