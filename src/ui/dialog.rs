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
/// the terminal cursor goes. A value wider than the dialog scrolls
/// sideways around the cursor on its one line (marked `…` where text is
/// out of sight), so a long value never pushes the lines below it out.
fn field_lines(
    labels: &[&str],
    fields: &[tui_input::Input],
    focus: usize,
    inner: Rect,
    th: &Theme,
) -> (Vec<Line<'static>>, Option<Position>) {
    let avail = inner.width.saturating_sub(2).max(3) as usize;
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, (label, field)) in labels.iter().zip(fields).enumerate() {
        let focused = i == focus;
        lines.push(Line::styled(format!("{label}:"), if focused { th.accent } else { th.muted }));
        let style = if focused { th.selected } else { th.text };
        let (shown, at) = field_window(field.value(), field.visual_cursor(), avail);
        lines.push(Line::from(vec![Span::raw("  "), Span::styled(format!("{shown:<40}"), style)]));
        if focused {
            let x = inner.x + 2 + at as u16;
            cursor =
                Some(Position { x: x.min(inner.x + inner.width.saturating_sub(1)), y: inner.y + 2 * i as u16 + 1 });
        }
    }
    (lines, cursor)
}

/// The part of `value` (printable) that fits in `avail` cells with the
/// cursor in it, and the cursor's column in that part.
fn field_window(value: &str, cursor: usize, avail: usize) -> (String, usize) {
    let chars: Vec<char> = crate::app::format::printable(value).chars().collect();
    if chars.len() < avail {
        return (chars.into_iter().collect(), cursor.min(avail));
    }
    // Room for the cursor after the last character, and for the marks.
    let body = avail.saturating_sub(2).max(1);
    let cursor = cursor.min(chars.len());
    let start = cursor.saturating_sub(body.saturating_sub(1)).min(chars.len().saturating_sub(body));
    let end = (start + body).min(chars.len());
    let mut shown = String::new();
    shown.push(if start > 0 { '…' } else { ' ' });
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, cursor - start + 1)
}

/// Lines `text` takes wrapped at `width` cells, word by word as the
/// paragraph wraps it (a word longer than a line is broken), plus one for
/// the wrapper's own choices.
fn wrapped_lines(text: &str, width: u16) -> u16 {
    let width = width.max(1) as usize;
    let (mut lines, mut used) = (1usize, 0usize);
    for word in text.split(' ') {
        let w = crate::app::format::display_width(word);
        let need = if used == 0 { w } else { used + 1 + w };
        if need <= width {
            used = need;
        } else {
            lines += usize::from(used > 0) + w.saturating_sub(1) / width;
            used = if w > width { w % width } else { w };
        }
    }
    let slack = usize::from(lines > 1);
    (lines + slack).min(u16::MAX as usize) as u16
}

/// Labels, inputs, the focused one, the least height.
type FormIn<'a> = (&'a [&'a str], &'a [tui_input::Input], usize, u16);

/// A form dialog: fields, then the error (the dialog grows to hold it; cut
/// with `…` only when the terminal is too short) or the hint.
fn form(f: &mut Frame, area: Rect, th: &Theme, title: &str, f_in: FormIn, below: Line) {
    let (labels, fields, focus, min_h) = f_in;
    let w = 70.min(area.width);
    let inner_w = w.saturating_sub(2);
    let below_text: String = below.spans.iter().map(|sp| sp.content.as_ref()).collect();
    let below_h = wrapped_lines(&below_text, inner_w);
    let h = (2 * labels.len() as u16 + 1 + below_h + 2).max(min_h).min(area.height);
    let r = centered(area, w, h);
    let inner = frame(f, r, th, title);
    let (mut lines, cursor) = field_lines(labels, fields, focus, inner, th);
    lines.push(Line::raw(""));
    let room = inner.height.saturating_sub(lines.len() as u16).max(1) as usize * inner_w.max(1) as usize;
    let style = below.style;
    let below = if crate::app::format::display_width(&below_text) > room {
        Line::styled(crate::app::format::fit(&below_text, room, crate::app::table::Cut::End).into_owned(), style)
    } else {
        below
    };
    lines.push(below);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some(p) = cursor {
        f.set_cursor_position(p);
    }
}

/// `now_unix`: the state's clock, for a running action's elapsed time.
pub fn draw(f: &mut Frame, area: Rect, th: &Theme, d: &Dialog, now_unix: i64) {
    match d {
        Dialog::Register(form) => {
            let below = match &form.error {
                Some(e) => Line::styled(crate::app::format::printable(e).into_owned(), th.error),
                None => Line::styled("tab next field · enter register · esc cancel", th.muted),
            };
            let fields = (&FORM_FIELDS[..], &form.fields[..], form.focus, 14);
            self::form(f, area, th, "Register identity (JWT)", fields, below);
        }
        Dialog::Grant(form) => {
            let verb = if form.remove { "Ungrant" } else { "Grant" };
            let below = match &form.error {
                Some(e) => Line::styled(crate::app::format::printable(e).into_owned(), th.error),
                None => Line::styled(format!("tab next field · enter {} · esc cancel", verb.to_lowercase()), th.muted),
            };
            let title = format!("{verb} a subject: {}", crate::app::format::printable(&form.name.to_string()));
            let title = crate::app::format::fit(&title, 60, crate::app::table::Cut::Middle).into_owned();
            self::form(f, area, th, &title, (&GRANT_FIELDS[..], &form.fields[..], form.focus, 10), below);
        }
        Dialog::Confirm { request, question, detail, then, focus, .. } => {
            let w = if detail.is_empty() { 64 } else { area.width.saturating_sub(4).clamp(64, 100) };
            let inner_w = w.min(area.width).saturating_sub(2);
            let question = crate::app::format::printable(question).into_owned();
            // Question and detail as wrapped; the buttons always keep the
            // last lines (a long name cannot push them out).
            let text_h = wrapped_lines(&question, inner_w)
                + detail.iter().map(|d| wrapped_lines(d, inner_w)).sum::<u16>()
                + u16::from(then.is_some());
            let h = (text_h + 5).min(area.height);
            let r = centered(area, w, h);
            let inner = frame(f, r, th, &format!("Confirm {}", request.verb()));
            let button =
                |label: &str, on: bool| Span::styled(format!(" {label} "), if on { th.selected } else { th.text });
            let mut lines = vec![Line::styled(question, th.text)];
            // What the action writes; flagged items (`!!`) stand out.
            for d in detail {
                lines.push(Line::styled(d.clone(), if d.starts_with("!!") { th.error } else { th.text }));
            }
            if then.is_some() {
                lines.push(Line::styled("(a second confirmation follows)", th.muted));
            }
            let buttons = vec![
                Line::from(vec![
                    button("Cancel", *focus == Button::Cancel),
                    Span::raw("   "),
                    button(&capital(request.verb()), *focus == Button::Confirm),
                ]),
                Line::styled("←/→ choose · enter · esc cancels", th.muted),
            ];
            let text_area = Rect { height: inner.height.saturating_sub(3), ..inner };
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
            let b = Rect { y: inner.y + inner.height.saturating_sub(2), height: inner.height.min(2), ..inner };
            f.render_widget(Paragraph::new(buttons), b);
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
