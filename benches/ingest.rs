//! parse + attribute + aggregate over a realistic mix of log lines and
//! system events. Prints events/s for the mix.
//!
//! cargo bench --bench ingest

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden_core::violations::pipeline::Input;
use warden_core::violations::{Attributor, IdentityRecord, Pipeline, StoreConfig};

const AUTH_ERR: &str = include_str!("../crates/warden-core/src/violations/testdata/cfg_auth_err.txt");
const KICKED: &str = include_str!("../crates/warden-core/src/violations/testdata/op_kicked.txt");

/// 1 000 inputs: 70% ordinary log lines (INF/connection noise), 25%
/// violation lines over 200 users and 50 subjects, 5% events.
pub fn mix() -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for i in 0..1000u32 {
        let item = match i % 20 {
            0 => {
                let (s, b) = if i % 40 == 0 { AUTH_ERR } else { KICKED }.split_once('\n').unwrap();
                (Some(s.to_string()), b.to_string())
            }
            1..=5 => {
                let user = format!("tentacle.ns{}.wf{}", i % 20, i % 200);
                let subj = format!("tentacular.other{}.wf.x", i % 50);
                let line = if i % 3 == 0 {
                    format!(
                        r#"[1] 2026/11/23 08:00:00.123456 [ERR] 10.0.{}.{}:5{:04} - cid:{i} - "v0.51.0:rust:wf{}" - "APP/user:{user}" - Subscription Violation - Subject "{subj}", SID {i}"#,
                        i % 250,
                        i % 200,
                        i,
                        i % 200
                    )
                } else {
                    format!(
                        r#"[1] 2026/11/23 08:00:00.123456 [ERR] 10.0.{}.{}:5{:04} - cid:{i} - "v0.51.0:rust:wf{}" - "APP/user:{user}" - Publish Violation - Subject "{subj}""#,
                        i % 250,
                        i % 200,
                        i,
                        i % 200
                    )
                };
                (None, line)
            }
            _ => (
                None,
                format!("[1] 2026/11/23 08:00:00.123456 [INF] 10.0.0.1:5{i:04} - cid:{i} - Client connection created"),
            ),
        };
        out.push(item);
    }
    out
}

pub fn attributor() -> Attributor {
    Attributor::new(
        (0..200)
            .map(|i| IdentityRecord {
                key: format!("ns{}/wf{}", i % 20, i),
                account: Some("APP".into()),
                user: Some(format!("tentacle.ns{}.wf{}", i % 20, i)),
                ..Default::default()
            })
            .collect(),
    )
}

fn feed(p: &mut Pipeline, mix: &[(Option<String>, String)], t: u64) {
    for (subj, body) in mix {
        let input = match subj {
            Some(s) => Input::Event { subject: s, payload: body.as_bytes() },
            None => Input::LogLine { source: Some("nats-0"), line: body },
        };
        black_box(p.ingest(input, t));
    }
}

fn bench(c: &mut Criterion) {
    let mix = mix();
    // Plain throughput figure, printed once.
    let mut p = Pipeline::new(attributor(), StoreConfig::default());
    let rounds = 200;
    let start = Instant::now();
    for r in 0..rounds {
        feed(&mut p, &mix, 1_000_000 + r);
    }
    let el = start.elapsed().as_secs_f64();
    let n = (rounds as usize * mix.len()) as f64;
    let violations = p.store.totals().ingested as f64;
    println!(
        "ingest mix: {:.0} inputs/s ({:.0} violations/s recorded), {} groups",
        n / el,
        violations / el,
        p.store.group_count()
    );

    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(mix.len() as u64));
    let mut p = Pipeline::new(attributor(), StoreConfig::default());
    let mut t = 1_000_000u64;
    g.bench_function("mixed_1000", |b| {
        b.iter(|| {
            t += 1;
            feed(&mut p, &mix, t)
        })
    });
    let lines: Vec<&str> =
        mix.iter().filter(|(s, b)| s.is_none() && b.contains("Violation")).map(|(_, b)| b.as_str()).collect();
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_violation_lines", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(warden_core::violations::log_line::parse(l));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
