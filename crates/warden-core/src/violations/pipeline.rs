//! `ingest`: parse -> attribute -> store, shared by the console, the report
//! and the benchmark.

use std::collections::{HashSet, VecDeque};

use super::attribution::{Attribution, Attributor};
use super::events::{self, Violation, ViolationKind};
use super::log_line;
use super::store::{Store, StoreConfig};

/// One piece of input.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A nats-server log line; `source` names the server / pod / file.
    LogLine { source: Option<&'a str>, line: &'a str },
    /// A system-account message.
    Event { subject: &'a str, payload: &'a [u8] },
}

/// What `ingest` did with an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded under this identity.
    Recorded { identity: String, kind: ViolationKind },
    /// The same auth failure already came from the other subject.
    Duplicate,
    /// Not a violation (other log lines, ordinary disconnects, garbage).
    Ignored,
}

/// How many recent auth failures are remembered for deduplication.
const DEDUP_CAPACITY: usize = 4096;

/// A failed authentication is published on both
/// `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` and `$SYS.ACCOUNT.$G.DISCONNECT`:
/// remembered by (server id, cid, kind) so it is counted once.
#[derive(Debug, Clone, Default)]
struct Dedup {
    seen: HashSet<(String, u64, ViolationKind)>,
    order: VecDeque<(String, u64, ViolationKind)>,
}

impl Dedup {
    /// `true` if already seen (and then forgets it: there are only two copies).
    fn check(&mut self, v: &Violation) -> bool {
        if !matches!(v.kind, ViolationKind::AuthFailed | ViolationKind::AuthTimeout) {
            return false;
        }
        let (Some(server), Some(cid)) = (v.server_id.as_ref(), v.cid) else {
            return false;
        };
        let key = (server.clone(), cid, v.kind);
        if self.seen.remove(&key) {
            return true;
        }
        if self.order.len() >= DEDUP_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(key.clone());
        self.order.push_back(key);
        false
    }
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub attributor: Attributor,
    pub store: Store,
    dedup: Dedup,
    /// Inputs that were not violations (for diagnostics).
    pub ignored: u64,
    pub duplicates: u64,
}

impl Pipeline {
    pub fn new(attributor: Attributor, cfg: StoreConfig) -> Pipeline {
        Pipeline { attributor, store: Store::new(cfg), dedup: Dedup::default(), ignored: 0, duplicates: 0 }
    }

    /// Replaces the known identities (e.g. after a reload); the store keeps
    /// its history.
    pub fn set_attributor(&mut self, a: Attributor) {
        self.attributor = a;
    }

    /// Parse -> attribute -> store. `now` is unix seconds.
    pub fn ingest(&mut self, input: Input<'_>, now: u64) -> Outcome {
        match parse(input) {
            Some(v) => self.ingest_violation(v, now),
            None => {
                self.ignored += 1;
                Outcome::Ignored
            }
        }
    }

    /// Attribute -> store for an already parsed violation.
    pub fn ingest_violation(&mut self, v: Violation, now: u64) -> Outcome {
        if self.dedup.check(&v) {
            self.duplicates += 1;
            return Outcome::Duplicate;
        }
        let Attribution { key, .. } = self.attributor.attribute(&v);
        let kind = v.kind;
        self.store.record(&key, v, now);
        Outcome::Recorded { identity: key, kind }
    }
}

/// Parse only.
pub fn parse(input: Input<'_>) -> Option<Violation> {
    match input {
        Input::LogLine { source, line } => log_line::parse(line).map(|l| Violation::from_log(l, source)),
        Input::Event { subject, payload } => events::parse_event(subject, payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violations::attribution::IdentityRecord;

    #[test]
    fn end_to_end_with_dedup() {
        let mut p = Pipeline::new(
            Attributor::new(vec![IdentityRecord {
                key: "ns/wf".into(),
                account: Some("APP".into()),
                user: Some("tent".into()),
                ..Default::default()
            }]),
            StoreConfig::default(),
        );
        let line = r#"[9939] 2026/11/23 09:08:33.763031 [ERR] 127.0.0.1:51318 - cid:8 - "v2.16.0:python3:tent-app" - "APP/user:tent" - Publish Violation - Subject "x.y""#;
        assert_eq!(
            p.ingest(Input::LogLine { source: Some("n1"), line }, 60),
            Outcome::Recorded { identity: "ns/wf".into(), kind: ViolationKind::PublishDenied }
        );
        assert_eq!(p.ingest(Input::LogLine { source: None, line: "[INF] hi" }, 60), Outcome::Ignored);
        let (s1, b1) = include_str!("testdata/cfg_auth_err.txt").split_once('\n').unwrap();
        let (s2, b2) = include_str!("testdata/cfg_auth_err_disconnect.txt").split_once('\n').unwrap();
        let o = p.ingest(Input::Event { subject: s1, payload: b1.as_bytes() }, 61);
        assert!(matches!(o, Outcome::Recorded { kind: ViolationKind::AuthFailed, .. }), "{o:?}");
        assert_eq!(p.ingest(Input::Event { subject: s2, payload: b2.as_bytes() }, 61), Outcome::Duplicate);
        assert_eq!(p.store.totals().ingested, 2);
        assert_eq!(p.store.group_count(), 2);
    }
}
