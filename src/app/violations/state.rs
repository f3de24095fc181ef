//! What the Violations view holds: the pipeline (attribution and bounded
//! store), the live list, the grouped rows, the feed's sources and the rate.

use super::live::LiveList;
use super::rows::GroupRow;
use crate::app::panel::Panel;
use crate::app::table::TableState;
use crate::app::violations::feed::SourceState;
use warden_core::violations::{Attributor, Pipeline, StoreConfig};

/// Newest violations kept in the live list.
pub const LIVE_CAPACITY: usize = 10_000;

#[derive(Debug, Clone)]
pub struct ViolationsState {
    /// Attribution + bounded store (groups, minute history, totals).
    pub pipeline: Pipeline,
    pub live: LiveList,
    pub groups: Panel<GroupRow>,
    /// Showing the grouped sub-view.
    pub grouped: bool,
    /// The live list holds still (new rows are counted, not scrolled in).
    pub paused: bool,
    /// Rows that arrived while paused.
    pub unseen: u64,
    /// The groups changed since `groups` was built.
    pub groups_dirty: bool,
    pub(super) groups_built_at: i64,
    /// Sources of the feed and how they are doing.
    pub sources: Vec<SourceState>,
    /// Violations in the current minute and whether that jumped (banner).
    pub per_minute: u64,
    pub rate_jumped: bool,
    /// Time of the newest batch or tick (unix seconds).
    pub now: i64,
    /// Latest auth-failure diagnosis by identity key and by user key
    /// (shown on the Identities rows), bounded.
    pub auth_causes: std::collections::HashMap<String, String>,
}

impl Default for ViolationsState {
    fn default() -> Self {
        ViolationsState {
            // The live list is the console's newest violations: a second
            // ring in the store was 10,000 more copies of a storm's heap.
            pipeline: Pipeline::new(Attributor::default(), StoreConfig { raw_capacity: 0, ..StoreConfig::default() }),
            live: LiveList::new(LIVE_CAPACITY),
            groups: Panel::default(),
            grouped: false,
            paused: false,
            unseen: 0,
            groups_dirty: false,
            groups_built_at: 0,
            sources: Vec::new(),
            per_minute: 0,
            rate_jumped: false,
            now: 0,
            auth_causes: Default::default(),
        }
    }
}

impl ViolationsState {
    pub fn table(&self) -> &TableState {
        if self.grouped { &self.groups.table } else { &self.live.table }
    }
    pub fn table_mut(&mut self) -> &mut TableState {
        if self.grouped { &mut self.groups.table } else { &mut self.live.table }
    }
    pub fn set_filter(&mut self, f: String) {
        if self.grouped { self.groups.set_filter(f.to_lowercase()) } else { self.live.set_filter(f) }
    }
    pub fn row_count(&self) -> usize {
        self.live.len()
    }

    pub(super) fn rates(&mut self) {
        let now = self.now.max(0) as u64;
        self.per_minute = self.pipeline.store.per_minute(now);
        self.rate_jumped = self.pipeline.store.rate_jumped(now);
    }

    /// Rebuilds the grouped rows from the store: O(groups), at most once
    /// a second while the grouped view is shown. Keeps the selection on
    /// the same group.
    pub fn rebuild_groups(&mut self) {
        let now = self.now;
        let mut rows: Vec<GroupRow> = self.pipeline.store.groups().map(|g| GroupRow::from_group(g, now)).collect();
        rows.sort_unstable_by(|a, b| b.count.cmp(&a.count).then(b.last_seen.cmp(&a.last_seen)));
        let p = &mut self.groups;
        let old = p.selected().map(|r| (r.identity.clone(), r.subject.clone(), r.kind));
        let needle = p.table.filter.to_lowercase();
        p.table.visible.clear();
        p.table.visible.extend(
            rows.iter().enumerate().filter(|(_, r)| needle.is_empty() || r.search.contains(&needle)).map(|(i, _)| i),
        );
        if let Some((id, subj, kind)) = old
            && let Some(pos) = p.table.visible.iter().position(|&i| {
                let r = &rows[i];
                r.kind == kind && r.identity == id && r.subject == subj
            })
        {
            p.table.selected = pos;
        }
        p.table.clamp();
        p.rows = rows;
        p.fetched_at = Some(now);
        p.stale = None;
        self.groups_dirty = false;
        self.groups_built_at = now;
    }
}
