//! natscli contexts: `~/.config/nats/context/<name>.json`, the selected one in
//! `~/.config/nats/context.txt`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::paths;
use crate::secret::Secret;

/// The fields of a natscli context that warden uses. Unknown fields are ignored
/// (natscli has many more: JetStream prefixes, socks proxy, colour scheme...).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct NatsContext {
    pub description: String,
    pub url: String,
    pub creds: String,
    pub nkey: String,
    pub user: String,
    pub password: Secret,
    pub token: Secret,
    pub cert: String,
    pub key: String,
    pub ca: String,
}

impl NatsContext {
    /// Loads context `name` from `dir` (normally [`paths::nats_context_dir`]).
    pub fn load_from(dir: &Path, name: &str) -> Result<NatsContext> {
        if name.is_empty() || name.contains('/') || name.contains("..") {
            bail!("invalid NATS context name {name:?}");
        }
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("NATS context {name:?}: reading {}", path.display()))?;
        NatsContext::from_json(name, &path, &text)
    }

    /// Context `name`'s JSON as read from `path` (named in errors, never read here).
    /// An error names the place and the problem, never a value: serde's
    /// messages quote what they read, which may be the password or token.
    pub fn from_json(name: &str, path: &Path, text: &str) -> Result<NatsContext> {
        serde_json::from_str(text).map_err(|e| {
            let why = super::redact::without_values(&e.to_string());
            anyhow::anyhow!("NATS context {name:?}: parsing {}: {why}", path.display())
        })
    }

    pub fn load(name: &str) -> Result<NatsContext> {
        Self::load_from(&paths::nats_context_dir(), name)
    }

    /// The context natscli has selected (`nats context select`), if any.
    pub fn selected_name() -> Option<String> {
        let file = paths::config_home().join("nats/context.txt");
        let name = std::fs::read_to_string(file).ok()?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_string())
    }
}

/// natscli expands `~` in paths.
pub fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(rest)).unwrap_or_else(|| PathBuf::from(p)),
        None => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the nats_context fuzz target: a number where a string
    /// belongs was quoted in the error (a numeric password).
    #[test]
    fn a_malformed_context_never_echoes_its_values() {
        let path = Path::new("/home/u/.config/nats/context/prod.json");
        for text in [
            r#"{"url": "nats://x", "password": 975310001}"#,
            r#"{"token": 97531.25}"#,
            r#"{"password": ["hunter2-secret"]}"#,
            r#"{"password": "hunter2-secret"#,
        ] {
            let e = format!("{:#}", NatsContext::from_json("prod", path, text).unwrap_err());
            assert!(!e.contains("97531") && !e.contains("hunter2"), "{e}");
            assert!(e.contains("prod.json") && e.contains("line 1"), "{e}");
        }
        let c = NatsContext::from_json("prod", path, r#"{"user": "u", "password": "hunter2-secret"}"#).unwrap();
        assert_eq!(c.password.expose(), "hunter2-secret");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
