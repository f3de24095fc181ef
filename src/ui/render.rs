//! `render(&state, theme, frame)`: a pure function of the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use super::chrome;
use super::overlay::{self, MIN_HEIGHT, MIN_WIDTH};
use super::panel::{draw_panel, split_for_detail, view_table};
use super::table;
use super::theme::Theme;
use crate::app::permissions::TestRow;
use crate::app::state::AppState;
use crate::app::table::TableRow;
use crate::app::view_id::ViewId;

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
        ViewId::Conns if s.show_closed => {
            draw_panel(f, list, side, s, th, &s.closed, "Closed connections (C: open ones)")
        }
        ViewId::Conns => draw_panel(f, list, side, s, th, &s.conns, "Connections"),
        ViewId::Entries => draw_panel(f, list, side, s, th, &s.entries, "SPIRE entries"),
        ViewId::SpiffeIds => draw_panel(f, list, side, s, th, &s.spiffe_ids, "ClusterSPIFFEIDs"),
        ViewId::StaticEntries => draw_panel(f, list, side, s, th, &s.static_entries, "ClusterStaticEntries"),
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
        ViewId::Doctor => draw_panel(f, list, side, s, th, &s.doctor, "Doctor"),
        ViewId::Violations => super::violations_ui::draw(f, list, side, s, th),
    }
    if let Some(d) = &s.describe {
        overlay::describe(f, body, th, d);
    }
    chrome::footer(f, foot, s, th);
    if s.help {
        overlay::help(f, area, th, s.help_scroll, s.read_only);
    }
    if let Some(d) = &s.dialog {
        super::dialog::draw(f, area, th, d, s.clock.now_unix);
    }
}
