//! Every cell, the search text and the detail pane of a console row: what
//! the console and `warden report` print of wire data.
use warden::app::table::{Clock, TableRow};

pub fn show<R: TableRow>(r: &R) {
    for now_unix in [0, 1_700_000_000, i64::MAX, i64::MIN] {
        let clock = Clock { now_unix };
        for c in R::columns() {
            let _ = (c.cell)(r, &clock);
        }
        let _ = r.detail(&clock);
    }
    let _ = (r.search_text(), r.detail_title(), r.key());
}
