//! A running action's steps and its outcome, shown in the progress dialog.

use super::model::Dialog;
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
