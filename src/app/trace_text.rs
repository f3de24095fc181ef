//! An identity trace as text: one line per link, the verdict first (the
//! console's trace overlay and `warden trace` print the same).

use super::format::printable;
use warden_core::doctor::trace::Trace;

pub fn text(t: &Trace) -> String {
    let mut out = format!("{}  ({})\nverdict: {}\n\n", t.identity, t.spiffe_id, printable(&t.verdict));
    let width = t.links.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &t.links {
        out.push_str(&format!("{:<6} {:<width$}  {}\n", l.state.mark(), l.name, printable(&l.detail)));
    }
    out
}
