//! `render(&state, theme, frame)`: a pure function of the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};

use super::chrome;
use super::overlay::{self, MIN_HEIGHT, MIN_WIDTH};
use super::table::{self, TableView};
use super::theme::Theme;
use crate::app::permissions::TestRow;
use crate::app::state::{AppState, Panel, ViewId};
use crate::app::table::TableRow;

pub fn render(s: &AppState, th: &Theme, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        overlay::too_small(f, area, th);
        return;
    }
    let [head, body, foot] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    chrome::header(f, head, s, th);
    let (list, side) = split_for_detail(body, s.detail);
    match s.view {
        ViewId::Servers => draw_panel(f, list, side, s, th, &s.servers, "Servers"),
        ViewId::Conns => draw_panel(f, list, side, s, th, &s.conns, "Connections"),
        ViewId::Entries => draw_panel(f, list, side, s, th, &s.entries, "SPIRE entries"),
        ViewId::SpiffeIds => draw_panel(f, list, side, s, th, &s.spiffe_ids, "ClusterSPIFFEIDs"),
        ViewId::Agents => draw_panel(f, list, side, s, th, &s.agents, "SPIRE agents"),
        ViewId::Permissions => match &s.tester_subject {
            // The tester's answers take the place of the detail pane.
            Some(subj) => {
                let (list, side) = split_for_detail(body, true);
                draw_panel(f, list, None, s, th, &s.perms, "Permissions");
                let cols = TestRow::columns();
                let title = format!("Who may use {subj}");
                table::draw(f, side.unwrap_or(list), th, view_table(s, &s.tester, &cols, &title));
            }
            None => draw_panel(f, list, side, s, th, &s.perms, "Permissions"),
        },
        ViewId::Accounts => draw_panel(f, list, side, s, th, &s.accounts, "Accounts"),
        ViewId::Identities => draw_panel(f, list, side, s, th, &s.identities, "Identities"),
        ViewId::Expiry => draw_panel(f, list, side, s, th, &s.expiry, "Expiry"),
    }
    chrome::footer(f, foot, s, th);
    if s.help {
        overlay::help(f, area, th, s.help_scroll);
    }
    if let Some(d) = &s.dialog {
        super::dialog::draw(f, area, th, d);
    }
}

/// A table view of `panel`, with the selected row's detail in `side`.
fn draw_panel<R: TableRow>(
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
        overlay::detail(f, area, th, &r.detail_title(), &r.detail(&s.clock));
    }
}

/// Wide terminals get the detail on the right, narrow ones below.
fn split_for_detail(body: Rect, detail: bool) -> (Rect, Option<Rect>) {
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
        format!(" {name} [{}/{}] /{} ", t.visible.len(), p.rows.len(), t.filter)
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
    } else if let Some(why) = &p.stale {
        why.clone()
    } else if let Some(n) = s.conn.notice.as_ref().filter(|_| !s.view.is_kube()) {
        n.clone()
    } else if !t.filter.is_empty() {
        format!("no rows match /{}", t.filter)
    } else {
        "no rows".to_string()
    };
    TableView { title, columns: cols, rows: &p.rows, state: t, clock: &s.clock, empty }
}

fn hms(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.format("%H:%M:%SZ").to_string()).unwrap_or_default()
}
