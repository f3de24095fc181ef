//! One view's rows, its table state and how fresh the rows are.

use super::table::{Clock, Sort, TableRow, TableState};

/// Rows of one view plus how fresh they are.
#[derive(Debug, Clone)]
pub struct Panel<R> {
    pub rows: Vec<R>,
    pub table: TableState,
    /// When the rows were fetched (unix seconds); None until the first fetch.
    pub fetched_at: Option<i64>,
    /// The last fetch failed or got no answer: rows are from `fetched_at`.
    pub stale: Option<String>,
    /// Servers that answered with an error.
    pub errors: Vec<String>,
}

impl<R> Default for Panel<R> {
    fn default() -> Self {
        Panel { rows: Vec::new(), table: TableState::default(), fetched_at: None, stale: None, errors: Vec::new() }
    }
}

impl<R: TableRow> Panel<R> {
    /// New rows from a successful fetch or a watch reset.
    pub fn replace(&mut self, rows: Vec<R>, at: i64) {
        let keep = self.selected().map(R::key);
        self.replace_keeping(rows, at, keep);
    }

    /// [`Panel::replace`] when the caller took the old rows out first (an
    /// in-place delta): `keep` is the key of the row that was selected.
    pub fn replace_keeping(&mut self, rows: Vec<R>, at: i64, keep: Option<R::Key>) {
        self.rows = rows;
        self.fetched_at = Some(at);
        self.stale = None;
        self.reorder(keep);
    }

    /// Filters and sorts the rows, keeping the selection on `keep`'s row.
    fn reorder(&mut self, keep: Option<R::Key>) {
        if self.table.sort.is_none() {
            self.table.refilter(&self.rows, R::key, keep);
            return;
        }
        self.table.refilter(&self.rows, R::key, None);
        let cols = R::columns();
        let Some(col) = self.table.sort.and_then(|s| cols.get(s.column)) else {
            self.table.sort = None;
            return self.table.refilter(&self.rows, R::key, keep);
        };
        let clock = Clock { now_unix: self.fetched_at.unwrap_or(0) };
        let cell = col.cell;
        self.table.sort_visible(&self.rows, |r| cell(r, &clock), R::key, keep);
    }

    /// `s`: sort by the next column (then none); `S`: reverse the order.
    pub fn cycle_sort(&mut self, reverse: bool) {
        let keep = self.selected().map(R::key);
        let n = R::columns().len();
        self.table.sort = if reverse {
            self.table.sort.map(|s| Sort { descending: !s.descending, ..s })
        } else {
            Sort::next(self.table.sort, n)
        };
        self.reorder(keep);
    }

    /// The data could not be refreshed: keep it, say why.
    pub fn mark_stale(&mut self, why: &str) {
        self.stale = Some(why.to_string());
    }

    pub fn set_filter(&mut self, f: String) {
        let keep = self.selected().map(R::key);
        self.table.filter = f;
        self.reorder(keep);
    }

    pub fn selected(&self) -> Option<&R> {
        self.table.selected_index().and_then(|i| self.rows.get(i))
    }
}
