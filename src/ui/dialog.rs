//! Drawing the identity-action dialogs: register form, confirmation (Cancel
//! is the default and is drawn first), and the part-by-part result.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use warden_core::identity::action::request::ActionRequest;

use super::theme::Theme;
use crate::app::dialog::model::{Button, Dialog, FORM_FIELDS, GRANT_FIELDS};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn frame(f: &mut Frame, r: Rect, th: &Theme, title: &str) -> Rect {
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border)
        .title(Line::styled(format!(" {title} "), th.title));
    let inner = block.inner(r);
    f.render_widget(block, r);
    inner
}

/// A form's labelled inputs, the focused one in reverse video, and where
/// the terminal cursor goes.
fn field_lines(
    labels: &[&str],
    fields: &[tui_input::Input],
    focus: usize,
    inner: Rect,
    th: &Theme,
) -> (Vec<Line<'static>>, Option<Position>) {
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, (label, field)) in labels.iter().zip(fields).enumerate() {
        let focused = i == focus;
        lines.push(Line::styled(format!("{label}:"), if focused { th.accent } else { th.muted }));
        let style = if focused { th.selected } else { th.text };
        lines.push(Line::from(vec![Span::raw("  "), Span::styled(format!("{:<40}", field.value()), style)]));
        if focused {
            let x = inner.x + 2 + field.visual_cursor() as u16;
            cursor =
                Some(Position { x: x.min(inner.x + inner.width.saturating_sub(1)), y: inner.y + 2 * i as u16 + 1 });
        }
    }
    (lines, cursor)
}

/// `now_unix`: the state's clock, for a running action's elapsed time.
pub fn draw(f: &mut Frame, area: Rect, th: &Theme, d: &Dialog, now_unix: i64) {
    match d {
        Dialog::Register(form) => {
            let r = centered(area, 70, 14);
            let inner = frame(f, r, th, "Register identity (JWT)");
            let (mut lines, cursor) = field_lines(&FORM_FIELDS, &form.fields, form.focus, inner, th);
            lines.push(Line::raw(""));
            match &form.error {
                Some(e) => lines.push(Line::styled(e.clone(), th.error)),
                None => lines.push(Line::styled("tab next field · enter register · esc cancel", th.muted)),
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            if let Some(p) = cursor {
                f.set_cursor_position(p);
            }
        }
        Dialog::Grant(form) => {
            let r = centered(area, 70, 10);
            let verb = if form.remove { "Ungrant" } else { "Grant" };
            let inner = frame(f, r, th, &format!("{verb} a subject: {}", form.name));
            let (mut lines, cursor) = field_lines(&GRANT_FIELDS, &form.fields, form.focus, inner, th);
            lines.push(Line::raw(""));
            match &form.error {
                Some(e) => lines.push(Line::styled(e.clone(), th.error)),
                None => lines.push(Line::styled(
                    format!("tab next field · enter {} · esc cancel", verb.to_lowercase()),
                    th.muted,
                )),
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            if let Some(p) = cursor {
                f.set_cursor_position(p);
            }
        }
        Dialog::Confirm { request, question, detail, then, focus, .. } => {
            let w = if detail.is_empty() { 64 } else { area.width.saturating_sub(4).clamp(64, 100) };
            let h = (10 + detail.len() as u16).min(area.height);
            let r = centered(area, w, h);
            let inner = frame(f, r, th, &format!("Confirm {}", request.verb()));
            let button =
                |label: &str, on: bool| Span::styled(format!(" {label} "), if on { th.selected } else { th.text });
            let mut lines = vec![Line::styled(question.clone(), th.text)];
            // What the action writes; flagged items (`!!`) stand out.
            for d in detail {
                lines.push(Line::styled(d.clone(), if d.starts_with("!!") { th.error } else { th.text }));
            }
            if then.is_some() {
                lines.push(Line::styled("(a second confirmation follows)", th.muted));
            }
            lines.extend([
                Line::raw(""),
                Line::from(vec![
                    button("Cancel", *focus == Button::Cancel),
                    Span::raw("   "),
                    button(&capital(request.verb()), *focus == Button::Confirm),
                ]),
                Line::styled("←/→ choose · enter · esc cancels", th.muted),
            ]);
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Dialog::Progress { title, steps, done, started, ask, cancelling } => {
            let h = (steps.len() as u16 + 7).clamp(7, area.height);
            let r = centered(area, area.width.saturating_sub(4).min(100), h);
            let inner = frame(f, r, th, title);
            let mut lines: Vec<Line> = steps
                .iter()
                .map(|s| match &s.result {
                    Ok(d) => Line::from(vec![
                        Span::styled("ok   ", th.ok),
                        Span::styled(format!("{}: ", s.step), th.accent),
                        Span::styled(d.clone(), th.text),
                    ]),
                    Err(e) => Line::from(vec![
                        Span::styled("FAIL ", th.error),
                        Span::styled(format!("{}: ", s.step), th.accent),
                        Span::styled(e.clone(), th.text),
                    ]),
                })
                .collect();
            lines.push(Line::raw(""));
            let elapsed = started.map_or(0, |t| (now_unix - t).max(0));
            let last = match (done, ask) {
                (None, Some(a)) => {
                    let button = |label: &str, on: bool| {
                        Span::styled(format!(" {label} "), if on { th.selected } else { th.text })
                    };
                    let q = if a.quit {
                        "Quit warden? The running action is cancelled where it is (after a short grace)."
                    } else {
                        "Cancel the running action? Steps already done stay done."
                    };
                    lines.push(Line::styled(q, th.warn));
                    Line::from(vec![
                        button("Keep running", a.focus == Button::Cancel),
                        Span::raw("   "),
                        button(if a.quit { "Quit" } else { "Stop it" }, a.focus == Button::Confirm),
                    ])
                }
                (None, None) if *cancelling => Line::styled(format!("cancelling… ({elapsed}s)"), th.warn),
                (None, None) => Line::styled(format!("running… {elapsed}s · c cancels · q quits"), th.warn),
                (Some("ok"), _) => Line::styled("done · enter/esc closes", th.ok),
                (Some(o), _) => Line::styled(format!("{o} · enter/esc closes"), th.error),
            };
            lines.push(last);
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}
