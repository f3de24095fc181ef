//! Drawing of the Violations view (live list and grouped sub-view) and the
//! banner's per-minute counter. Reads state only; O(visible rows).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::overlay;
use super::panel::{draw_panel, hms};
use super::table::{self, TableView};
use super::theme::Theme;
use crate::app::state::AppState;
use crate::app::table::TableRow;
use crate::app::violations::rows::{ViolationRow, live_columns};

/// `N viol/min` in the banner once anything was seen; warn style when the
/// rate jumped.
pub fn banner(spans: &mut Vec<Span<'static>>, s: &AppState, th: &Theme) {
    let v = &s.violations;
    if v.pipeline.store.totals().ingested == 0 {
        return;
    }
    let style = if v.rate_jumped { th.warn } else { th.muted };
    let mark = if v.rate_jumped { "▲ " } else { "" };
    spans.push(Span::styled(format!("{mark}{} viol/min ", v.per_minute), style));
}

fn sources_note(s: &AppState) -> String {
    let v = &s.violations;
    let failing: Vec<String> =
        v.sources.iter().filter_map(|x| x.state.as_ref().err().map(|e| format!("{}: {e}", x.name))).collect();
    if !failing.is_empty() {
        return format!("! {} ", failing.join("; "));
    }
    String::new()
}

pub fn draw(f: &mut Frame, list: Rect, side: Option<Rect>, s: &AppState, th: &Theme) {
    let v = &s.violations;
    if v.grouped {
        let title = "Violations by identity x subject x kind";
        draw_panel(f, list, side, s, th, &v.groups, title);
        return;
    }
    let live = &v.live;
    let t = &live.table;
    let mut title = if t.filter.is_empty() {
        format!(" Violations [{}] ", live.len())
    } else {
        format!(" Violations [{}/{}] /{} ", live.matched(), live.len(), t.filter)
    };
    if v.paused {
        title.push_str(&format!("PAUSED (+{} new, p follows) ", v.unseen));
    } else {
        title.push_str("following ");
    }
    if let Some(r) = live.newest().next() {
        title.push_str(&format!("last {} ", hms(r.received)));
    }
    title.push_str(&sources_note(s));
    let empty = if let (true, Some(why)) = (v.sources.is_empty(), &s.conn.link_error) {
        format!("cannot connect to NATS ({why}): no system events; logs need --server-log or Kubernetes")
    } else if v.sources.is_empty() {
        "no violation source yet: system events need the system account; logs need --server-log or Kubernetes".into()
    } else if !t.filter.is_empty() {
        format!("no violations match /{}", t.filter)
    } else {
        let names: Vec<&str> = v.sources.iter().filter(|x| x.state.is_ok()).map(|x| x.name.as_str()).collect();
        format!("no violations yet (watching {})", names.join(", "))
    };
    // Borders and the column header: what is left is the page.
    let page = list.height.saturating_sub(3) as usize;
    let (rows, state): (Vec<ViolationRow>, _) = live.window(page);
    let cols = live_columns();
    let tone = <ViolationRow as TableRow>::tone;
    table::draw(
        f,
        list,
        th,
        TableView { title, columns: &cols, rows: &rows, state: &state, clock: &s.clock, empty, tone },
    );
    if let (Some(area), Some(r)) = (side, live.selected()) {
        overlay::detail(f, area, th, &r.detail_title(), &r.detail(&s.clock), s.detail_scroll);
    }
}
