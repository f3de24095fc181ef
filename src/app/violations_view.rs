//! The Violations view: the live list (newest first, pause/follow) and the
//! grouped sub-view (identity x subject x kind with counts and a per-minute
//! sparkline), fed by `Msg::Violations` batches from `app::violations_feed`.
//!
//! Cost: a batch costs `update` O(batch): each violation is attributed,
//! recorded in the bounded store and appended to the bounded live list,
//! whose filter index is kept incrementally. The grouped rows are rebuilt
//! from the store (O(groups), at most `group_capacity`) only while that
//! sub-view is shown, at most once a second.

use std::collections::{BTreeMap, VecDeque};
use warden_core::identity::actions::{AnyRequest, Mode as IdentityMode};

use serde::Serialize;

use super::keys::Action;
use super::msg::Outcome;
use super::state::{AppState, Level, Panel, ViewId};
use super::table::{Clock, Column, Searchable, TableRow, TableState};
use super::violations_feed::{Batch, SourceState};
use warden_core::identity::jwt_actions::Request;
use warden_core::identity::naming::IdentityName;
use warden_core::nats::subject::Direction;
use warden_core::violations::store::Group;
use warden_core::violations::{Attributor, IdentityRecord, Pipeline, StoreConfig, Violation, ViolationKind};

/// Newest violations kept in the live list.
pub const LIVE_CAPACITY: usize = 10_000;
/// Minutes in a group's sparkline.
pub const SPARK_MINUTES: usize = 15;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViolationRow {
    #[serde(skip)]
    pub seq: u64,
    /// When warden received it (unix seconds).
    pub received: i64,
    /// The identity it was attributed to (`ns/wf`, or `user:ACC/name`,
    /// `client:name`, `addr:host` when no known identity matched).
    pub identity: String,
    pub known: bool,
    #[serde(flatten)]
    pub violation: Violation,
    #[serde(skip)]
    search: String,
}

impl ViolationRow {
    pub fn new(seq: u64, received: i64, identity: String, violation: Violation) -> ViolationRow {
        let v = &violation;
        let search = [
            identity.as_str(),
            v.subject.as_deref().unwrap_or(""),
            v.kind.as_str(),
            v.server.as_deref().unwrap_or(""),
            v.user.as_deref().unwrap_or(""),
            v.account_name.as_deref().or(v.account.as_deref()).unwrap_or(""),
            v.client_name.as_deref().unwrap_or(""),
        ]
        .join(" ")
        .to_lowercase();
        ViolationRow { seq, received, known: is_known(&identity), identity, violation, search }
    }
}

/// A key from a known identity (not one of the attribution fallbacks).
pub fn is_known(identity: &str) -> bool {
    !(identity.starts_with("user:")
        || identity.starts_with("client:")
        || identity.starts_with("addr:")
        || identity == "unknown")
}

impl Searchable for ViolationRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

fn hms(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_default()
}

fn account_of(v: &Violation) -> String {
    v.account_name.clone().or_else(|| v.account.clone()).unwrap_or_default()
}

pub fn live_columns() -> Vec<Column<ViolationRow>> {
    vec![
        Column { title: "TIME", width: 8, priority: 0, cell: |r, _| hms(r.received) },
        Column { title: "KIND", width: 16, priority: 0, cell: |r, _| r.violation.kind.as_str().into() },
        Column { title: "IDENTITY", width: 24, priority: 0, cell: |r, _| r.identity.clone() },
        Column {
            title: "SUBJECT",
            width: 26,
            priority: 0,
            cell: |r, _| r.violation.subject.clone().unwrap_or_else(|| "-".into()),
        },
        Column { title: "SERVER", width: 10, priority: 1, cell: |r, _| r.violation.server.clone().unwrap_or_default() },
        Column { title: "ACCOUNT", width: 10, priority: 2, cell: |r, _| account_of(&r.violation) },
        Column {
            title: "CLIENT",
            width: 14,
            priority: 3,
            cell: |r, _| r.violation.client_name.clone().unwrap_or_default(),
        },
        Column { title: "REASON", width: 20, priority: 3, cell: |r, _| r.violation.reason.clone().unwrap_or_default() },
    ]
}

impl TableRow for ViolationRow {
    type Key = u64;
    fn key(&self) -> u64 {
        self.seq
    }
    fn columns() -> Vec<Column<Self>> {
        live_columns()
    }
    fn detail_title(&self) -> String {
        format!("{} by {}", self.violation.kind.as_str(), self.identity)
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        let v = &self.violation;
        let o = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
        vec![
            ("Kind", v.kind.as_str().into()),
            ("Identity", format!("{}{}", self.identity, if self.known { "" } else { " (no known identity)" })),
            ("Subject", o(&v.subject)),
            ("Queue", o(&v.queue)),
            ("Reason", o(&v.reason)),
            ("User", o(&v.user)),
            ("Account", o(&v.account)),
            ("Account name", o(&v.account_name)),
            ("Client name", o(&v.client_name)),
            ("Client address", o(&v.client_addr)),
            ("Client id", v.cid.map(|c| c.to_string()).unwrap_or_else(|| "-".into())),
            ("Server", o(&v.server)),
            ("Server id", o(&v.server_id)),
            ("Server time", o(&v.at)),
            ("Received", hms(self.received)),
            ("Keys", "i: permissions of the identity  +: grant  X: revoke".into()),
        ]
    }
}

/// One (identity, subject, kind) group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    pub identity: String,
    pub subject: String,
    pub kind: ViolationKind,
    pub count: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Per-minute counts, oldest first, ending with the current minute.
    pub per_minute: Vec<u32>,
    /// Of the latest violation in the group.
    pub server: String,
    pub user: String,
    pub account: String,
    pub client: String,
    #[serde(skip)]
    spark: String,
    #[serde(skip)]
    search: String,
}

impl GroupRow {
    /// About ten allocations per group: the grouped view rebuilds up to
    /// `group_capacity` of these at most once a second.
    pub fn from_group(g: &Group, now: i64) -> GroupRow {
        let minute = (now.max(0) as u64) / 60;
        let per_minute: Vec<u32> = (0..SPARK_MINUTES as u64)
            .rev()
            .map(|back| minute.checked_sub(back).map_or(0, |m| g.history.at(m)))
            .collect();
        let l = &g.last;
        let server = l.server.clone().unwrap_or_default();
        let mut search = String::with_capacity(g.key.identity.len() + g.key.subject.len() + server.len() + 24);
        for part in [g.key.identity.as_str(), g.key.subject.as_str(), g.key.kind.as_str(), server.as_str()] {
            search.push_str(part);
            search.push(' ');
        }
        search.make_ascii_lowercase();
        GroupRow {
            identity: g.key.identity.clone(),
            subject: g.key.subject.clone(),
            kind: g.key.kind,
            count: g.count,
            first_seen: g.first_seen as i64,
            last_seen: g.last_seen as i64,
            spark: sparkline(&per_minute),
            per_minute,
            server,
            user: l.user.clone().unwrap_or_default(),
            account: l.account_name.clone().or_else(|| l.account.clone()).unwrap_or_default(),
            client: l.client_name.clone().unwrap_or_default(),
            search,
        }
    }
}

/// `▁▂▅█` from counts (blank for a zero minute).
pub fn sparkline(v: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = v.iter().copied().max().unwrap_or(0);
    v.iter()
        .map(|&n| {
            if n == 0 || max == 0 {
                ' '
            } else {
                BARS[((u64::from(n) * 8).div_ceil(u64::from(max)) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

impl Searchable for GroupRow {
    fn search_text(&self) -> &str {
        &self.search
    }
}

pub fn group_columns() -> Vec<Column<GroupRow>> {
    vec![
        Column { title: "IDENTITY", width: 24, priority: 0, cell: |r, _| r.identity.clone() },
        Column { title: "KIND", width: 16, priority: 0, cell: |r, _| r.kind.as_str().into() },
        Column {
            title: "SUBJECT",
            width: 26,
            priority: 0,
            cell: |r, _| if r.subject.is_empty() { "-".into() } else { r.subject.clone() },
        },
        Column { title: "COUNT", width: 7, priority: 0, cell: |r, _| r.count.to_string() },
        Column { title: "LAST 15 MIN", width: 15, priority: 1, cell: |r, _| r.spark.clone() },
        Column { title: "FIRST", width: 8, priority: 2, cell: |r, _| hms(r.first_seen) },
        Column { title: "LAST", width: 8, priority: 1, cell: |r, _| hms(r.last_seen) },
        Column { title: "SERVER", width: 10, priority: 3, cell: |r, _| r.server.clone() },
    ]
}

impl TableRow for GroupRow {
    type Key = (String, String, ViolationKind);
    fn key(&self) -> Self::Key {
        (self.identity.clone(), self.subject.clone(), self.kind)
    }
    fn columns() -> Vec<Column<Self>> {
        group_columns()
    }
    fn detail_title(&self) -> String {
        format!("{} x {}", self.identity, self.kind.as_str())
    }
    fn detail(&self, _: &Clock) -> Vec<(&'static str, String)> {
        vec![
            ("Identity", self.identity.clone()),
            ("Kind", self.kind.as_str().into()),
            ("Subject", if self.subject.is_empty() { "-".into() } else { self.subject.clone() }),
            ("Count", self.count.to_string()),
            ("First seen", hms(self.first_seen)),
            ("Last seen", hms(self.last_seen)),
            ("Per minute", self.per_minute.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")),
            ("Last server", self.server.clone()),
            ("Last user", self.user.clone()),
            ("Last account", self.account.clone()),
            ("Last client", self.client.clone()),
            ("Keys", "i: permissions of the identity  +: grant  X: revoke".into()),
        ]
    }
}

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

    /// Appends a row; `hold` keeps the same rows on screen (paused).
    /// Returns whether it passed the filter.
    pub fn push(&mut self, identity: String, v: Violation, received: i64, hold: bool) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        let row = ViolationRow::new(seq, received, identity, v);
        let needle = &self.table.filter;
        let pass = needle.is_empty() || row.search.contains(needle.as_str());
        self.rows.push_back(row);
        if pass {
            self.matched.push_back(seq);
            self.table.visible.push(self.table.visible.len());
            if hold && self.matched.len() > 1 {
                self.table.selected += 1;
                self.table.offset += 1;
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
        self.table.filter = f.to_lowercase();
        let needle = self.table.filter.clone();
        self.matched =
            self.rows.iter().filter(|r| needle.is_empty() || r.search.contains(&needle)).map(|r| r.seq).collect();
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
        };
        (rows, t)
    }
}

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
    groups_built_at: i64,
    /// Sources of the feed and how they are doing.
    pub sources: Vec<SourceState>,
    /// Violations in the current minute and whether that jumped (banner).
    pub per_minute: u64,
    pub rate_jumped: bool,
    /// Time of the newest batch or tick (unix seconds).
    pub now: i64,
}

impl Default for ViolationsState {
    fn default() -> Self {
        ViolationsState {
            pipeline: Pipeline::new(Attributor::default(), StoreConfig::default()),
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

    fn rates(&mut self) {
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

/// A batch from the feed: O(batch) (plus the grouped rows at most once a
/// second while shown).
pub fn on_batch(s: &mut AppState, b: Batch) -> Outcome {
    let v = &mut s.violations;
    if let Some(at) = b.at {
        v.now = v.now.max(at.now_unix);
    }
    let mut redraw = false;
    for st in b.sources {
        v.sources.retain(|o| o.name != st.name);
        v.sources.push(st);
        redraw = true;
    }
    let now = v.now;
    let hold = v.paused || v.live.table.selected > 0;
    let mut shown = false;
    for x in b.violations {
        if let warden_core::violations::Outcome::Recorded { identity, .. } =
            v.pipeline.ingest_violation(x.clone(), now.max(0) as u64)
        {
            let pass = v.live.push(identity, x, now, hold);
            if pass && v.paused {
                v.unseen += 1;
            }
            shown |= pass;
            v.groups_dirty = true;
        }
    }
    let before = (v.per_minute, v.rate_jumped);
    v.rates();
    redraw |= before != (v.per_minute, v.rate_jumped);
    if s.view == ViewId::Violations {
        if v.grouped {
            if v.groups_dirty && now > v.groups_built_at {
                v.rebuild_groups();
                redraw = true;
            }
        } else {
            redraw |= shown;
        }
    }
    Outcome { cmds: vec![], redraw }
}

/// The one-second tick: the banner's per-minute count decays, the grouped
/// view catches up. Changes nothing (and draws nothing) when idle.
pub fn on_tick(s: &mut AppState, c: Clock) -> Outcome {
    let v = &mut s.violations;
    if v.pipeline.store.totals().ingested == 0 {
        return Outcome::none();
    }
    v.now = v.now.max(c.now_unix);
    let before = (v.per_minute, v.rate_jumped);
    v.rates();
    let mut redraw = before != (v.per_minute, v.rate_jumped);
    if s.view == ViewId::Violations && v.grouped && (v.groups_dirty || v.now / 60 != v.groups_built_at / 60) {
        v.rebuild_groups();
        redraw = true;
    }
    Outcome { cmds: vec![], redraw }
}

/// Refreshes the attributor from what the state knows: identities (JWT
/// users and `NatsIdentity` records), connections, permission sets.
pub fn refresh_attributor(s: &mut AppState) {
    let records = identity_records(s);
    if records.as_slice() != s.violations.pipeline.attributor.records() {
        s.violations.pipeline.set_attributor(Attributor::new(records));
    }
}

pub fn identity_records(s: &AppState) -> Vec<IdentityRecord> {
    let mut out: BTreeMap<(String, String), IdentityRecord> = BTreeMap::new();
    let mut add = |r: IdentityRecord| {
        let k = (r.key.clone(), r.nkey.clone().or(r.user.clone()).unwrap_or_default());
        out.entry(k).or_insert(r);
    };
    let ne = |x: &str| (!x.is_empty()).then(|| x.to_string());
    for r in &s.identities.rows {
        add(IdentityRecord {
            key: r.name().unwrap_or_else(|| r.user.clone()),
            account: ne(&r.account_key).or(ne(&r.account)),
            user: ne(&r.user),
            nkey: ne(&r.user_key),
            ..Default::default()
        });
    }
    for p in &s.perm_sets {
        let user = ne(&p.user);
        let (user, nkey) = match user {
            Some(u) if u.len() == 56 && u.starts_with('U') => (None, Some(u)),
            u => (u, None),
        };
        add(IdentityRecord { key: p.identity.clone(), account: ne(&p.account), user, nkey, ..Default::default() });
    }
    for c in &s.conns.rows {
        let user = &c.info.authorized_user;
        if user.is_empty() {
            continue;
        }
        // Operator mode lists users by public key; the JWT's name says who.
        let name = c.user_name.as_deref().unwrap_or(user);
        add(IdentityRecord {
            key: super::permissions::identity_of_user(name),
            account: ne(&c.info.account),
            user: ne(user),
            client_name: ne(&c.info.name),
            ..Default::default()
        });
    }
    out.into_values().collect()
}

/// The Violations view's own keys: pause, group, jump, grant, revoke.
pub fn on_action(s: &mut AppState, a: Action) -> Outcome {
    if s.view != ViewId::Violations {
        s.status = Some((Level::Info, "that key works in the violations view (0 or :violations)".into()));
        return Outcome::redraw();
    }
    let v = &mut s.violations;
    match a {
        Action::Pause => {
            v.paused = !v.paused;
            if !v.paused {
                v.unseen = 0;
                v.live.table.home();
            }
            let what = if v.paused { "paused: new violations are counted, the list holds still" } else { "following" };
            s.status = Some((Level::Info, what.into()));
            Outcome::redraw()
        }
        Action::Group => {
            v.grouped = !v.grouped;
            s.detail = false;
            if v.grouped {
                v.rebuild_groups();
            }
            Outcome::redraw()
        }
        Action::JumpIdentity => match target(s) {
            Some(t) => {
                let filter = t.filter_text();
                s.view = ViewId::Permissions;
                s.detail = false;
                s.set_filter(filter.clone());
                s.status = Some((Level::Info, format!("permissions of {}", t.identity)));
                Outcome::cmd(super::msg::Cmd::Refresh(ViewId::Permissions))
            }
            None => no_selection(s),
        },
        Action::Grant => {
            let Some(t) = target(s) else { return no_selection(s) };
            let dir = match t.kind {
                ViolationKind::PublishDenied => Direction::Publish,
                ViolationKind::SubscribeDenied => Direction::Subscribe,
                k => {
                    s.status = Some((Level::Warn, format!("grant: a {} has no subject to grant", k.as_str())));
                    return Outcome::redraw();
                }
            };
            let Some(subject) = t.subject.clone() else { return no_selection(s) };
            match IdentityName::parse(&t.identity) {
                // The identities' grant (JWT mode). One key on a violation
                // must not widen permissions by itself: it always asks
                // (Cancel is the default); over-broad subjects say so.
                Ok(name) => {
                    let req = Request::grant(name.clone(), dir, subject.clone());
                    if s.read_only || req.needs_broad_confirmation() {
                        return super::dialog::propose(s, req);
                    }
                    let (any, how) = match s.identity_mode {
                        IdentityMode::Spiffe => (
                            AnyRequest::Spiffe(warden_core::identity::spiffe_actions::Request::Grant {
                                name: name.clone(),
                                direction: dir.into(),
                                subject: subject.clone(),
                            }),
                            "Its authorization entry gains it and every server reloads.",
                        ),
                        IdentityMode::Jwt => (AnyRequest::Jwt(req), "The identity's JWT is re-minted with it."),
                    };
                    let question =
                        format!("Grant {} {subject} to {name}? It was denied: {}. {how}", dir.word(), t.kind.as_str());
                    s.dialog = Some(super::dialog::Dialog::Confirm {
                        request: any,
                        question,
                        focus: super::dialog::Button::Cancel,
                    });
                    Outcome::redraw()
                }
                Err(_) => {
                    s.status = Some((
                        Level::Warn,
                        format!("grant {subject}: {} is not a known identity (namespace/workload)", t.identity),
                    ));
                    Outcome::redraw()
                }
            }
        }
        Action::Revoke => {
            let Some(t) = target(s) else { return no_selection(s) };
            // JWT mode: the identity's revoke (confirmation first) on the
            // Identities view; anything else is not in this build.
            let found = s.identities.rows.iter().position(|r| {
                r.name().as_deref() == Some(t.identity.as_str())
                    || (!r.user_key.is_empty() && t.user.as_deref() == Some(r.user_key.as_str()))
            });
            match found {
                Some(i) if !s.read_only => {
                    let key = s.identities.rows[i].user_key.clone();
                    let name = s.identities.rows[i].name().unwrap_or_else(|| s.identities.rows[i].user.clone());
                    s.view = ViewId::Identities;
                    s.detail = false;
                    s.set_filter(if key.is_empty() { name } else { key.to_lowercase() });
                    super::dialog::on_action(s, Action::Revoke)
                }
                _ if s.read_only => {
                    s.status = Some((Level::Warn, "read-only: no changes are offered".into()));
                    Outcome::redraw()
                }
                _ => {
                    s.status = Some((
                        Level::Warn,
                        format!("revoke {}: not available in this build (no JWT identity for it)", t.identity),
                    ));
                    Outcome::redraw()
                }
            }
        }
        _ => Outcome::none(),
    }
}

fn no_selection(s: &mut AppState) -> Outcome {
    s.status = Some((Level::Warn, "no violation selected".into()));
    Outcome::redraw()
}

/// What an action from the Violations view is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub identity: String,
    pub user: Option<String>,
    pub subject: Option<String>,
    pub kind: ViolationKind,
}

impl Target {
    /// What to filter the Permissions view on: the identity, or for an
    /// unknown one (`user:ACC/name`) the user name.
    pub fn filter_text(&self) -> String {
        match self.identity.strip_prefix("user:").and_then(|r| r.split_once('/')) {
            Some((_, user)) => user.to_string(),
            None => self.identity.clone(),
        }
    }
}

pub fn target(s: &AppState) -> Option<Target> {
    let v = &s.violations;
    if v.grouped {
        v.groups.selected().map(|g| Target {
            identity: g.identity.clone(),
            user: (!g.user.is_empty()).then(|| g.user.clone()),
            subject: (!g.subject.is_empty()).then(|| g.subject.clone()),
            kind: g.kind,
        })
    } else {
        v.live.selected().map(|r| Target {
            identity: r.identity.clone(),
            user: r.violation.user.clone(),
            subject: r.violation.subject.clone(),
            kind: r.violation.kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn operator_mode_users_are_attributed_by_their_jwt_name() {
        use crate::app::conns::ConnRow;
        use crate::app::table::Clock;
        use warden_core::nats::types::ConnInfo;
        let claims = data_encoding::BASE64URL_NOPAD.encode(br#"{"name":"tentacle.tent-dev.summarizer","exp":0}"#);
        let ukey = format!("U{}", "A".repeat(55));
        let info = ConnInfo {
            authorized_user: ukey.clone(),
            account: format!("A{}", "B".repeat(55)),
            jwt: format!("h.{claims}.s"),
            ..Default::default()
        };
        let mut s = AppState::new("nats://x".into(), "t".into(), Clock { now_unix: 0 });
        s.conns.replace(vec![ConnRow::new("n1", "N", info)], 0);
        refresh_attributor(&mut s);
        // The operator-mode log line names the user by key only.
        let line = format!(
            r#"[1] 2026/11/23 10:14:47.000000 [ERR] 127.0.0.1:5 - cid:9 - "v0.51.0:rust:tent-dev/summarizer" - "A{}/APP/jwt:{ukey}" - Publish Violation - Subject "tentacular.payments.ledger.commands""#,
            "B".repeat(55)
        );
        let v = Violation::from_log(warden_core::violations::log_line::parse(&line).unwrap(), Some("n1"));
        assert_eq!(s.violations.pipeline.attributor.attribute(&v).key, "tent-dev/summarizer");
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

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0, 1, 2, 4]), " ▂▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
    }
}
