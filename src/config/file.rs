//! The config file (`config.toml`). Every field is optional; flags and the
//! environment override it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    /// Theme name (`default`, `high-contrast`, `monochrome`) or a path to a TOML theme.
    pub theme: Option<String>,
    /// How often server and connection data is refreshed (humantime, e.g. "5s").
    pub refresh: Option<String>,
    /// Start in read-only mode (no mutating action is offered).
    pub read_only: bool,
    pub nats: NatsSection,
}

/// NATS connection settings; same names as the natscli context fields.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSection {
    pub context: Option<String>,
    pub url: Option<String>,
    pub creds: Option<PathBuf>,
    pub nkey: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config, a malformed one an error.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}
