//! Bounded in-memory store of violations.
//!
//! - a ring of the newest `raw_capacity` violations;
//! - an aggregate per (identity, subject, kind) with count, first/last seen
//!   and a per-minute history, at most `group_capacity` groups; the least
//!   recently seen group is evicted (counted in [`Totals`]);
//! - a global per-minute history, and per-second counts for the rate: the
//!   violations of the last 60 s (a sliding window, so it does not drop at
//!   every minute boundary) and a "rate jumped" flag comparing it with the
//!   equal 60 s windows before it.
//!
//! Memory is bounded whatever the event count: every collection has a fixed
//! capacity and stored strings are cut to `max_field_len` bytes. Time is
//! passed in (unix seconds), there is no clock inside.

use std::collections::{HashMap, VecDeque};

use super::events::{Violation, ViolationKind};

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Newest raw violations kept (default 10 000; 0 keeps none, for a
    /// caller that keeps its own list of the newest).
    pub raw_capacity: usize,
    /// Aggregate groups kept (default 4 096).
    pub group_capacity: usize,
    /// One-minute buckets per group and globally (default 30).
    pub history_minutes: usize,
    /// `rate_jumped` when the last 60 s > factor x the trailing average.
    pub jump_factor: f64,
    /// Trailing 60 s windows averaged for `rate_jumped` (default 10).
    pub jump_window: usize,
    /// ... and the last 60 s have at least this many (default 10).
    pub jump_min: u64,
    /// Longest stored identity / subject / other string, in bytes (default 256).
    pub max_field_len: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            raw_capacity: 10_000,
            group_capacity: 4_096,
            history_minutes: 30,
            jump_factor: 3.0,
            jump_window: 10,
            jump_min: 10,
            max_field_len: 256,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub identity: String,
    /// Empty for kinds without a subject (auth failures, disconnects).
    pub subject: String,
    pub kind: ViolationKind,
}

/// Per-minute counts, newest at the end of [`MinuteHistory::buckets`].
#[derive(Debug, Clone)]
pub struct MinuteHistory {
    ring: Box<[u32]>,
    /// The minute (unix secs / 60) of the newest bucket.
    last_minute: u64,
}

impl MinuteHistory {
    fn new(len: usize, minute: u64) -> Self {
        MinuteHistory { ring: vec![0; len.max(1)].into_boxed_slice(), last_minute: minute }
    }

    fn advance(&mut self, minute: u64) {
        if minute <= self.last_minute {
            return;
        }
        let n = self.ring.len() as u64;
        let steps = (minute - self.last_minute).min(n);
        for k in 1..=steps {
            let idx = ((self.last_minute + k) % n) as usize;
            if let Some(b) = self.ring.get_mut(idx) {
                *b = 0;
            }
        }
        self.last_minute = minute;
    }

    /// Counts one event at `minute`; a minute older than the newest bucket
    /// but still in the window goes to its own bucket, older ones are only
    /// counted in totals.
    fn add(&mut self, minute: u64) {
        self.advance(minute);
        let n = self.ring.len() as u64;
        if self.last_minute - minute < n {
            let idx = (minute % n) as usize;
            if let Some(b) = self.ring.get_mut(idx) {
                *b = b.saturating_add(1);
            }
        }
    }

    /// Count for `minute` (0 when outside the window).
    pub fn at(&self, minute: u64) -> u32 {
        let n = self.ring.len() as u64;
        if minute > self.last_minute || self.last_minute - minute >= n {
            return 0;
        }
        self.ring.get((minute % n) as usize).copied().unwrap_or(0)
    }

    /// Oldest to newest, ending at `now_minute`.
    pub fn buckets(&self, now_minute: u64) -> Vec<u32> {
        let n = self.ring.len() as u64;
        (0..n).rev().map(|back| now_minute.checked_sub(back).map_or(0, |m| self.at(m))).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub key: GroupKey,
    pub count: u64,
    pub first_seen: u64,
    pub last_seen: u64,
    /// The latest violation of this group (for account/user/client columns).
    pub last: Violation,
    pub history: MinuteHistory,
}

#[derive(Debug, Clone)]
pub struct StoredViolation {
    /// Ingest time (unix seconds).
    pub at: u64,
    pub identity: String,
    pub violation: Violation,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Every violation ever recorded.
    pub ingested: u64,
    /// Groups evicted to stay within `group_capacity`...
    pub evicted_groups: u64,
    /// ... and the events they had counted, so that
    /// `sum(group.count) + evicted_events == ingested`.
    pub evicted_events: u64,
    /// Raw violations pushed out of the ring.
    pub raw_dropped: u64,
}

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Slot {
    group: Group,
    prev: u32,
    next: u32,
}

#[derive(Debug, Clone)]
pub struct Store {
    cfg: StoreConfig,
    raw: VecDeque<StoredViolation>,
    index: HashMap<GroupKey, u32>,
    slots: Vec<Slot>,
    /// Most recently seen.
    head: u32,
    /// Least recently seen (evicted first).
    tail: u32,
    per_minute: MinuteHistory,
    /// One bucket per second (the same ring, in seconds), enough for the
    /// last 60 s and the `jump_window` windows before them.
    per_second: MinuteHistory,
    totals: Totals,
}

impl Store {
    pub fn new(cfg: StoreConfig) -> Store {
        let mut cfg = cfg;
        cfg.group_capacity = cfg.group_capacity.clamp(1, (NIL - 1) as usize);
        cfg.history_minutes = cfg.history_minutes.max(1);
        let global_len = cfg.history_minutes.max(cfg.jump_window + 1);
        Store {
            raw: VecDeque::with_capacity(cfg.raw_capacity.min(1 << 16)),
            index: HashMap::new(),
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            per_minute: MinuteHistory::new(global_len, 0),
            per_second: MinuteHistory::new(60 * (cfg.jump_window.max(1) + 1), 0),
            totals: Totals::default(),
            cfg,
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    /// Records one violation attributed to `identity` at `now` (unix secs).
    pub fn record(&mut self, identity: &str, mut v: Violation, now: u64) {
        let max = self.cfg.max_field_len;
        for f in [
            &mut v.at,
            &mut v.server,
            &mut v.server_id,
            &mut v.account,
            &mut v.account_name,
            &mut v.user,
            &mut v.client_name,
            &mut v.client_addr,
            &mut v.subject,
            &mut v.queue,
            &mut v.reason,
        ]
        .into_iter()
        .flatten()
        {
            truncate(f, max);
        }
        let minute = now / 60;
        self.totals.ingested += 1;
        self.per_minute.add(minute);
        self.per_second.add(now);

        let key = GroupKey {
            identity: cut(identity, max).to_string(),
            subject: v.subject.clone().unwrap_or_default(),
            kind: v.kind,
        };
        if let Some(&i) = self.index.get(&key) {
            if let Some(slot) = self.slots.get_mut(i as usize) {
                let g = &mut slot.group;
                g.count += 1;
                g.last_seen = g.last_seen.max(now);
                g.first_seen = g.first_seen.min(now);
                g.history.add(minute);
                g.last = v.clone();
            }
            self.move_to_head(i);
        } else {
            let mut history = MinuteHistory::new(self.cfg.history_minutes, minute);
            history.add(minute);
            let group = Group { key: key.clone(), count: 1, first_seen: now, last_seen: now, last: v.clone(), history };
            let i = if self.slots.len() < self.cfg.group_capacity {
                self.slots.push(Slot { group, prev: NIL, next: NIL });
                (self.slots.len() - 1) as u32
            } else {
                let t = self.tail;
                self.unlink(t);
                if let Some(slot) = self.slots.get_mut(t as usize) {
                    let old = std::mem::replace(&mut slot.group, group);
                    self.index.remove(&old.key);
                    self.totals.evicted_groups += 1;
                    self.totals.evicted_events += old.count;
                }
                t
            };
            self.index.insert(key, i);
            self.push_head(i);
        }

        if self.cfg.raw_capacity == 0 {
            return;
        }
        if self.raw.len() >= self.cfg.raw_capacity {
            self.raw.pop_front();
            self.totals.raw_dropped += 1;
        }
        self.raw.push_back(StoredViolation { at: now, identity: cut(identity, max).to_string(), violation: v });
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = match self.slots.get(i as usize) {
            Some(s) => (s.prev, s.next),
            None => return,
        };
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.prev = NIL;
            s.next = NIL;
        }
    }

    fn push_head(&mut self, i: u32) {
        let old = self.head;
        if let Some(s) = self.slots.get_mut(i as usize) {
            s.prev = NIL;
            s.next = old;
        }
        if let Some(h) = self.slots.get_mut(old as usize) {
            h.prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn move_to_head(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_head(i);
        }
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Newest raw violations, oldest first.
    pub fn recent(&self) -> impl DoubleEndedIterator<Item = &StoredViolation> + ExactSizeIterator {
        self.raw.iter()
    }

    pub fn group_count(&self) -> usize {
        self.index.len()
    }

    pub fn group(&self, key: &GroupKey) -> Option<&Group> {
        self.index.get(key).and_then(|&i| self.slots.get(i as usize)).map(|s| &s.group)
    }

    /// Groups, most recently seen first.
    pub fn groups(&self) -> GroupsIter<'_> {
        GroupsIter { store: self, next: self.head, left: self.index.len() }
    }

    /// Violations in the 60 s ending at `now` (a sliding window).
    pub fn per_minute(&self, now: u64) -> u64 {
        self.window_ending(now)
    }

    /// Violations in the 60 seconds `end - 59 ..= end`.
    fn window_ending(&self, end: u64) -> u64 {
        (0..60).filter_map(|k| end.checked_sub(k)).map(|t| u64::from(self.per_second.at(t))).sum()
    }

    /// Global per-minute counts, oldest first, ending with `now`'s minute.
    pub fn minute_history(&self, now: u64) -> Vec<u32> {
        let mut v = self.per_minute.buckets(now / 60);
        let keep = self.cfg.history_minutes.min(v.len());
        v.split_off(v.len() - keep)
    }

    /// Average of the `jump_window` 60 s windows before the last 60 s
    /// (windows of the same length as the rate they are compared with).
    pub fn trailing_average(&self, now: u64) -> f64 {
        let w = self.cfg.jump_window.max(1) as u64;
        let sum: u64 = (1..=w).map(|k| now.checked_sub(60 * k).map_or(0, |end| self.window_ending(end))).sum();
        sum as f64 / w as f64
    }

    /// The last 60 s hold more than `jump_factor` x the trailing average
    /// (and at least `jump_min`).
    pub fn rate_jumped(&self, now: u64) -> bool {
        let cur = self.per_minute(now);
        cur >= self.cfg.jump_min && cur as f64 > self.cfg.jump_factor * self.trailing_average(now)
    }
}

pub struct GroupsIter<'a> {
    store: &'a Store,
    next: u32,
    left: usize,
}

impl<'a> Iterator for GroupsIter<'a> {
    type Item = &'a Group;
    fn next(&mut self) -> Option<&'a Group> {
        if self.left == 0 {
            return None;
        }
        let s = self.store.slots.get(self.next as usize)?;
        self.next = s.next;
        self.left -= 1;
        Some(&s.group)
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn truncate(s: &mut String, max: usize) {
    let n = cut(s, max).len();
    s.truncate(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(kind: ViolationKind, subject: &str) -> Violation {
        Violation {
            at: None,
            server: None,
            server_id: None,
            kind,
            account: Some("APP".into()),
            account_name: None,
            user: Some("u".into()),
            client_name: None,
            client_addr: None,
            cid: Some(1),
            subject: (!subject.is_empty()).then(|| subject.to_string()),
            queue: None,
            reason: None,
            cause: None,
        }
    }

    fn sum_counts(s: &Store) -> u64 {
        s.groups().map(|g| g.count).sum()
    }

    #[test]
    fn aggregates_and_keeps_order() {
        let mut s = Store::new(StoreConfig::default());
        s.record("ns/a", v(ViolationKind::PublishDenied, "x"), 100);
        s.record("ns/a", v(ViolationKind::PublishDenied, "x"), 130);
        s.record("ns/a", v(ViolationKind::SubscribeDenied, "x"), 140);
        s.record("ns/b", v(ViolationKind::AuthFailed, ""), 150);
        assert_eq!(s.group_count(), 3);
        let g = s
            .group(&GroupKey { identity: "ns/a".into(), subject: "x".into(), kind: ViolationKind::PublishDenied })
            .unwrap();
        assert_eq!((g.count, g.first_seen, g.last_seen), (2, 100, 130));
        assert_eq!(g.history.buckets(130 / 60), {
            let mut b = vec![0; 30];
            b[28] = 1; // minute 1 (100s)
            b[29] = 1; // minute 2 (130s)
            b
        });
        let order: Vec<&str> = s.groups().map(|g| g.key.identity.as_str()).collect();
        assert_eq!(order, ["ns/b", "ns/a", "ns/a"]);
        assert_eq!(s.recent().len(), 4);
        assert_eq!(s.totals().ingested, 4);
    }

    #[test]
    fn no_raw_ring_still_groups_and_counts() {
        let mut s = Store::new(StoreConfig { raw_capacity: 0, ..Default::default() });
        for i in 0..5 {
            s.record("a", v(ViolationKind::PublishDenied, "1"), i);
        }
        assert_eq!(s.recent().len(), 0);
        assert_eq!(s.groups().map(|g| g.count).collect::<Vec<_>>(), [5]);
        assert_eq!((s.totals().ingested, s.totals().raw_dropped), (5, 0));
    }

    #[test]
    fn evicts_least_recently_seen_and_counts_it() {
        let mut s = Store::new(StoreConfig { group_capacity: 2, raw_capacity: 3, ..Default::default() });
        s.record("a", v(ViolationKind::PublishDenied, "1"), 0);
        s.record("b", v(ViolationKind::PublishDenied, "1"), 1);
        s.record("a", v(ViolationKind::PublishDenied, "1"), 2); // a is now newest
        s.record("c", v(ViolationKind::PublishDenied, "1"), 3); // evicts b
        let ids: Vec<&str> = s.groups().map(|g| g.key.identity.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);
        let t = s.totals();
        assert_eq!((t.evicted_groups, t.evicted_events, t.ingested), (1, 1, 4));
        assert_eq!(sum_counts(&s) + t.evicted_events, t.ingested);
        assert_eq!(s.recent().len(), 3);
        assert_eq!(t.raw_dropped, 1);
        assert_eq!(s.recent().next().unwrap().identity, "b");
    }

    #[test]
    fn per_minute_and_jump() {
        let mut s = Store::new(StoreConfig::default());
        let base = 60 * 1000;
        // 2 per minute for 10 minutes.
        for m in 0..10 {
            for _ in 0..2 {
                s.record("a", v(ViolationKind::PublishDenied, "x"), base + m * 60);
            }
        }
        let now = base + 10 * 60;
        assert_eq!(s.per_minute(now), 0);
        assert!((s.trailing_average(now) - 2.0).abs() < 1e-9);
        for _ in 0..6 {
            s.record("a", v(ViolationKind::PublishDenied, "x"), now);
        }
        assert!(!s.rate_jumped(now), "6 <= 3*2 and < jump_min");
        for _ in 0..10 {
            s.record("a", v(ViolationKind::PublishDenied, "x"), now + 1);
        }
        assert_eq!(s.per_minute(now + 1), 16);
        assert!(s.rate_jumped(now + 1));
        let h = s.minute_history(now);
        assert_eq!(h.len(), 30);
        assert_eq!(h[29], 16);
        assert_eq!(h[28], 2);
        // An hour later everything has rolled out of the window.
        assert_eq!(s.minute_history(now + 3600).iter().sum::<u32>(), 0);
        // Time going backwards does not panic and is still counted.
        s.record("a", v(ViolationKind::PublishDenied, "x"), 5);
        assert_eq!(s.totals().ingested, 37);
    }

    #[test]
    fn the_rate_is_a_sliding_minute_and_the_trend_compares_equal_windows() {
        let mut s = Store::new(StoreConfig::default());
        let minute = 60 * 1000;
        // 30 violations in the last 10 s of a clock minute.
        for i in 0..30 {
            s.record("a", v(ViolationKind::PublishDenied, "x"), minute - 10 + i % 10);
        }
        // 5 s into the next minute they still count: no drop at :00.
        assert_eq!(s.per_minute(minute + 5), 30);
        assert!(s.rate_jumped(minute + 5), "30 against nothing before");
        // They leave one by one as the window slides past them.
        assert_eq!(s.per_minute(minute + 49), 30);
        assert_eq!(s.per_minute(minute + 55), 12);
        assert_eq!(s.per_minute(minute + 60), 0);
        // A steady 30 a minute is no jump, whatever the second: the trend
        // compares the last 60 s with 60 s windows, never a part-minute.
        let mut s = Store::new(StoreConfig::default());
        for t in 0..(15 * 60) {
            if t % 2 == 0 {
                s.record("a", v(ViolationKind::PublishDenied, "x"), minute + t);
            }
            if t > 11 * 60 {
                assert_eq!(s.per_minute(minute + t), 30, "t={t}");
                assert!(!s.rate_jumped(minute + t), "t={t}");
            }
        }
    }

    #[test]
    fn strings_are_bounded() {
        let mut s = Store::new(StoreConfig { max_field_len: 8, ..Default::default() });
        let long = "é".repeat(100);
        s.record(&long, v(ViolationKind::PublishDenied, &long), 0);
        let g = s.groups().next().unwrap();
        assert!(g.key.identity.len() <= 8 && g.key.subject.len() <= 8);
        assert_eq!(g.key.subject, "éééé");
    }

    proptest::proptest! {
        #[test]
        fn totals_always_balance(ops in proptest::collection::vec((0u8..20, 0u8..3, 0u64..5000), 1..400), cap in 1usize..8) {
            let mut s = Store::new(StoreConfig { group_capacity: cap, raw_capacity: 5, ..Default::default() });
            for (id, subj, t) in ops {
                s.record(&format!("id{id}"), v(ViolationKind::PublishDenied, &subj.to_string()), t);
                let tot = s.totals();
                proptest::prop_assert!(s.group_count() <= cap);
                proptest::prop_assert_eq!(s.groups().count(), s.group_count());
                proptest::prop_assert_eq!(sum_counts(&s) + tot.evicted_events, tot.ingested);
                proptest::prop_assert!(s.recent().len() <= 5);
            }
        }
    }
}
