//! XDG base directories (config, state, data) with the usual fallbacks.

use std::path::PathBuf;

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => home().join(fallback),
    }
}

/// `$XDG_CONFIG_HOME` or `~/.config`.
pub fn config_home() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config")
}

/// `$XDG_STATE_HOME` or `~/.local/state`.
pub fn state_home() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state")
}

/// `$XDG_DATA_HOME` or `~/.local/share`.
pub fn data_home() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share")
}

/// warden's data directory (tools it installed for the sandbox).
pub fn data_dir() -> PathBuf {
    data_home().join("warden")
}

/// warden's config file: `WARDEN_CONFIG`, else `$XDG_CONFIG_HOME/warden/config.toml`.
pub fn config_file() -> PathBuf {
    match std::env::var_os("WARDEN_CONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => config_home().join("warden/config.toml"),
    }
}

/// warden's state directory (logs, audit log).
pub fn state_dir() -> PathBuf {
    state_home().join("warden")
}

/// natscli's context directory: `$XDG_CONFIG_HOME/nats/context`.
pub fn nats_context_dir() -> PathBuf {
    config_home().join("nats/context")
}
