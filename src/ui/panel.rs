//! One table view with its title (count, filter, freshness, errors) and
//! the selected row's detail beside or below it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};

use super::overlay;
use super::table::{self, TableView};
use super::theme::Theme;
use crate::app::panel::Panel;
use crate::app::state::AppState;
use crate::app::table::{Column, TableRow};

/// A table view of `panel`, with the selected row's detail in `side`.
pub fn draw_panel<R: TableRow>(
    f: &mut Frame,
    list: Rect,
    side: Option<Rect>,
    s: &AppState,
    th: &Theme,
    p: &Panel<R>,
    name: &str,
) {
    let cols = R::columns();
    table::draw(f, list, th, view_table(s, p, &cols, name));
    if let (Some(area), Some(r)) = (side, p.selected()) {
        overlay::detail(f, area, th, &r.detail_title(), &r.detail(&s.clock), s.detail_scroll);
    }
}

/// Wide terminals get the detail on the right, narrow ones below.
pub fn split_for_detail(body: Rect, detail: bool) -> (Rect, Option<Rect>) {
    if !detail {
        return (body, None);
    }
    let dir = if body.width >= 120 { Direction::Horizontal } else { Direction::Vertical };
    let parts = Layout::default()
        .direction(dir)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(body);
    (parts[0], Some(parts[1]))
}

pub fn view_table<'a, R: TableRow>(
    s: &'a AppState,
    p: &'a Panel<R>,
    cols: &'a [Column<R>],
    name: &str,
) -> TableView<'a, R> {
    let t = &p.table;
    let mut title = if t.filter.is_empty() {
        format!(" {name} [{}] ", p.rows.len())
    } else {
        format!(" {name} [{}/{}] /{} ", t.visible.len(), p.rows.len(), t.filter)
    };
    if let Some(e) = &t.filter_error {
        title.push_str(&format!("invalid regex: {e} "));
    }
    if let Some(why) = &p.stale {
        let when = p.fetched_at.map(hms).unwrap_or_else(|| "never".into());
        title.push_str(&format!("STALE since {when}: {why} "));
    } else if let Some(at) = p.fetched_at {
        title.push_str(&format!("updated {} ", hms(at)));
    }
    if !p.errors.is_empty() {
        title.push_str(&format!("! {} ", p.errors.join("; ")));
    }
    let empty = if p.fetched_at.is_none() && p.stale.is_none() && s.conn.link_error.is_none() {
        "loading…".to_string()
    } else if let Some(why) = s.conn.link_error.as_ref().filter(|_| !s.view.is_kube()) {
        format!("cannot connect to NATS: {why}")
    } else if let Some(n) = s.conn.notice.as_ref().filter(|_| !s.view.is_kube()) {
        // Said before a stale "no server answered": the notice says why.
        n.clone()
    } else if let Some(why) = &p.stale {
        why.clone()
    } else if let Some(e) = &t.filter_error {
        format!("/{} is not a valid regular expression: {e}", t.filter)
    } else if !t.filter.is_empty() {
        format!("no rows match /{}", t.filter)
    } else {
        "no rows".to_string()
    };
    TableView { title, columns: cols, rows: &p.rows, state: t, clock: &s.clock, empty, tone: R::tone }
}

pub fn hms(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.format("%H:%M:%SZ").to_string()).unwrap_or_default()
}
