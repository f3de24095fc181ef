//! Logging to a file in the XDG state dir: the terminal belongs to the UI.
//!
//! Files are created 0600 (the process umask is 077, see `main`) inside a
//! 0700 directory; level from `WARDEN_LOG` (an `EnvFilter` string), default
//! `info`. Writes go through a non-blocking worker so a slow disk never
//! stalls the UI thread.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Keeps the log writer alive; drop it last (flushes pending lines).
pub struct LogGuard {
    _guard: WorkerGuard,
    pub dir: PathBuf,
}

pub fn init(dir: &Path) -> Result<LogGuard> {
    create_private_dir(dir)?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("warden")
        .filename_suffix("log")
        .max_log_files(7)
        .build(dir)
        .with_context(|| format!("opening log in {}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
    Ok(LogGuard { _guard: guard, dir: dir.to_path_buf() })
}

/// Creates `dir` (and parents) and makes it 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("chmod 0700 {}", dir.display()))?;
    Ok(())
}

/// Sets the process umask so every file warden creates (logs, audit log,
/// credentials) is private to the user unless a call site says otherwise.
pub fn restrict_umask() {
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
}
