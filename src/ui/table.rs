//! A virtualized table: only the rows in the viewport are turned into widgets,
//! so 100k rows cost what 30 do. Columns that do not fit are dropped by
//! priority instead of squeezing every column unreadably.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState as WidgetState};

use super::theme::Theme;
use crate::app::table::{Clock, Column, TableState};

pub struct TableView<'a, R> {
    pub title: String,
    pub columns: &'a [Column<R>],
    pub rows: &'a [R],
    pub state: &'a TableState,
    pub clock: &'a Clock,
    /// What to say when there are no rows to show.
    pub empty: String,
}

/// The columns to show in `width` cells, in their original order, with the
/// width each gets. Columns are taken by priority; one that does not fit is
/// skipped, except an essential (priority 0) one, which gets what is left
/// (if at least 8 cells) and ends the choice: a narrow terminal never trades
/// an essential column for a minor one.
pub fn fit_columns<R>(columns: &[Column<R>], width: u16) -> Vec<(usize, u16)> {
    const MIN_CUT: u16 = 8;
    let mut by_priority: Vec<usize> = (0..columns.len()).collect();
    by_priority.sort_by_key(|&i| (columns[i].priority, i));
    let mut used = 0u16;
    let mut keep = Vec::new();
    for i in by_priority {
        let w = columns[i].width;
        let left = width.saturating_sub(used);
        if w < left || keep.is_empty() {
            used = used.saturating_add(w + 1);
            keep.push((i, w));
        } else if columns[i].priority == 0 {
            // An essential column is cut rather than dropped, and nothing
            // of lower priority takes its place.
            if left > MIN_CUT {
                keep.push((i, left - 1));
            }
            break;
        }
    }
    keep.sort_unstable();
    keep
}

pub fn draw<R>(f: &mut Frame, area: Rect, theme: &Theme, t: TableView<'_, R>) {
    let block =
        Block::default().borders(Borders::ALL).border_style(theme.border).title(Line::styled(t.title, theme.title));
    let inner = block.inner(area);
    let page = inner.height.saturating_sub(1) as usize;
    if t.state.visible.is_empty() {
        f.render_widget(block, area);
        if inner.height > 1 {
            let msg = Paragraph::new(t.empty).style(theme.muted).centered();
            f.render_widget(msg, Rect { y: inner.y + inner.height / 2, height: 1, ..inner });
        }
        return;
    }
    let cols = fit_columns(t.columns, inner.width);
    let header = Row::new(cols.iter().map(|&(i, _)| Cell::from(t.columns[i].title))).style(theme.header);
    let window = t.state.window(page);
    let start = window.start;
    let rows = t.state.visible[window]
        .iter()
        .filter_map(|&ri| t.rows.get(ri))
        .map(|r| Row::new(cols.iter().map(|&(i, _)| Cell::from((t.columns[i].cell)(r, t.clock)))).style(theme.text));
    let last = cols.len().saturating_sub(1);
    let widths =
        cols.iter().enumerate().map(|(n, &(_, w))| if n == last { Constraint::Min(w) } else { Constraint::Length(w) });
    let table =
        Table::new(rows, widths).header(header).block(block).column_spacing(1).row_highlight_style(theme.selected);
    let mut ws = WidgetState::default().with_selected(Some(t.state.selected.saturating_sub(start)));
    f.render_stateful_widget(table, area, &mut ws);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_low_priority_columns() {
        let c = |title, width, priority| Column::<()> { title, width, priority, cell: |_, _| String::new() };
        let cols = vec![c("A", 10, 0), c("B", 10, 3), c("C", 10, 1), c("D", 10, 2), c("E", 10, 0)];
        let idx = |w| fit_columns(&cols, w).into_iter().map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(idx(100), vec![0, 1, 2, 3, 4]);
        assert_eq!(idx(44), vec![0, 2, 3, 4]);
        assert_eq!(idx(33), vec![0, 2, 4]);
        assert_eq!(idx(5), vec![0]);
        // Essential E is cut to what is left rather than dropped for C or D.
        assert_eq!(fit_columns(&cols, 20), vec![(0, 10), (4, 8)]);
        assert_eq!(fit_columns(&cols, 19), vec![(0, 10)]);
    }
}
