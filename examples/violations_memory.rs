//! Heap in use after ingesting 10 million violations stays bounded.
//!
//! cargo run --release --example violations_memory [-- <events>]
//!
//! A counting global allocator reports live heap bytes after 10k, 1M and
//! the final count of events; the store's capacities bound it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use warden_core::violations::pipeline::Input;
use warden_core::violations::{Attributor, IdentityRecord, Pipeline, StoreConfig};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let total: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let attributor = Attributor::new(
        (0..1000)
            .map(|i| IdentityRecord {
                key: format!("ns{}/wf{i}", i % 50),
                account: Some("APP".into()),
                user: Some(format!("tentacle.ns{}.wf{i}", i % 50)),
                ..Default::default()
            })
            .collect(),
    );
    let base = LIVE.load(Ordering::Relaxed);
    let mut p = Pipeline::new(attributor, StoreConfig::default());
    let start = Instant::now();
    let mut line = String::new();
    let mut checkpoints = vec![10_000u64, 1_000_000, total];
    checkpoints.retain(|&c| c <= total);
    for i in 0..total {
        use std::fmt::Write;
        line.clear();
        // Unbounded key space: every event has a new user/subject pair
        // every so often, so groups churn through eviction.
        let _ = write!(
            line,
            r#"[1] 2026/11/23 08:00:00.123456 [ERR] 10.0.{}.{}:5{} - cid:{i} - "v0.51.0:rust:wf" - "APP/user:tentacle.ns{}.wf{}" - Publish Violation - Subject "tentacular.x.{}.y""#,
            (i / 256) % 256,
            i % 256,
            i % 10000,
            i % 50,
            i % 1500,
            i % 7919
        );
        p.ingest(Input::LogLine { source: Some("nats-0"), line: &line }, 1_000_000 + i / 10_000);
        if checkpoints.first() == Some(&(i + 1)) {
            checkpoints.remove(0);
            let t = p.store.totals();
            println!(
                "after {:>10} events: live heap {:>7.2} MiB (pipeline), groups {}, raw {}, evicted groups {}, {:.0} events/s",
                i + 1,
                (LIVE.load(Ordering::Relaxed) - base) as f64 / (1024.0 * 1024.0),
                p.store.group_count(),
                p.store.recent().len(),
                t.evicted_groups,
                (i + 1) as f64 / start.elapsed().as_secs_f64()
            );
            assert_eq!(p.store.groups().map(|g| g.count).sum::<u64>() + t.evicted_events, t.ingested);
        }
    }
}
