//! The live list: the newest violations, newest first, bounded, with an
//! incrementally kept filter (O(1) per row, O(rows) per filter change).

use std::collections::VecDeque;

use super::rows::ViolationRow;
use crate::app::table::TableState;
use warden_core::violations::Violation;

/// The live list: a bounded ring (oldest first) plus the sequence numbers
/// of the rows that pass the filter. `table.visible` is `0..matched.len()`
/// (display positions, newest first), kept in step in O(1) per row.
#[derive(Debug, Clone)]
pub struct LiveList {
    rows: VecDeque<ViolationRow>,
    first_seq: u64,
    next_seq: u64,
    matched: VecDeque<u64>,
    pub table: TableState,
    /// The compiled filter (`!` inverts, `re:` patterns), applied per row.
    matcher: crate::app::table::Matcher,
    capacity: usize,
}

impl LiveList {
    pub fn new(capacity: usize) -> LiveList {
        LiveList {
            rows: VecDeque::new(),
            first_seq: 0,
            next_seq: 0,
            matched: VecDeque::new(),
            table: TableState::default(),
            matcher: Default::default(),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows passing the filter.
    pub fn matched(&self) -> usize {
        self.matched.len()
    }

    fn by_seq(&self, seq: u64) -> Option<&ViolationRow> {
        seq.checked_sub(self.first_seq).and_then(|i| self.rows.get(i as usize))
    }

    /// The row at display position `pos` (0 = newest matching).
    pub fn at(&self, pos: usize) -> Option<&ViolationRow> {
        let n = self.matched.len();
        if pos >= n {
            return None;
        }
        self.matched.get(n - 1 - pos).and_then(|&s| self.by_seq(s))
    }

    pub fn selected(&self) -> Option<&ViolationRow> {
        self.at(self.table.selected)
    }

    /// Newest rows, newest first.
    pub fn newest(&self) -> impl Iterator<Item = &ViolationRow> {
        self.rows.iter().rev()
    }

    /// Appends a row. The selection stays on the violation it was on (an
    /// action acts on what the operator looked at); `hold` also keeps the
    /// same rows on screen (paused, or scrolled down), else the newest
    /// rows come in at the top. Returns whether it passed the filter.
    pub fn push(&mut self, identity: String, v: Violation, received: i64, hold: bool) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        let row = ViolationRow::new(seq, received, identity, v);
        let pass = self.matcher.matches(&row.search);
        self.rows.push_back(row);
        if pass {
            self.matched.push_back(seq);
            self.table.visible.push(self.table.visible.len());
            if self.matched.len() > 1 {
                self.table.selected += 1;
                if hold {
                    self.table.offset += 1;
                }
            }
        }
        while self.rows.len() > self.capacity {
            self.rows.pop_front();
            if self.matched.front() == Some(&self.first_seq) {
                self.matched.pop_front();
                self.table.visible.pop();
                self.table.clamp();
            }
            self.first_seq += 1;
        }
        pass
    }

    /// A new filter (lower-cased): O(rows), on a keystroke, never per event.
    pub fn set_filter(&mut self, f: String) {
        let keep = self.selected().map(|r| r.seq);
        let (m, error) = crate::app::table::Matcher::new(&f);
        self.table.filter = f;
        self.table.filter_error = error;
        self.matched = self.rows.iter().filter(|r| m.matches(&r.search)).map(|r| r.seq).collect();
        self.matcher = m;
        self.table.visible = (0..self.matched.len()).collect();
        self.table.selected = 0;
        if let Some(k) = keep
            && let Some(i) = self.matched.iter().position(|&s| s == k)
        {
            self.table.selected = self.matched.len() - 1 - i;
        }
        self.table.clamp();
    }

    /// The rows in the viewport of `page` rows and the selection within
    /// them: what the renderer draws (O(page)).
    pub fn window(&self, page: usize) -> (Vec<ViolationRow>, TableState) {
        let w = self.table.window(page);
        let start = w.start;
        let rows: Vec<ViolationRow> = w.filter_map(|p| self.at(p).cloned()).collect();
        let t = TableState {
            selected: self.table.selected.saturating_sub(start),
            offset: 0,
            filter: self.table.filter.clone(),
            visible: (0..rows.len()).collect(),
            ..Default::default()
        };
        (rows, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::violations::ViolationKind;

    fn viol(i: u64) -> Violation {
        Violation {
            at: None,
            server: Some("n1".into()),
            server_id: None,
            kind: if i.is_multiple_of(2) { ViolationKind::PublishDenied } else { ViolationKind::SubscribeDenied },
            account: Some("APP".into()),
            account_name: None,
            user: Some(format!("u{}", i % 3)),
            client_name: None,
            client_addr: None,
            cid: Some(i),
            subject: Some(format!("s.{i}")),
            queue: None,
            reason: None,
            cause: None,
        }
    }

    #[test]
    fn live_list_is_bounded_newest_first_and_filters_incrementally() {
        let mut l = LiveList::new(100);
        for i in 0..250 {
            l.push(format!("id{}", i % 3), viol(i), i as i64, false);
        }
        assert_eq!(l.len(), 100);
        assert_eq!(l.matched(), 100);
        assert_eq!(l.at(0).unwrap().violation.cid, Some(249));
        assert_eq!(l.at(99).unwrap().violation.cid, Some(150));
        l.set_filter("ID1".into());
        assert!(l.matched() > 30 && l.matched() < 40);
        assert!(l.at(0).unwrap().identity == "id1");
        for i in 250..600 {
            l.push(format!("id{}", i % 3), viol(i), i as i64, false);
        }
        assert_eq!(l.len(), 100);
        assert_eq!(l.matched(), l.table.visible.len());
        assert!((0..l.matched()).all(|p| l.at(p).unwrap().identity == "id1"));
        assert_eq!(l.at(0).unwrap().violation.cid, Some(598));
    }

    #[test]
    fn following_keeps_the_selected_violation() {
        let mut l = LiveList::new(1000);
        for i in 0..10 {
            l.push("a".into(), viol(i), 0, false);
        }
        l.table.home();
        let sel = l.selected().unwrap().seq;
        for i in 10..13 {
            l.push("a".into(), viol(i), 0, false);
        }
        assert_eq!(l.selected().unwrap().seq, sel, "new rows do not take the selection");
        let (rows, t) = l.window(5);
        assert_eq!(rows[0].seq, l.newest().next().unwrap().seq, "following: the newest on top");
        assert_eq!(rows[t.selected].seq, sel);
    }

    #[test]
    fn holding_keeps_the_selected_row() {
        let mut l = LiveList::new(1000);
        for i in 0..10 {
            l.push("a".into(), viol(i), 0, false);
        }
        l.table.move_by(3, 5);
        let sel = l.selected().unwrap().seq;
        for i in 10..20 {
            l.push("a".into(), viol(i), 0, true);
        }
        assert_eq!(l.selected().unwrap().seq, sel);
        let (rows, t) = l.window(5);
        assert_eq!(rows[t.selected].seq, sel);
    }
}
