//! Header (connection banner, view tabs) and footer (command/filter line,
//! status, key hints).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::keys;
use crate::app::kube_state::KubeLink;
use crate::app::state::{AppState, Level, Link, Mode};
use crate::app::view_id::ViewId;

pub fn header(f: &mut Frame, area: Rect, s: &AppState, th: &Theme) {
    let (dot, link, link_style) = match &s.conn.link {
        Link::Connecting => ("◌", "connecting".to_string(), th.warn),
        Link::Connected => ("●", "connected".to_string(), th.ok),
        Link::Reconnecting(n) => ("◌", format!("reconnecting (attempt {n})"), th.warn),
        Link::Disconnected => ("○", "disconnected".to_string(), th.error),
        Link::Closed => ("○", "closed".to_string(), th.error),
    };
    let mut banner = vec![Span::styled(" warden ", th.title), Span::styled(format!("{dot} {link} "), link_style)];
    // The violation rate comes early: it must survive narrow terminals.
    super::violations_ui::banner(&mut banner, s, th);
    banner.push(Span::styled(format!("{} ", s.conn.url), th.text));
    banner.push(Span::styled(format!("({}) ", s.conn.source), th.muted));
    // The Kubernetes context every view and action uses now (`:ctx`
    // switches it); nothing while connecting or when Kubernetes is off.
    match &s.kube.link {
        KubeLink::Connected { context } => {
            banner.push(Span::styled("k8s ", th.muted));
            banner.push(Span::styled(format!("{context} "), th.accent));
        }
        KubeLink::Failed(_) => banner.push(Span::styled("k8s unreachable ", th.error)),
        KubeLink::Connecting | KubeLink::Off(_) => {}
    }
    if let Some(a) = &s.conn.account {
        banner.push(Span::styled("account ", th.muted));
        banner.push(Span::styled(format!("{} ", s.account_label(a)), th.accent));
    }
    if let Some(u) = &s.conn.user {
        banner.push(Span::styled("user ", th.muted));
        banner.push(Span::styled(format!("{} ", s.user_label(u)), th.text));
    }
    if s.read_only {
        banner.push(Span::styled("[read-only]", th.warn));
    }
    f.render_widget(Paragraph::new(Line::from(banner)), Rect { height: 1, ..area });

    // Every tab with its count when that fits; else names with the current
    // one's count; else short names. Always the number to press; a view
    // past the tenth has no number and shows (as `:name`) only when current.
    let shown: Vec<(usize, ViewId)> =
        ViewId::ALL.iter().copied().enumerate().filter(|(n, v)| *n < 10 || *v == s.view).collect();
    // Tier k: (names of the others, name of the current one, counts on all).
    let tier = |others_short: bool, current_short: bool, all_counts: bool| -> Vec<String> {
        shown
            .iter()
            .map(|&(n, v)| {
                let current = v == s.view;
                let short = if current { current_short } else { others_short };
                let name = if short { v.short() } else { v.tab() };
                let key = if n < 10 { ((n + 1) % 10).to_string() } else { String::new() };
                if current || all_counts {
                    format!(" {key}:{name}({}) ", s.row_count(v))
                } else {
                    format!(" {key}:{name} ")
                }
            })
            .collect()
    };
    let tiers =
        [tier(false, false, true), tier(false, false, false), tier(true, false, false), tier(true, true, false)];
    let fits = |l: &Vec<String>| l.iter().map(|t| t.chars().count()).sum::<usize>() <= area.width as usize;
    let labels = tiers.iter().find(|l| fits(l)).unwrap_or(&tiers[3]).clone();
    let mut tabs = Vec::new();
    for (label, (_, v)) in labels.into_iter().zip(shown) {
        let style = if v == s.view { th.selected.patch(th.accent) } else { th.muted };
        tabs.push(Span::styled(label, style));
    }
    if let Some(n) = &s.conn.notice {
        tabs.push(Span::styled(format!(" ⚠ {n}"), th.warn));
    }
    if area.height > 1 {
        f.render_widget(Paragraph::new(Line::from(tabs)), Rect { y: area.y + 1, height: 1, ..area });
    }
}

pub fn footer(f: &mut Frame, area: Rect, s: &AppState, th: &Theme) {
    let line = match &s.mode {
        Mode::Command(input) => {
            let (_, matches) = keys::complete(input.value());
            let hint = if input.value().is_empty() { String::new() } else { format!("   {}", matches.join(" ")) };
            place_cursor(f, area, 1 + input.visual_cursor());
            Line::from(vec![
                Span::styled(":", th.accent),
                Span::styled(input.value().to_string(), th.text),
                Span::styled(hint, th.muted),
            ])
        }
        Mode::Tester(input) => {
            place_cursor(f, area, 9 + input.visual_cursor());
            Line::from(vec![Span::styled("subject: ", th.accent), Span::styled(input.value().to_string(), th.text)])
        }
        Mode::Filter(input) => {
            place_cursor(f, area, 1 + input.visual_cursor());
            Line::from(vec![Span::styled("/", th.accent), Span::styled(input.value().to_string(), th.text)])
        }
        Mode::Normal => match &s.status {
            Some((lvl, text)) => {
                let st: Style = match lvl {
                    Level::Info => th.text,
                    Level::Warn => th.warn,
                    Level::Error => th.error,
                };
                Line::styled(text.clone(), st)
            }
            None => hints(th, s),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

fn place_cursor(f: &mut Frame, area: Rect, x: usize) {
    let x = area.x.saturating_add(x.min(u16::MAX as usize) as u16).min(area.right().saturating_sub(1));
    f.set_cursor_position(Position { x, y: area.y });
}

fn hints(th: &Theme, s: &AppState) -> Line<'static> {
    let mut spans = Vec::new();
    for (k, what) in keys::footer_keys(s.view, s.read_only) {
        spans.push(Span::styled(format!("<{k}>"), th.accent));
        spans.push(Span::styled(format!(" {what}  "), th.muted));
    }
    Line::from(spans)
}
