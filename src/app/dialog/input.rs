//! Keys while a dialog is open: editing a form, choosing a button.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::model::{Button, Dialog};
use super::propose::{propose, start};
use crate::app::msg::Outcome;
use crate::app::state::AppState;

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
    Outcome::redraw()
}
