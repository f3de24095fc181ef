//! What an operator types into the console: the `:` command line
//! (`app::keys::command`, `update`'s command handler, `:ctx NAME`) and the
//! `/` filter (a substring, or `re:` and a regular expression), typed key by
//! key or pasted, in any view; then the screen is drawn. No panic, and no
//! control character of the typed text reaches the terminal.
//! Input: byte 0 picks the view, byte 1 the mode and how the text arrives,
//! byte 2 the terminal size; the rest is the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use warden::app::conns::ConnRow;
use warden::app::msg::Msg;
use warden::app::servers::ServerRow;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::update::update;
use warden::app::view_id::ViewId;
use warden::ui::theme::Theme;
use warden_core::nats::types::{ConnInfo, ServerInfo, Varz};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Rows for the filter to match (names as the sandbox's fleet has them).
fn state() -> AppState {
    let at = Clock { now_unix: 1_700_000_000 };
    let mut s = AppState::new("nats://127.0.0.1:4222".into(), "fuzz".into(), at);
    s.kube_contexts = vec!["kind-prod".into(), "kind-dev".into()];
    let servers = ["n1", "n2", "édge-ü"]
        .iter()
        .map(|n| {
            let info =
                ServerInfo { name: n.to_string(), id: format!("N{n}"), ver: "2.12.8".into(), ..Default::default() };
            ServerRow::from_varz(
                &info,
                &Varz { server_name: n.to_string(), version: "2.12.8".into(), ..Default::default() },
            )
        })
        .collect();
    update(&mut s, Msg::Servers { at, result: Ok(servers) });
    let conns = ["orders", "cart", "pay\u{301}ments"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let info = ConnInfo {
                cid: i as u64 + 1,
                name: format!("tentacle.shop.{n}"),
                account: "APP".into(),
                authorized_user: format!("tentacle.shop.{n}"),
                ..Default::default()
            };
            ConnRow::new("n1", "Nn1", info)
        })
        .collect();
    update(&mut s, Msg::Conns { at, result: Ok((conns, vec![])) });
    s
}

fuzz_target!(|data: &[u8]| {
    let [view, how, size, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let mut s = state();
    let (w, h) = (20 + u16::from(*size % 16) * 12, 6 + u16::from(*size / 16) * 3);
    update(&mut s, Msg::Resize(w, h));
    let v = ViewId::ALL[usize::from(*view) % ViewId::ALL.len()];
    update(&mut s, key(KeyCode::Char(':')));
    for c in v.tab().chars() {
        update(&mut s, key(KeyCode::Char(c)));
    }
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, key(KeyCode::Char(if how & 1 == 0 { ':' } else { '/' })));
    if how & 2 == 0 {
        for c in text.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\t' => KeyCode::Tab,
                '\x7f' => KeyCode::Backspace,
                '\x1b' => KeyCode::Esc,
                '\x01' => KeyCode::Left,
                '\x02' => KeyCode::Home,
                c => KeyCode::Char(c),
            };
            update(&mut s, key(code));
        }
    } else {
        update(&mut s, Msg::Paste(text.into_owned()));
    }
    if how & 4 == 0 {
        update(&mut s, key(KeyCode::Enter));
    }
    let theme = Theme::builtin("default").expect("built-in theme");
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| warden::ui::render::render(&s, &theme, f)).expect("draw");
    for cell in t.backend().buffer().content() {
        assert!(!cell.symbol().chars().any(char::is_control), "control character on screen: {:?}", cell.symbol());
    }
});
