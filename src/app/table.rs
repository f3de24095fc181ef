//! Selection, scrolling and filtering of one table, independent of how it is
//! drawn. Filtering keeps a vector of row indices so that rendering touches
//! only the visible window, whatever the row count.

/// A column shared by the console and the `report` table output.
pub struct Column<R> {
    pub title: &'static str,
    /// Width the console gives it (the last column takes what is left).
    pub width: u16,
    /// Lower is kept longer when the terminal is narrow.
    pub priority: u8,
    pub cell: fn(&R, &Clock) -> String,
}

/// The instant "now" for relative times (uptime, expiry). Carried in state so
/// that rendering is a pure function of state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    pub now_unix: i64,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { now_unix: chrono::Utc::now().timestamp() }
    }
}

/// Rows a table needs to filter: a lower-case text searched by `/`.
pub trait Searchable {
    fn search_text(&self) -> &str;
}

/// A row type of a console table: its columns, its detail pane, and a key
/// that follows the same row across refreshes (so the selection stays put).
pub trait TableRow: Searchable + Sized {
    type Key: PartialEq;
    fn key(&self) -> Self::Key;
    fn columns() -> Vec<Column<Self>>;
    fn detail_title(&self) -> String;
    fn detail(&self, clock: &Clock) -> Vec<(&'static str, String)>;
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TableState {
    /// Position in `visible` of the selected row.
    pub selected: usize,
    /// First position of `visible` drawn.
    pub offset: usize,
    /// Lower-case filter text; empty shows all.
    pub filter: String,
    /// Indices into the rows that pass the filter, in display order.
    pub visible: Vec<usize>,
}

impl TableState {
    /// Recomputes `visible` after rows or the filter changed. `keep` is the
    /// key of the row selected before the change (taken from the rows as
    /// they were): when that row is still visible it stays selected however
    /// many rows were inserted or removed around it (the view scrolls only
    /// as far as needed to keep it visible). Otherwise the selection stays
    /// at its position, clamped.
    pub fn refilter<R: Searchable, K: PartialEq>(&mut self, rows: &[R], key: impl Fn(&R) -> K, keep: Option<K>) {
        let needle = self.filter.to_lowercase();
        self.visible.clear();
        self.visible.extend(
            rows.iter()
                .enumerate()
                .filter(|(_, r)| needle.is_empty() || r.search_text().contains(&needle))
                .map(|(i, _)| i),
        );
        if let Some(k) = keep
            && let Some(pos) = self.visible.iter().position(|&i| rows.get(i).map(&key).as_ref() == Some(&k))
        {
            self.selected = pos;
        }
        self.clamp();
    }

    /// Index into the rows of the selected row.
    pub fn selected_index(&self) -> Option<usize> {
        self.visible.get(self.selected).copied()
    }

    pub fn clamp(&mut self) {
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
        self.offset = self.offset.min(self.selected);
    }

    /// Moves the selection by `delta` rows and scrolls so it stays within a
    /// viewport of `page` rows.
    pub fn move_by(&mut self, delta: isize, page: usize) {
        let last = self.visible.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
        self.scroll_into_view(page);
    }

    pub fn home(&mut self) {
        self.selected = 0;
        self.offset = 0;
    }

    pub fn end(&mut self, page: usize) {
        self.selected = self.visible.len().saturating_sub(1);
        self.scroll_into_view(page);
    }

    pub fn scroll_into_view(&mut self, page: usize) {
        let page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
    }

    /// The positions of `visible` to draw in a viewport of `page` rows.
    pub fn window(&self, page: usize) -> std::ops::Range<usize> {
        let mut offset = self.offset;
        if self.selected >= offset + page.max(1) {
            offset = self.selected + 1 - page.max(1);
        }
        let end = (offset + page).min(self.visible.len());
        offset.min(end)..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(String);
    impl Searchable for R {
        fn search_text(&self) -> &str {
            &self.0
        }
    }

    fn rows(n: usize) -> Vec<R> {
        (0..n).map(|i| R(format!("row-{i}"))).collect()
    }

    #[test]
    fn filter_keeps_selection_on_the_same_row() {
        let rs = rows(100);
        let mut t = TableState::default();
        t.refilter(&rs, |r| r.0.clone(), None);
        t.move_by(42, 10);
        assert_eq!(t.selected_index(), Some(42));
        t.filter = "row-4".into();
        t.refilter(&rs, |r| r.0.clone(), Some("row-42".to_string()));
        assert_eq!(t.visible.len(), 11); // row-4, row-40..49
        assert_eq!(t.selected_index(), Some(42));
        t.filter = "nothing".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!(t.selected_index(), None);
        assert_eq!(t.window(10), 0..0);
    }

    #[test]
    fn selection_follows_the_row_not_the_position() {
        let mut rs = rows(50);
        let mut t = TableState::default();
        t.refilter(&rs, |r| r.0.clone(), None);
        t.move_by(20, 10);
        let picked = rs[t.selected_index().unwrap()].0.clone();
        // A refresh inserts five rows above it and drops one below.
        for i in 0..5 {
            rs.insert(0, R(format!("new-{i}")));
        }
        rs.remove(40);
        t.refilter(&rs, |r| r.0.clone(), Some(picked.clone()));
        assert_eq!(rs[t.selected_index().unwrap()].0, picked);
        assert!(t.window(10).contains(&t.selected), "and visible");
        // Gone: the position is kept, never an out-of-range index.
        rs.retain(|r| r.0 != picked);
        t.refilter(&rs, |r| r.0.clone(), Some(picked));
        assert!(t.selected_index().is_some_and(|i| i < rs.len()));
    }

    #[test]
    fn scrolling_keeps_selection_in_the_window() {
        let rs = rows(1000);
        let mut t = TableState::default();
        t.refilter(&rs, |r| r.0.clone(), None);
        t.move_by(25, 10);
        assert_eq!(t.window(10), 16..26);
        t.move_by(-20, 10);
        assert_eq!(t.window(10), 5..15);
        t.end(10);
        assert_eq!(t.window(10), 990..1000);
        t.move_by(5, 10);
        assert_eq!(t.selected, 999);
        t.home();
        assert_eq!(t.window(10), 0..10);
    }
}
