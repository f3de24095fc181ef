//! Console responsiveness with 100k connections: a filter keystroke, a
//! scroll step and a full frame at 200x50. The bar is 16 ms per input+frame.
//!
//! cargo bench --bench console

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use warden::app::conns::{ConnRow, RowNames};
use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::ui::render::render;
use warden::ui::theme::Theme;
use warden_core::nats::jwt::{self, KeyKind, SigningKey, UserClaims};
use warden_core::nats::types::ConnInfo;

/// Rows as the worker hands them over: each connection presents one of 97
/// identities' real user JWTs, decoded and verified once per token through
/// the worker's cache, the token text then dropped (as live data).
fn rows(n: u64) -> Vec<ConnRow> {
    let account = SigningKey::generate(KeyKind::Account);
    let users: Vec<(String, String)> = (0..97)
        .map(|k| {
            let u = SigningKey::generate(KeyKind::User);
            let mut c = UserClaims::new_user(u.public_key(), &format!("tentacle.ns-{k}.wf"));
            let token = jwt::encode_user(&mut c, &account, account.public_key(), 0).expect("mint");
            (u.public_key().to_string(), token)
        })
        .collect();
    let mut cache = RowNames::default();
    (0..n)
        .map(|i| {
            let (user, token) = &users[(i % 97) as usize];
            let info = ConnInfo {
                cid: i,
                ip: format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
                name: format!("wf-{i}"),
                lang: "go".into(),
                authorized_user: user.clone(),
                account: account.public_key().to_string(),
                jwt: token.clone(),
                ..Default::default()
            };
            ConnRow::decoded(&format!("n{}", i % 5), "NID", info, &mut cache).without_token()
        })
        .collect()
}

fn state() -> AppState {
    let mut s = AppState::new("nats://x".into(), "bench".into(), Clock { now_unix: 0 });
    s.view = ViewId::Conns;
    update(&mut s, Msg::Resize(200, 50));
    update(&mut s, Msg::Conns { at: Clock { now_unix: 0 }, result: Ok((rows(100_000), vec![])) });
    s
}

fn key(s: &mut AppState, c: KeyCode) {
    update(s, Msg::Key(KeyEvent::from(c)));
}

fn bench(c: &mut Criterion) {
    let theme = Theme::builtin("default").unwrap();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();

    let mut s = state();
    c.bench_function("100k conns: scroll one row + draw 200x50", |b| {
        b.iter(|| {
            // Every iteration really moves: back to the top at the bottom.
            let t = &s.conns.table;
            let at_end = t.selected + 1 >= t.visible.len();
            key(&mut s, if at_end { KeyCode::Home } else { KeyCode::Down });
            term.draw(|f| render(&s, &theme, f)).unwrap();
        })
    });

    let mut s = state();
    key(&mut s, KeyCode::Char('/'));
    key(&mut s, KeyCode::Char('n'));
    key(&mut s, KeyCode::Char('s'));
    c.bench_function("100k conns: filter keystroke + draw 200x50", |b| {
        b.iter(|| {
            key(&mut s, KeyCode::Char('-'));
            key(&mut s, KeyCode::Backspace);
            term.draw(|f| render(&s, &theme, f)).unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
