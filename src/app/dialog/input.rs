//! Keys while a dialog is open: editing a form, choosing a button.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::model::{Button, Dialog};
use super::propose::{propose, start, start_bound, with_consent};
use crate::app::msg::Outcome;
use crate::app::state::AppState;
use warden_core::identity::binding::BoundRequest;

/// Keys while a dialog is open.
pub fn on_key(s: &mut AppState, k: KeyEvent) -> Outcome {
    let Some(d) = s.dialog.take() else { return Outcome::none() };
    match d {
        Dialog::Register(mut form) => match form_key(&mut form.fields, &mut form.focus, &mut form.error, k) {
            FormKey::Close => {}
            FormKey::Stay => s.dialog = Some(Dialog::Register(form)),
            FormKey::Submit => match form.request_in(s.identity_mode) {
                Ok(req) => return start(s, req),
                Err(e) => {
                    form.error = Some(e);
                    s.dialog = Some(Dialog::Register(form));
                }
            },
        },
        Dialog::Grant(mut form) => match form_key(&mut form.fields, &mut form.focus, &mut form.error, k) {
            FormKey::Close => {}
            FormKey::Stay => s.dialog = Some(Dialog::Grant(form)),
            FormKey::Submit => match form.request_in(s.identity_mode) {
                Ok(req) => return propose(s, req),
                Err(e) => {
                    form.error = Some(e);
                    s.dialog = Some(Dialog::Grant(form));
                }
            },
        },
        Dialog::Confirm { request, binding, question, detail, then, focus } => match k.code {
            KeyCode::Esc | KeyCode::Char('n') => {}
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('h' | 'l') => {
                let focus = if focus == Button::Cancel { Button::Confirm } else { Button::Cancel };
                s.dialog = Some(Dialog::Confirm { request, binding, question, detail, then, focus });
            }
            // A second question (out-of-scope consent): asked with Cancel
            // focused again; confirming it runs the request with consent.
            KeyCode::Enter if focus == Button::Confirm && then.is_some() => {
                s.dialog = Some(Dialog::Confirm {
                    request: with_consent(request),
                    binding,
                    question: then.unwrap_or_default(),
                    detail,
                    then: None,
                    focus: Button::Cancel,
                });
            }
            // Bound when it was asked for, not now.
            KeyCode::Enter if focus == Button::Confirm => return start_bound(s, BoundRequest { request, binding }),
            KeyCode::Enter => {}
            _ => s.dialog = Some(Dialog::Confirm { request, binding, question, detail, then, focus }),
        },
        d @ Dialog::Progress { .. } => return super::progress::on_key(s, d, k),
    }
    Outcome::redraw()
}

/// What a key does to an open form.
enum FormKey {
    /// Esc: the form closes.
    Close,
    /// Enter: build the request.
    Submit,
    /// Focus moved or a field was edited (which clears the error).
    Stay,
}

/// Keys shared by every form: Tab/Down and BackTab/Up move the focus
/// (wrapping), Esc closes, Enter submits, anything else edits the field.
fn form_key(fields: &mut [Input], focus: &mut usize, error: &mut Option<String>, k: KeyEvent) -> FormKey {
    let n = fields.len();
    match k.code {
        KeyCode::Esc => FormKey::Close,
        KeyCode::Enter => FormKey::Submit,
        KeyCode::Tab | KeyCode::Down => {
            *focus = (*focus + 1) % n;
            FormKey::Stay
        }
        KeyCode::BackTab | KeyCode::Up => {
            *focus = (*focus + n - 1) % n;
            FormKey::Stay
        }
        _ => {
            fields[*focus].handle_event(&Event::Key(k));
            *error = None;
            FormKey::Stay
        }
    }
}

/// Pasted text (already one clean line) into the focused field of an open
/// form; other dialogs ignore it.
pub fn on_paste(s: &mut AppState, text: &str) -> Outcome {
    let field = match s.dialog.as_mut() {
        Some(Dialog::Register(f)) => f.fields.get_mut(f.focus),
        Some(Dialog::Grant(f)) => f.fields.get_mut(f.focus),
        _ => None,
    };
    let Some(field) = field else { return Outcome::none() };
    for c in text.chars() {
        field.handle(tui_input::InputRequest::InsertChar(c));
    }
    Outcome::redraw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn form_keys_wrap_the_focus_and_an_edit_clears_the_error() {
        let mut fields = [Input::default(), Input::default()];
        let (mut focus, mut error) = (1, Some("subject is required".to_string()));
        assert!(matches!(form_key(&mut fields, &mut focus, &mut error, key(KeyCode::Tab)), FormKey::Stay));
        assert_eq!(focus, 0);
        assert!(matches!(form_key(&mut fields, &mut focus, &mut error, key(KeyCode::BackTab)), FormKey::Stay));
        assert_eq!(focus, 1);
        assert_eq!(error.as_deref(), Some("subject is required"), "moving keeps the error");
        form_key(&mut fields, &mut focus, &mut error, key(KeyCode::Char('a')));
        assert_eq!((fields[1].value(), error), ("a", None));
        assert!(matches!(form_key(&mut fields, &mut focus, &mut None, key(KeyCode::Enter)), FormKey::Submit));
        assert!(matches!(form_key(&mut fields, &mut focus, &mut None, key(KeyCode::Esc)), FormKey::Close));
    }
}
