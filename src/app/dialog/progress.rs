//! A running action's steps and its outcome, shown in the progress dialog.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::{Button, Dialog, StopAsk};
use crate::app::msg::{Cmd, Outcome};
use crate::app::state::{AppState, Level};
use crate::app::view_id::ViewId;
use warden_core::identity::action::report::{ActionReport, Step};

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
        Some(Dialog::Progress { steps, done, ask, cancelling, .. }) => {
            *steps = report.steps;
            *done = Some(outcome);
            *ask = None;
            *cancelling = false;
        }
        _ => {
            let mut d = Dialog::progress(format!("{} {}", report.action, report.target));
            if let Dialog::Progress { steps, done, .. } = &mut d {
                *steps = report.steps;
                *done = Some(outcome);
            }
            s.dialog = Some(d);
        }
    }
    Outcome { cmds: vec![Cmd::Refresh(ViewId::Identities)], redraw: true }
}

/// Keys in the progress dialog. Done: Esc, Enter or `q` close it. Running:
/// Esc or `c` ask to cancel the action, `q` or Ctrl-C ask to quit (which
/// cancels it); the question has Cancel (keep running) focused.
pub fn on_key(s: &mut AppState, mut d: Dialog, k: KeyEvent) -> Outcome {
    let Dialog::Progress { done, ask, cancelling, .. } = &mut d else {
        s.dialog = Some(d);
        return Outcome::none();
    };
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    if done.is_some() {
        if !matches!(k.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) && !ctrl_c {
            s.dialog = Some(d);
        }
        return Outcome::redraw();
    }
    let mut out = Outcome::redraw();
    match ask {
        None => match k.code {
            _ if ctrl_c => *ask = Some(StopAsk { quit: true, focus: Button::Cancel }),
            KeyCode::Char('q') => *ask = Some(StopAsk { quit: true, focus: Button::Cancel }),
            KeyCode::Esc | KeyCode::Char('c') if !*cancelling => {
                *ask = Some(StopAsk { quit: false, focus: Button::Cancel })
            }
            _ => out = Outcome::none(),
        },
        Some(a) => match k.code {
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('h' | 'l') => {
                a.focus = if a.focus == Button::Cancel { Button::Confirm } else { Button::Cancel };
            }
            KeyCode::Enter if a.focus == Button::Confirm && a.quit => {
                // The worker gives the action a grace period, then cancels it.
                s.quit = true;
                *ask = None;
                out = Outcome::cmd(Cmd::Quit);
            }
            KeyCode::Enter if a.focus == Button::Confirm => {
                *ask = None;
                *cancelling = true;
                out = Outcome::cmd(Cmd::CancelAction);
            }
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') => *ask = None,
            _ if ctrl_c => *ask = None,
            _ => out = Outcome::none(),
        },
    }
    s.dialog = Some(d);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn running() -> AppState {
        let mut s = AppState::new("nats://x".into(), "t".into(), crate::app::table::Clock { now_unix: 100 });
        s.dialog = Some(Dialog::progress("grant x".into()));
        s
    }

    fn press(s: &mut AppState, k: KeyEvent) -> Outcome {
        let d = s.dialog.take().unwrap();
        on_key(s, d, k)
    }

    #[test]
    fn cancelling_a_running_action_asks_first_with_cancel_focused() {
        let mut s = running();
        assert!(press(&mut s, key(KeyCode::Char('c'))).cmds.is_empty());
        assert!(matches!(
            &s.dialog,
            Some(Dialog::Progress { ask: Some(StopAsk { quit: false, focus: Button::Cancel }), .. })
        ));
        // Enter on the default button keeps it running.
        assert!(press(&mut s, key(KeyCode::Enter)).cmds.is_empty());
        assert!(matches!(&s.dialog, Some(Dialog::Progress { ask: None, cancelling: false, .. })));
        press(&mut s, key(KeyCode::Esc));
        press(&mut s, key(KeyCode::Right));
        assert_eq!(press(&mut s, key(KeyCode::Enter)).cmds, vec![Cmd::CancelAction]);
        assert!(matches!(&s.dialog, Some(Dialog::Progress { cancelling: true, done: None, .. })));
    }

    #[test]
    fn q_and_ctrl_c_ask_to_quit_and_are_not_swallowed() {
        let mut s = running();
        press(&mut s, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(matches!(&s.dialog, Some(Dialog::Progress { ask: Some(StopAsk { quit: true, .. }), .. })));
        press(&mut s, key(KeyCode::Esc));
        press(&mut s, key(KeyCode::Char('q')));
        press(&mut s, key(KeyCode::Left));
        assert_eq!(press(&mut s, key(KeyCode::Enter)).cmds, vec![Cmd::Quit]);
        assert!(s.quit);
    }

    #[test]
    fn a_finished_action_closes_on_q() {
        let mut s = running();
        on_done(&mut s, ActionReport::new("grant", "x"));
        press(&mut s, key(KeyCode::Char('q')));
        assert!(s.dialog.is_none());
        assert!(!s.quit);
    }
}
