//! `render(&state, theme, frame)`: a pure function of the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};

use super::chrome;
use super::overlay::{self, MIN_HEIGHT, MIN_WIDTH};
use super::table::{self, TableView};
use super::theme::Theme;
use crate::app::state::{AppState, Panel, ViewId};
use crate::app::{conns, servers};

pub fn render(s: &AppState, th: &Theme, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        overlay::too_small(f, area, th);
        return;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::header(f, head, s, th);
    let (list, side) = split_for_detail(body, s.detail);
    match s.view {
        ViewId::Servers => {
            let cols = servers::columns();
            table::draw(f, list, th, view_table(s, &s.servers, &cols, "Servers"));
            if let (Some(area), Some(r)) = (
                side,
                s.servers
                    .table
                    .selected_index()
                    .and_then(|i| s.servers.rows.get(i)),
            ) {
                overlay::detail(
                    f,
                    area,
                    th,
                    &format!("server {}", r.name),
                    &servers::detail(r, &s.clock),
                );
            }
        }
        ViewId::Conns => {
            let cols = conns::columns();
            table::draw(f, list, th, view_table(s, &s.conns, &cols, "Connections"));
            if let (Some(area), Some(r)) = (
                side,
                s.conns
                    .table
                    .selected_index()
                    .and_then(|i| s.conns.rows.get(i)),
            ) {
                overlay::detail(
                    f,
                    area,
                    th,
                    &format!("connection {} on {}", r.info.cid, r.server),
                    &conns::detail(r, &s.clock),
                );
            }
        }
    }
    chrome::footer(f, foot, s, th);
    if s.help {
        overlay::help(f, area, th);
    }
}

/// Wide terminals get the detail on the right, narrow ones below.
fn split_for_detail(body: Rect, detail: bool) -> (Rect, Option<Rect>) {
    if !detail {
        return (body, None);
    }
    let dir = if body.width >= 120 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let parts = Layout::default()
        .direction(dir)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(body);
    (parts[0], Some(parts[1]))
}

fn view_table<'a, R>(
    s: &'a AppState,
    p: &'a Panel<R>,
    cols: &'a [crate::app::table::Column<R>],
    name: &str,
) -> TableView<'a, R> {
    let t = &p.table;
    let mut title = if t.filter.is_empty() {
        format!(" {name} [{}] ", p.rows.len())
    } else {
        format!(
            " {name} [{}/{}] /{} ",
            t.visible.len(),
            p.rows.len(),
            t.filter
        )
    };
    if let Some(why) = &p.stale {
        let when = p.fetched_at.map(hms).unwrap_or_else(|| "never".into());
        title.push_str(&format!("STALE since {when}: {why} "));
    } else if let Some(at) = p.fetched_at {
        title.push_str(&format!("updated {} ", hms(at)));
    }
    if !p.errors.is_empty() {
        title.push_str(&format!("! {} ", p.errors.join("; ")));
    }
    let empty = if p.fetched_at.is_none() && p.stale.is_none() {
        "loading…".to_string()
    } else if let Some(n) = &s.conn.notice {
        n.clone()
    } else if !t.filter.is_empty() {
        format!("no rows match /{}", t.filter)
    } else {
        "no rows".to_string()
    };
    TableView {
        title,
        columns: cols,
        rows: &p.rows,
        state: t,
        clock: &s.clock,
        empty,
    }
}

fn hms(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
