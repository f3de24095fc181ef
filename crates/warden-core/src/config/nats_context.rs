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
    pub fn from_json(name: &str, path: &Path, text: &str) -> Result<NatsContext> {
        serde_json::from_str(text).with_context(|| format!("NATS context {name:?}: parsing {}", path.display()))
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
