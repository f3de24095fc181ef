//! Popups and side panes: help (generated from the keymap), row detail,
//! "terminal too small".

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::format;
use crate::app::keys::{COMMANDS, KEYMAP};
use crate::app::state::Describe;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

pub fn too_small(f: &mut Frame, area: Rect, th: &Theme) {
    let text = vec![
        Line::styled("terminal too small", th.warn),
        Line::styled(format!("{}x{}, need at least {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height), th.text),
        Line::styled("q quits", th.muted),
    ];
    let y = area.y + area.height.saturating_sub(3) / 2;
    f.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        Rect { y, height: area.height.min(3), ..area },
    );
}

/// The help, generated from the keymap and the command table; one column
/// that scrolls (↑/↓) when it is taller than the screen.
/// In read-only mode the keys of mutating actions are not listed.
pub fn help(f: &mut Frame, area: Rect, th: &Theme, scroll: u16, read_only: bool) {
    let mut lines = vec![Line::styled("Keys", th.header)];
    lines.extend(
        KEYMAP.iter().filter(|b| !(read_only && b.action.mutates())).map(|b| {
            Line::from(vec![Span::styled(format!("{:<12}", b.label), th.accent), Span::styled(b.help, th.text)])
        }),
    );
    if read_only {
        lines.push(Line::styled("read-only: register, approve, deny, renew, revoke, grant and kick are off", th.warn));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Commands", th.header));
    for (name, _, what) in COMMANDS {
        lines.push(Line::from(vec![Span::styled(format!(":{name:<11}"), th.accent), Span::styled(*what, th.text)]));
    }
    let w = area.width.min(72);
    let h = (lines.len() as u16 + 2).min(area.height);
    let fits = lines.len() as u16 + 2 <= area.height;
    let max_scroll = (lines.len() as u16 + 2).saturating_sub(h);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    f.render_widget(Clear, r);
    let title = if fits { " Help (esc closes) " } else { " Help (↑↓ scroll, esc closes) " };
    let block = Block::default().borders(Borders::ALL).border_style(th.border).title(Line::styled(title, th.title));
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll.min(max_scroll), 0)), r);
}

/// A row's fields, scrolled to `scroll` (clamped so the last line stays at
/// the bottom); the title says where it is when it does not all fit.
pub fn detail(f: &mut Frame, area: Rect, th: &Theme, title: &str, fields: &[(&str, String)], scroll: u16) {
    let key_w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    // A value of several lines (claims JSON) continues under its first line.
    let lines: Vec<Line> =
        fields
            .iter()
            .flat_map(|(k, v)| {
                let mut parts = v.split('\n');
                let first = parts.next().unwrap_or_default().to_string();
                std::iter::once(Line::from(vec![
                    Span::styled(format!("{k:<key_w$} "), th.muted),
                    Span::styled(first, th.text),
                ]))
                .chain(parts.map(move |p| {
                    Line::from(vec![Span::raw(" ".repeat(key_w + 1)), Span::styled(p.to_string(), th.text)])
                }))
            })
            .collect();
    // Lines once wrapped to the pane's inner width.
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    let inner_h = area.height.saturating_sub(2) as usize;
    let total: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner_w)).sum();
    let max_scroll = total.saturating_sub(inner_h);
    let scroll = (scroll as usize).min(max_scroll);
    let title = if max_scroll == 0 {
        format!(" {title} ")
    } else {
        format!(" {title} [{}-{}/{total}, J/K scroll] ", scroll + 1, (scroll + inner_h).min(total))
    };
    let block = Block::default().borders(Borders::ALL).border_style(th.border).title(Line::styled(title, th.title));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll.min(u16::MAX as usize) as u16, 0)),
        area,
    );
}

/// The describe view over the body: the record as text, one line each, no
/// wrapping (YAML and JSON keep their indentation), scrolled.
pub fn describe(f: &mut Frame, area: Rect, th: &Theme, d: &Describe) {
    let lines: Vec<Line> = d.text.lines().map(|l| Line::styled(format::printable(l).into_owned(), th.text)).collect();
    let inner_h = area.height.saturating_sub(2) as usize;
    let total = lines.len();
    let scroll = (d.scroll as usize).min(total.saturating_sub(1));
    let title = format!(
        " {} [{}-{}/{total}] esc closes, j/k scroll, c copies ",
        d.title,
        scroll + 1,
        (scroll + inner_h).min(total)
    );
    let block = Block::default().borders(Borders::ALL).border_style(th.border).title(Line::styled(title, th.title));
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll.min(u16::MAX as usize) as u16, 0)), area);
}
