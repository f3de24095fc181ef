//! Theme files (TOML, `themes/*.toml`, `ui::theme::Theme::parse`): no
//! panic; every colour of a theme that loads prints back as itself.
#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use ratatui::style::Color;
use warden::ui::theme::Theme;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Theme::parse(text) else { return };
    for style in [t.text, t.border, t.title, t.header, t.accent, t.muted, t.ok, t.warn, t.error] {
        let c = style.fg.expect("every style of a theme has a colour");
        assert_eq!(Color::from_str(&c.to_string()), Ok(c));
    }
});
