//! Account subject mappings (`nats.mappings` of an account JWT, as
//! `nats::mapping` reads them) and the subject a publish is mapped to.
//! Input: the subject published on the first line, then the account
//! JWT's `nats` object as JSON.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use warden_core::nats::{mapping, subject};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (subj, json) = text.split_once('\n').unwrap_or(("orders.new", &text));
    let Ok(nats) = serde_json::from_str::<Map<String, Value>>(json) else { return };
    let mappings = mapping::from_account_extra(&nats);
    for m in &mappings {
        let _ = (m.describe(), m.weighted(), m.cluster_scoped());
        assert!(subject::is_valid_pattern(&m.source));
        // As nats-server's AddWeightedMappings leaves them: per cluster the
        // weights total 100 (the source fills the rest) unless the source is
        // one of the destinations (then the rest is lost), never over 100.
        let mut totals = BTreeMap::<&str, u32>::new();
        for d in &m.destinations {
            assert!((1..=100).contains(&d.weight), "{d:?}");
            *totals.entry(&d.cluster).or_default() += u32::from(d.weight);
        }
        let lossy = m.destinations.iter().any(|d| d.subject == m.source && !d.implicit);
        for (cluster, total) in totals {
            assert!(total <= 100, "{cluster}: {total}");
            assert!(lossy || total == 100, "{cluster}: {total}");
        }
    }
    match mapping::select(&mappings, subj) {
        mapping::Outcome::Unmapped => assert!(!mappings.iter().any(|m| subject::matches(&m.source, subj))),
        mapping::Outcome::Mapped { mapping, subjects, .. } => {
            assert!(subject::matches(&mapping.source, subj));
            assert_eq!(subjects.len(), mapping.destinations.len());
        }
    }
    for m in &mappings {
        for d in &m.destinations {
            let _ = mapping::transform(&m.source, &d.subject, subj);
        }
    }
});
