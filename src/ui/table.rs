//! A virtualized table: only the rows in the viewport are turned into widgets,
//! so 100k rows cost what 30 do. Columns that do not fit are dropped by
//! priority instead of squeezing every column unreadably.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState as WidgetState};

use super::theme::Theme;
use crate::app::format;
use crate::app::table::{Clock, Column, Cut, TableState, Tone};

pub struct TableView<'a, R> {
    pub title: String,
    pub columns: &'a [Column<R>],
    pub rows: &'a [R],
    pub state: &'a TableState,
    pub clock: &'a Clock,
    /// What to say when there are no rows to show.
    pub empty: String,
    /// How each row stands out (by state).
    pub tone: fn(&R, &Clock) -> Tone,
}

/// A row's style for its tone: the theme's colours, and in a theme
/// without colours the bold of `warn` / `error` (the STATE word says the
/// same either way).
pub fn tone_style(theme: &Theme, tone: Tone) -> ratatui::style::Style {
    match tone {
        Tone::Normal => theme.text,
        Tone::Muted => theme.muted,
        Tone::Warn => theme.warn,
        Tone::Bad => theme.error,
    }
}

/// The columns to show in `width` cells, in their original order, with the
/// width each gets. `title[i]` and `cells[i]` are the widths of column `i`'s
/// title and of its widest visible cell (0: every visible cell is empty).
/// A column with nothing to show in the visible rows is not shown (the
/// caller marks the sort column as non-empty). A column first asks for its
/// `width`, or less when its content is narrower; columns are taken by
/// priority, and one that does not
/// fit is skipped, except an essential (priority 0) one, which gets what is
/// left (if at least 8 cells) and ends the choice: a narrow terminal never
/// trades an essential column for a minor one. What is left then goes, in
/// equal shares, to the columns whose content is wider than what they got,
/// so a wide terminal shows long values whole instead of leaving space
/// empty, and no one long column (a NOTE) takes it all.
pub fn fit_columns<R>(columns: &[Column<R>], title: &[u16], cells: &[u16], width: u16) -> Vec<(usize, u16)> {
    const MIN_CUT: u16 = 8;
    // Narrower than this an important column is not worth a minor one.
    const MIN_WORTH: u16 = 12;
    let cells_of = |i: usize| cells.get(i).copied().unwrap_or(columns[i].width);
    let need_of = |i: usize| cells_of(i).max(title.get(i).copied().unwrap_or(0)).max(1);
    let mut by_priority: Vec<usize> = (0..columns.len()).collect();
    by_priority.sort_by_key(|&i| (columns[i].priority, i));
    // Cells used so far, counting one cell of spacing before every column
    // but the first.
    let mut used = 0u16;
    let mut keep: Vec<(usize, u16)> = Vec::new();
    for &i in by_priority.iter().filter(|&&i| cells_of(i) > 0) {
        let w = columns[i].width.min(need_of(i)).max(1);
        let gap = u16::from(!keep.is_empty());
        let left = width.saturating_sub(used);
        if w + gap <= left || keep.is_empty() {
            used = used.saturating_add(w + gap);
            keep.push((i, w.min(width)));
        } else if columns[i].priority == 0 {
            // An essential column is cut rather than dropped, and nothing
            // of lower priority takes its place.
            if left > MIN_CUT {
                keep.push((i, left - gap));
                used = width;
            }
            break;
        }
    }
    // An important column (priority 1-2) that did not fit takes the place
    // of minor ones (priority 4 and up) when that leaves it a useful width:
    // at 80 columns the Identities SCOPE beats USER KEY.
    for &i in by_priority.iter().filter(|&&i| cells_of(i) > 0 && (1..=2).contains(&columns[i].priority)) {
        if keep.iter().any(|&(k, _)| k == i) {
            continue;
        }
        let want = columns[i].width.min(need_of(i)).max(1);
        let floor = want.min(MIN_WORTH);
        let minors: u16 = keep.iter().filter(|(k, _)| columns[*k].priority >= 4).map(|&(_, w)| w + 1).sum::<u16>();
        if minors == 0 || width.saturating_sub(used) + minors < floor + 1 {
            continue;
        }
        while width.saturating_sub(used) < want + 1 {
            let Some(k) = keep
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| columns[*k].priority >= 4)
                .max_by_key(|(_, (k, _))| (columns[*k].priority, *k))
                .map(|(k, _)| k)
            else {
                break;
            };
            let (_, w) = keep.remove(k);
            used = used.saturating_sub(w + 1);
        }
        let w = want.min(width.saturating_sub(used).saturating_sub(1));
        used = used.saturating_add(w + 1);
        keep.push((i, w));
    }
    // Share the rest among the columns that were cut; while an important
    // column (priority 0-2) is still cut, the least important minor one
    // (priority 4 and up) makes way for it.
    let mut spare = width.saturating_sub(used);
    share(&mut keep, &mut spare, &need_of);
    loop {
        let cut = keep.iter().any(|&(i, w)| columns[i].priority <= 2 && w < need_of(i));
        let minor = keep
            .iter()
            .enumerate()
            .filter(|(_, (i, _))| columns[*i].priority >= 4)
            .max_by_key(|(_, (i, _))| (columns[*i].priority, *i))
            .map(|(k, _)| k);
        let (true, Some(k)) = (cut, minor) else { break };
        let (_, w) = keep.remove(k);
        spare += w + 1;
        share(&mut keep, &mut spare, &need_of);
    }
    keep.sort_unstable();
    keep
}

/// Gives `spare` cells, in equal shares, to the kept columns narrower than
/// their content.
fn share(keep: &mut [(usize, u16)], spare: &mut u16, need_of: &impl Fn(usize) -> u16) {
    loop {
        let wanting: Vec<usize> = (0..keep.len()).filter(|&k| keep[k].1 < need_of(keep[k].0)).collect();
        if *spare == 0 || wanting.is_empty() {
            break;
        }
        let each = (*spare / wanting.len() as u16).max(1);
        for k in wanting {
            let give = each.min(need_of(keep[k].0) - keep[k].1).min(*spare);
            keep[k].1 += give;
            *spare -= give;
        }
    }
}

pub fn draw<R>(f: &mut Frame, area: Rect, theme: &Theme, t: TableView<'_, R>) {
    let block =
        Block::default().borders(Borders::ALL).border_style(theme.border).title(Line::styled(t.title, theme.title));
    let inner = block.inner(area);
    let page = inner.height.saturating_sub(1) as usize;
    if t.state.visible.is_empty() {
        f.render_widget(block, area);
        if inner.height > 1 {
            // Whole, wrapped: it is often the only explanation on screen.
            let lines = (format::display_width(&t.empty).max(1)).div_ceil(inner.width.max(1) as usize) as u16;
            let lines = if lines > 1 { lines + 1 } else { lines };
            let h = lines.min(inner.height);
            let msg = Paragraph::new(t.empty).style(theme.muted).centered().wrap(ratatui::widgets::Wrap { trim: true });
            f.render_widget(msg, Rect { y: inner.y + (inner.height - h) / 2, height: h, ..inner });
        }
        return;
    }
    let window = t.state.window(page);
    let start = window.start;
    // Only the rows in the window are turned into text, once: their widths
    // size the columns, then the same text is drawn. Wire text is made
    // printable first so that what is measured is what is shown.
    let shown: Vec<&R> = t.state.visible[window].iter().filter_map(|&ri| t.rows.get(ri)).collect();
    let cells: Vec<Vec<String>> = shown
        .iter()
        .map(|&r| t.columns.iter().map(|c| format::printable(&(c.cell)(r, t.clock)).into_owned()).collect())
        .collect();
    let title = |i: usize| match t.state.sort.filter(|s| s.column == i) {
        Some(s) => format!("{}{}", t.columns[i].title, s.arrow()),
        None => t.columns[i].title.to_string(),
    };
    let clamp = |w: usize| w.min(u16::MAX as usize) as u16;
    // The sort column stays visible (with its arrow) even when empty here.
    let widest: Vec<u16> = (0..t.columns.len())
        .map(|i| {
            let w = clamp(cells.iter().map(|row| format::display_width(&row[i])).max().unwrap_or(0));
            if t.state.sort.is_some_and(|s| s.column == i) { w.max(1) } else { w }
        })
        .collect();
    let titles: Vec<u16> = (0..t.columns.len()).map(|i| clamp(format::display_width(&title(i)))).collect();
    let cols = fit_columns(t.columns, &titles, &widest, inner.width);
    let header =
        Row::new(cols.iter().map(|&(i, w)| Cell::from(format::fit(&title(i), w as usize, Cut::End).into_owned())))
            .style(theme.header);
    let rows = cells.iter().zip(&shown).map(|(row, &r)| {
        Row::new(cols.iter().map(|&(i, w)| Cell::from(format::fit(&row[i], w as usize, t.columns[i].cut).into_owned())))
            .style(tone_style(theme, (t.tone)(r, t.clock)))
    });
    let widths = cols.iter().map(|&(_, w)| Constraint::Length(w));
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .flex(Flex::Start)
        .row_highlight_style(theme.selected);
    let mut ws = WidgetState::default().with_selected(Some(t.state.selected.saturating_sub(start)));
    f.render_stateful_widget(table, area, &mut ws);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(title: &'static str, width: u16, priority: u8) -> Column<()> {
        Column { title, width, priority, cut: Cut::End, cell: |_, _| String::new() }
    }

    #[test]
    fn narrow_terminals_drop_low_priority_columns() {
        let cols = vec![c("A", 10, 0), c("B", 10, 3), c("C", 10, 1), c("D", 10, 2), c("E", 10, 0)];
        let need = [10; 5];
        let idx = |w| fit_columns(&cols, &[1; 5], &need, w).into_iter().map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(idx(100), vec![0, 1, 2, 3, 4]);
        assert_eq!(idx(43), vec![0, 2, 3, 4]);
        assert_eq!(idx(32), vec![0, 2, 4]);
        assert_eq!(idx(5), vec![0]);
        // Essential E is cut to what is left rather than dropped for C or D.
        assert_eq!(fit_columns(&cols, &[1; 5], &need, 20), vec![(0, 10), (4, 9)]);
        assert_eq!(fit_columns(&cols, &[1; 5], &need, 19), vec![(0, 10), (4, 8)]);
        assert_eq!(fit_columns(&cols, &[1; 5], &need, 18), vec![(0, 10)]);
    }

    #[test]
    fn widths_follow_content_and_spare_goes_to_cut_columns() {
        // USER reserves 28 but holds `app`: it takes 4 (its title).
        let cols = vec![c("NAME", 12, 2), c("USER", 28, 0), c("NOTE", 20, 3)];
        assert_eq!(fit_columns(&cols, &[4; 3], &[30, 3, 60], 80), vec![(0, 30), (1, 4), (2, 44)]);
        // Wide: everything whole, nothing wasted beyond the content.
        assert_eq!(fit_columns(&cols, &[4; 3], &[30, 3, 60], 200), vec![(0, 30), (1, 4), (2, 60)]);
        // Tight: the spare is shared, a long NOTE does not take it all.
        let fit = fit_columns(&cols, &[4; 3], &[60, 40, 200], 100);
        assert_eq!(fit.iter().map(|&(_, w)| w).sum::<u16>() + 2, 100, "{fit:?}");
        assert!(fit[0].1 >= 24 && fit[1].1 == 40 && fit[2].1 >= 20, "{fit:?}");
        // A column with nothing to show is not shown, whatever its priority.
        let cols = vec![c("USER", 28, 0), c("JWT EXPIRES", 11, 1), c("NAME", 12, 2)];
        assert_eq!(fit_columns(&cols, &[4, 11, 4], &[40, 0, 30], 50), vec![(0, 33), (2, 16)]);
        assert_eq!(fit_columns(&cols, &[4, 11, 4], &[40, 0, 30], 90), vec![(0, 40), (2, 30)]);
        // A minor column (priority 4) makes way while an important one is cut.
        let cols = vec![c("NAME", 12, 2), c("IN", 5, 4), c("OUT", 5, 4)];
        assert_eq!(fit_columns(&cols, &[4, 2, 3], &[30, 5, 5], 30), vec![(0, 30)]);
        assert_eq!(fit_columns(&cols, &[4, 2, 3], &[30, 5, 5], 36), vec![(0, 30), (1, 5)]);
        assert_eq!(fit_columns(&cols, &[4, 2, 3], &[30, 5, 5], 42), vec![(0, 30), (1, 5), (2, 5)]);
    }

    #[test]
    fn an_important_column_that_does_not_fit_displaces_a_minor_one() {
        // Identities at 80: SCOPE (priority 2) did not fit whole, USER KEY
        // (priority 4) did; SCOPE gets the room, cut, and USER KEY goes.
        let cols = vec![c("IDENTITY", 22, 0), c("USER KEY", 13, 4), c("SCOPE", 26, 2)];
        let fit = fit_columns(&cols, &[8, 8, 5], &[50, 9, 39], 50);
        assert_eq!(fit.iter().map(|&(i, _)| i).collect::<Vec<_>>(), vec![0, 2], "{fit:?}");
        assert_eq!(fit, vec![(0, 23), (2, 26)]);
        // Too little room for SCOPE even without USER KEY: SCOPE is not
        // squeezed in (USER KEY still makes way for the cut IDENTITY).
        let fit = fit_columns(&cols, &[8, 8, 5], &[50, 9, 39], 34);
        assert_eq!(fit, vec![(0, 34)]);
    }
}
