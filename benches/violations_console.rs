//! The Violations view during a storm: `update` with a batch from the feed
//! plus a full 200x50 frame, with the store full (10k live rows, 4096
//! groups, churning). The bar: input handled and frame drawn within 16 ms
//! at p99 while ingesting. Criterion gives the means; a plain loop after it
//! prints p50/p99/max of one key + one batch + one frame.
//!
//! cargo bench --bench violations_console

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::app::violations::feed::Batch;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::violations::{Attributor, IdentityRecord, Violation, ViolationKind};

const NOW: i64 = 1_795_420_800;

fn violation(i: u64) -> Violation {
    let wf = i % 1000;
    Violation {
        at: None,
        server: Some(format!("nats-{}", i % 3)),
        server_id: Some(format!("NSRV{}", i % 3)),
        kind: if i.is_multiple_of(3) { ViolationKind::SubscribeDenied } else { ViolationKind::PublishDenied },
        account: Some("APP".into()),
        account_name: None,
        user: Some(format!("tentacle.ns-{}.wf-{wf}", wf % 17)),
        client_name: Some(format!("wf-{wf}")),
        client_addr: Some(format!("10.0.{}.{}:4222", wf / 250, wf % 250)),
        cid: Some(i),
        subject: Some(format!("tentacular.ns-{}.wf-{}.events.{}", (i / 7) % 17, (i / 3) % 1000, i % 11)),
        queue: None,
        reason: None,
        cause: None,
    }
}

fn batch(from: u64, n: u64, now: i64) -> Msg {
    Msg::Violations(Batch {
        at: Some(Clock { now_unix: now }),
        violations: (from..from + n).map(violation).collect(),
        sources: vec![],
        ..Default::default()
    })
}

fn state(grouped: bool) -> AppState {
    let mut s = AppState::new("nats://x".into(), "bench".into(), Clock { now_unix: NOW });
    s.view = ViewId::Violations;
    update(&mut s, Msg::Resize(200, 50));
    s.violations.pipeline.set_attributor(Attributor::new(
        (0..1000)
            .map(|wf| IdentityRecord {
                key: format!("ns-{}/wf-{wf}", wf % 17),
                account: Some("APP".into()),
                user: Some(format!("tentacle.ns-{}.wf-{wf}", wf % 17)),
                ..Default::default()
            })
            .collect(),
    ));
    // Fill: 50k violations over the last 10 minutes.
    for m in 0..10 {
        update(&mut s, batch(m * 5000, 5000, NOW - 600 + m as i64 * 60));
    }
    if grouped {
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('v'))));
    }
    s
}

fn bench(c: &mut Criterion) {
    let theme = Theme::builtin("default").unwrap();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();

    let mut s = state(false);
    let mut i = 1_000_000u64;
    c.bench_function("violations live: batch of 500 + draw 200x50", |b| {
        b.iter(|| {
            update(&mut s, batch(i, 500, NOW));
            i += 500;
            term.draw(|f| render(&s, &theme, f)).unwrap();
        })
    });

    let mut s = state(false);
    // Paused once, outside the measured closure (criterion calls it several times).
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('p'))));
    assert!(s.violations.paused);
    c.bench_function("violations live: key down + batch of 500 + draw 200x50 (paused)", |b| {
        b.iter(|| {
            update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Down)));
            update(&mut s, batch(i, 500, NOW));
            i += 500;
            term.draw(|f| render(&s, &theme, f)).unwrap();
        })
    });

    let mut s = state(false);
    // One filter opened, typed once: "ns-" matches rows; each iteration
    // narrows it to "ns-3" (a real subset) and widens it back.
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('/'))));
    for ch in "ns-".chars() {
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char(ch))));
    }
    let wide = s.violations.live.matched();
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('3'))));
    let narrow = s.violations.live.matched();
    update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Backspace)));
    assert!(narrow > 0 && narrow < wide, "the filter matches a real subset: {narrow} of {wide}");
    c.bench_function("violations live: filter keystroke over 10k rows + draw 200x50", |b| {
        b.iter(|| {
            update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char('3'))));
            update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Backspace)));
            term.draw(|f| render(&s, &theme, f)).unwrap();
        })
    });

    // Grouped: the worst case, a rebuild of 4096 groups every batch (the
    // console does it at most once a second).
    let mut s = state(true);
    let mut t = NOW;
    c.bench_function("violations grouped: batch of 500 + group rebuild + draw 200x50", |b| {
        b.iter(|| {
            t += 1;
            update(&mut s, batch(i, 500, t));
            i += 500;
            term.draw(|f| render(&s, &theme, f)).unwrap();
        })
    });

    // p99 of one input + one batch + one frame, live and grouped.
    // (label, grouped, a new second every n batches)
    let runs = [
        ("live", false, 10),
        ("grouped, 100 ms batches (rebuild once a second)", true, 10),
        ("grouped, rebuild every batch (worst case)", true, 1),
    ];
    for (label, grouped, every) in runs {
        let mut s = state(grouped);
        let mut times = Vec::with_capacity(3000);
        let mut t = NOW;
        for n in 0..3000u64 {
            let start = Instant::now();
            update(&mut s, Msg::Key(KeyEvent::from(if n % 2 == 0 { KeyCode::Down } else { KeyCode::Up })));
            if n.is_multiple_of(every) {
                t += 1;
            }
            update(&mut s, batch(i, 500, t));
            i += 500;
            term.draw(|f| render(&s, &theme, f)).unwrap();
            times.push(start.elapsed());
        }
        times.sort();
        let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "violations {label}: key + batch of 500 + frame 200x50: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  (bar 16 ms)",
            ms(p(0.5)),
            ms(p(0.99)),
            ms(*times.last().unwrap())
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
