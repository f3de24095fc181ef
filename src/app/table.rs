//! Selection, scrolling and filtering of one table, independent of how it is
//! drawn. Filtering keeps a vector of row indices so that rendering touches
//! only the visible window, whatever the row count.

/// A column shared by the console and the `report` table output.
pub struct Column<R> {
    pub title: &'static str,
    /// Cells the console reserves for it when choosing which columns fit
    /// (less when the visible content is narrower; more from the spare
    /// width when its content is wider).
    pub width: u16,
    /// Lower is kept longer when the terminal is narrow.
    pub priority: u8,
    /// Where a value too wide for the column is cut (always with `…`).
    pub cut: Cut,
    pub cell: fn(&R, &Clock) -> String,
}

/// Columns only some setups fill: a report leaves them out when no row has
/// a value (the console gives every empty column's space away anyway).
pub const OMITTED_WHEN_EMPTY: &[&str] = &["SITE"];

/// How a cell wider than its column is shortened: never silently, always
/// with an `…` where text was taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Keep the start (`tentacular.payments.ledger.comm…`): names, notes.
    End,
    /// Keep both ends (`spiffe://…sat/sandbox/node-a`, `UABC…WXYZ`): keys,
    /// IDs, paths and subjects, where the end tells rows apart.
    Middle,
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

/// How a row stands out: the theme gives each a style (colour, and bold
/// where a theme has no colour); the row's own words (its STATE) always
/// say the same, so nothing is told by colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Normal,
    /// Waiting on someone (Pending).
    Muted,
    /// Needs a look soon (Expiring, Drifted, under a day).
    Warn,
    /// Not working (Expired, Revoked, Denied).
    Bad,
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
    /// How the row stands out (by state).
    fn tone(&self, _clock: &Clock) -> Tone {
        Tone::Normal
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TableState {
    /// Position in `visible` of the selected row.
    pub selected: usize,
    /// First position of `visible` drawn.
    pub offset: usize,
    /// Filter text: a substring (any case), or `re:` and a regular
    /// expression (any case); `!` before either shows the rows that do not
    /// match; empty shows all.
    pub filter: String,
    /// Why the `re:` filter is not a valid regular expression (then no row
    /// matches, and the title says why).
    pub filter_error: Option<String>,
    /// Indices into the rows that pass the filter, in display order.
    pub visible: Vec<usize>,
    /// The column the rows are sorted by (`s` cycles, `S` reverses); None:
    /// the order the rows came in.
    pub sort: Option<Sort>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// Index into the view's columns.
    pub column: usize,
    pub descending: bool,
}

impl Sort {
    /// The next state of `s` over `n` columns: off, then each column
    /// ascending in turn, then off again.
    pub fn next(s: Option<Sort>, n: usize) -> Option<Sort> {
        match s {
            None if n > 0 => Some(Sort { column: 0, descending: false }),
            Some(Sort { column, .. }) if column + 1 < n => Some(Sort { column: column + 1, descending: false }),
            _ => None,
        }
    }

    /// The arrow shown after the sorted column's title.
    pub fn arrow(&self) -> &'static str {
        if self.descending { "↓" } else { "↑" }
    }
}

/// Orders cell texts as an operator reads them: numbers with their units
/// (`999` < `1.2K`, `512B` < `1.5KiB`, `45s` < `5m2s` < `2h13m`) by value,
/// anything else as text; empty cells last.
pub fn cell_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    match (magnitude(a), magnitude(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b)),
    }
}

/// The value of `12`, `-3`, `1.5K`, `20.0MiB`, `3d4h`, `5m2s`, `45s`.
fn magnitude(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let split = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    if split == 0 {
        return None;
    }
    let n: f64 = body[..split].parse().ok()?;
    let unit = &body[split..];
    let mult = match unit {
        "" | "B" | "s" => 1.0,
        "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            // A duration as `format::duration` writes it: `3d4h`, `2h13m`, `5m2s`.
            let d = humantime::parse_duration(body).ok()?;
            return Some(if neg { -d.as_secs_f64() } else { d.as_secs_f64() });
        }
    };
    Some(if neg { -n * mult } else { n * mult })
}

/// A compiled filter: a substring (any case), `re:` and a regular
/// expression (any case), either after `!` for the rows that do NOT match;
/// empty matches all.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    negate: bool,
    how: How,
}

#[derive(Debug, Clone, Default)]
enum How {
    #[default]
    All,
    Text(String),
    Re(regex::Regex),
    /// An invalid regular expression: nothing matches (and the title says why).
    Nothing,
}

impl Matcher {
    /// The matcher for `filter`, and why a `re:` pattern is invalid.
    pub fn new(filter: &str) -> (Matcher, Option<String>) {
        let (negate, body) = match filter.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, filter),
        };
        let (how, error) = match body.strip_prefix("re:") {
            Some(pattern) => match regex::RegexBuilder::new(pattern).case_insensitive(true).size_limit(1 << 20).build()
            {
                Ok(re) => (How::Re(re), None),
                Err(e) => {
                    // The regex crate's message is multi-line; its last line says what is wrong.
                    let why = e.to_string();
                    let last = why.lines().last().unwrap_or("invalid").trim();
                    (How::Nothing, Some(last.trim_start_matches("error: ").to_string()))
                }
            },
            None if body.is_empty() => (How::All, None),
            None => (How::Text(body.to_lowercase()), None),
        };
        // `!` alone, or an invalid pattern, is no filter to invert.
        let negate = negate && !matches!(how, How::All | How::Nothing);
        (Matcher { negate, how }, error)
    }

    /// Whether a row's search text (lower-case) passes.
    pub fn matches(&self, text: &str) -> bool {
        let hit = match &self.how {
            How::All => return true,
            How::Nothing => return false,
            How::Text(t) => text.contains(t.as_str()),
            How::Re(re) => re.is_match(text),
        };
        hit != self.negate
    }
}

impl TableState {
    /// Recomputes `visible` after rows or the filter changed. `keep` is the
    /// key of the row selected before the change (taken from the rows as
    /// they were): when that row is still visible it stays selected however
    /// many rows were inserted or removed around it (the view scrolls only
    /// as far as needed to keep it visible). Otherwise the selection stays
    /// at its position, clamped.
    pub fn refilter<R: Searchable, K: PartialEq>(&mut self, rows: &[R], key: impl Fn(&R) -> K, keep: Option<K>) {
        let (m, error) = Matcher::new(&self.filter);
        self.filter_error = error;
        self.visible.clear();
        self.visible.extend(rows.iter().enumerate().filter(|(_, r)| m.matches(r.search_text())).map(|(i, _)| i));
        if let Some(k) = keep
            && let Some(pos) = self.visible.iter().position(|&i| rows.get(i).map(&key).as_ref() == Some(&k))
        {
            self.selected = pos;
        }
        self.clamp();
    }

    /// Orders `visible` by the sort column (a stable sort: equal cells keep
    /// the rows' order), then puts the selection back on `keep`'s row.
    pub fn sort_visible<R, K: PartialEq>(
        &mut self,
        rows: &[R],
        cell: impl Fn(&R) -> String,
        key: impl Fn(&R) -> K,
        keep: Option<K>,
    ) {
        let Some(sort) = self.sort else { return };
        let mut keyed: Vec<(String, usize)> =
            self.visible.iter().filter_map(|&i| rows.get(i).map(|r| (cell(r), i))).collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let o = cell_order(a, b);
            if sort.descending && !(a.is_empty() || b.is_empty()) { o.reverse() } else { o }
        });
        self.visible = keyed.into_iter().map(|(_, i)| i).collect();
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

    /// After a resize: no rows left unshown above while there is room
    /// below (a shrink to a few rows and back fills the screen again), and
    /// the selection kept in view.
    pub fn fit_page(&mut self, page: usize) {
        self.offset = self.offset.min(self.visible.len().saturating_sub(page.max(1)));
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
    fn cells_sort_by_value_and_selection_follows_the_row() {
        use std::cmp::Ordering::*;
        assert_eq!(cell_order("999", "1.2K"), Less);
        assert_eq!(cell_order("512B", "1.5KiB"), Less);
        assert_eq!(cell_order("45s", "5m2s"), Less);
        assert_eq!(cell_order("2h13m", "1d0h"), Less);
        assert_eq!(cell_order("-1m0s", "3s"), Less);
        assert_eq!(cell_order("", "a"), Greater);
        assert_eq!(cell_order("app", "Bank"), Less);
        let rs = rows(30);
        let mut t = TableState::default();
        t.refilter(&rs, |r| r.0.clone(), None);
        t.move_by(7, 10);
        let picked = rs[t.selected_index().unwrap()].0.clone();
        t.sort = Some(Sort { column: 0, descending: true });
        let num = |r: &R| r.0.trim_start_matches("row-").to_string();
        t.sort_visible(&rs, num, |r| r.0.clone(), Some(picked.clone()));
        assert_eq!(t.visible[..3], [29, 28, 27]);
        assert_eq!(rs[t.selected_index().unwrap()].0, picked);
        assert_eq!(Sort::next(None, 2), Some(Sort { column: 0, descending: false }));
        assert_eq!(Sort::next(Sort::next(None, 2), 2), Some(Sort { column: 1, descending: false }));
        assert_eq!(Sort::next(Some(Sort { column: 1, descending: true }), 2), None);
    }

    #[test]
    fn regex_filters_and_invalid_ones_are_reported() {
        let rs = rows(100);
        let mut t = TableState { filter: "re:^row-(1|2)$".into(), ..Default::default() };
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!(t.visible, vec![1, 2]);
        t.filter = "re:ROW-9.$".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!(t.visible.len(), 10);
        t.filter = "re:row-(".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert!(t.visible.is_empty());
        assert!(t.filter_error.as_deref().is_some_and(|e| e.contains("unclosed")), "{:?}", t.filter_error);
        t.filter = "row-(".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!((t.visible.len(), t.filter_error.as_ref()), (0, None));
    }

    #[test]
    fn a_bang_inverts_the_filter() {
        let rs = rows(100);
        let mut t = TableState { filter: "!row-9".into(), ..Default::default() };
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!(t.visible.len(), 89, "all but row-9 and row-90..99");
        t.filter = "!re:^row-[0-8]$".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!(t.visible.len(), 91);
        assert!(!t.visible.contains(&3) && t.visible.contains(&9));
        // `!` alone hides nothing; an invalid pattern is not inverted into "all".
        t.filter = "!".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert_eq!(t.visible.len(), 100);
        t.filter = "!re:(".into();
        t.refilter(&rs, |r| r.0.clone(), None);
        assert!(t.visible.is_empty() && t.filter_error.is_some());
    }

    #[test]
    fn shrinking_to_one_row_and_back_shows_every_row_again() {
        let rs = rows(13);
        let mut t = TableState::default();
        t.refilter(&rs, |r| r.0.clone(), None);
        t.move_by(8, 18);
        t.fit_page(1);
        assert_eq!(t.window(1), 8..9);
        assert_eq!(t.offset, 8);
        // Back to 18 rows: from the first row, the selection kept.
        t.fit_page(18);
        assert_eq!((t.offset, t.selected), (0, 8));
        assert_eq!(t.window(18), 0..13);
        // A long list keeps the selection in view, rows below it fill.
        let rs = rows(100);
        t.refilter(&rs, |r| r.0.clone(), None);
        t.end(1);
        t.fit_page(18);
        assert_eq!(t.window(18), 82..100);
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
