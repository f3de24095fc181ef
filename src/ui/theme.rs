//! Themes: TOML files (`themes/`), three built in. Selection is always shown
//! by reverse video, never by colour alone.

use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    fg: String,
    border: String,
    title: String,
    header: String,
    accent: String,
    muted: String,
    ok: String,
    warn: String,
    error: String,
    #[serde(default)]
    bold: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub border: Style,
    pub title: Style,
    pub header: Style,
    pub accent: Style,
    pub muted: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub selected: Style,
}

pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
];

fn color(s: &str) -> Result<Color> {
    Color::from_str(s).map_err(|_| anyhow::anyhow!("unknown colour {s:?}"))
}

impl Theme {
    pub fn parse(text: &str) -> Result<Theme> {
        let f: ThemeFile = toml::from_str(text).context("theme")?;
        let emph = if f.bold { Modifier::BOLD } else { Modifier::empty() };
        let st = |c: &str| -> Result<Style> { Ok(Style::default().fg(color(c)?)) };
        Ok(Theme {
            name: f.name.clone(),
            text: st(&f.fg)?,
            border: st(&f.border)?,
            title: st(&f.title)?.add_modifier(Modifier::BOLD),
            header: st(&f.header)?.add_modifier(emph | Modifier::BOLD),
            accent: st(&f.accent)?.add_modifier(emph),
            muted: st(&f.muted)?,
            ok: st(&f.ok)?,
            warn: st(&f.warn)?.add_modifier(emph),
            error: st(&f.error)?.add_modifier(Modifier::BOLD),
            selected: Style::default().add_modifier(Modifier::REVERSED),
        })
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        BUILTIN.iter().find(|(n, _)| *n == name).and_then(|(_, t)| Theme::parse(t).ok())
    }

    /// A built-in name or a path to a TOML file.
    pub fn load(name_or_path: &str) -> Result<Theme> {
        if let Some(t) = Theme::builtin(name_or_path) {
            return Ok(t);
        }
        let p = Path::new(name_or_path);
        if !p.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            bail!("theme {name_or_path:?} is neither a file nor one of {}", names.join(", "));
        }
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        Theme::parse(&text).with_context(|| format!("theme {}", p.display()))
    }

    /// The theme to use: an explicit choice wins; otherwise `NO_COLOR`
    /// (set and non-empty) means monochrome, else the default.
    pub fn choose(explicit: Option<&str>, no_color: bool) -> Result<Theme> {
        match explicit {
            Some(t) => Theme::load(t),
            None if no_color => Theme::load("monochrome"),
            None => Theme::load("default"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_no_color_picks_monochrome() {
        for (n, _) in BUILTIN {
            assert_eq!(Theme::builtin(n).unwrap().name, *n);
        }
        assert_eq!(Theme::choose(None, true).unwrap().name, "monochrome");
        assert_eq!(Theme::choose(Some("high-contrast"), true).unwrap().name, "high-contrast");
        assert_eq!(Theme::choose(None, false).unwrap().name, "default");
        assert!(Theme::load("no-such-theme").is_err());
        let mono = Theme::builtin("monochrome").unwrap();
        assert_eq!(mono.ok.fg, Some(Color::Reset));
        assert!(mono.selected.add_modifier.contains(Modifier::REVERSED));
    }
}
