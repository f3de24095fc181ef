//! `ctrl-s`: the current view as JSON, as it is shown (filter and sort
//! applied), one object per row with the columns' titles as keys and the
//! cells' whole values. Built here (pure); written by the console.

use std::path::PathBuf;

use super::panel::Panel;
use super::state::AppState;
use super::table::{Clock, Column, TableRow};
use super::view_id::ViewId;

/// One row as `{"NAME": "value", ...}`, whole (never cut as on screen).
fn object<R>(cols: &[Column<R>], r: &R, clock: &Clock) -> serde_json::Value {
    serde_json::Value::Object(
        cols.iter().map(|c| (c.title.to_string(), serde_json::Value::String((c.cell)(r, clock)))).collect(),
    )
}

fn panel_rows<R: TableRow>(p: &Panel<R>, clock: &Clock) -> Vec<serde_json::Value> {
    let cols = R::columns();
    p.table.visible.iter().filter_map(|&i| p.rows.get(i)).map(|r| object(&cols, r, clock)).collect()
}

/// The rows of the current view, in display order.
pub fn view_rows(s: &AppState) -> Vec<serde_json::Value> {
    let c = &s.clock;
    match s.view {
        ViewId::Servers => panel_rows(&s.servers, c),
        ViewId::Conns => panel_rows(s.conns_panel(), c),
        ViewId::Entries => panel_rows(&s.entries, c),
        ViewId::SpiffeIds => panel_rows(&s.spiffe_ids, c),
        ViewId::StaticEntries => panel_rows(&s.static_entries, c),
        ViewId::Agents => panel_rows(&s.agents, c),
        ViewId::Permissions => panel_rows(&s.perms, c),
        ViewId::Accounts => panel_rows(&s.accounts, c),
        ViewId::Identities => panel_rows(&s.identities, c),
        ViewId::Expiry => panel_rows(&s.expiry, c),
        ViewId::Doctor => panel_rows(&s.doctor, c),
        ViewId::Violations if s.violations.grouped => panel_rows(&s.violations.groups, c),
        ViewId::Violations => {
            let live = &s.violations.live;
            let cols = super::violations::rows::live_columns();
            (0..live.matched()).filter_map(|pos| live.at(pos)).map(|r| object(&cols, r, c)).collect()
        }
    }
}

/// Where `ctrl-s` writes and what: `<dir>/<view>-<UTC time>.json`.
pub fn save_view(s: &AppState, dir: &std::path::Path) -> (PathBuf, usize, String) {
    let rows = view_rows(s);
    let at = chrono::DateTime::from_timestamp(s.clock.now_unix, 0)
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default();
    let name = if s.view == ViewId::Conns && s.show_closed { "closed-conns" } else { s.view.tab() };
    let path = dir.join(format!("{name}-{at}.json"));
    let text = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
    (path, rows.len(), text)
}

/// Writes a saved view, readable by its owner only (it may name users).
pub fn write(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}
