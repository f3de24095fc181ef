//! Popups and side panes: help (generated from the keymap), row detail,
//! "terminal too small".

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::keys::{COMMANDS, KEYMAP};

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

pub fn help(f: &mut Frame, area: Rect, th: &Theme) {
    let keys: Vec<Line> = KEYMAP
        .iter()
        .map(|b| Line::from(vec![Span::styled(format!("{:<12}", b.label), th.accent), Span::styled(b.help, th.text)]))
        .collect();
    let mut cmds = vec![Line::raw(""), Line::styled("Commands", th.header)];
    for (name, _, what) in COMMANDS {
        cmds.push(Line::from(vec![Span::styled(format!(":{name:<10}"), th.accent), Span::styled(*what, th.text)]));
    }
    // One column when it fits, else keys on the left and commands on the right.
    let one_column = keys.len() + cmds.len() + 3 <= area.height as usize;
    let w = if one_column { area.width.min(72) } else { area.width.min(110) };
    let body_h = if one_column { keys.len() + cmds.len() + 1 } else { keys.len().max(cmds.len()) + 1 };
    let h = (body_h as u16 + 2).min(area.height);
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border)
        .title(Line::styled(" Help (esc closes) ", th.title));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let mut left = vec![Line::styled("Keys", th.header)];
    left.extend(keys);
    if one_column {
        left.extend(cmds);
        f.render_widget(Paragraph::new(left), inner);
    } else {
        let half = inner.width * 11 / 20;
        f.render_widget(Paragraph::new(left), Rect { width: half, ..inner });
        let right = Rect { x: inner.x + half, width: inner.width - half, ..inner };
        f.render_widget(Paragraph::new(cmds).wrap(Wrap { trim: false }), right);
    }
}

pub fn detail(f: &mut Frame, area: Rect, th: &Theme, title: &str, fields: &[(&str, String)]) {
    let key_w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let lines: Vec<Line> = fields
        .iter()
        .map(|(k, v)| {
            Line::from(vec![Span::styled(format!("{k:<key_w$} "), th.muted), Span::styled(v.clone(), th.text)])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.border)
        .title(Line::styled(format!(" {title} "), th.title));
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}
