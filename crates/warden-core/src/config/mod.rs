//! Configuration: the config file, natscli contexts, flags and environment,
//! resolved into the settings the rest of warden uses.

pub mod file;
pub mod naming;
pub mod nats_context;
pub mod paths;
mod redact;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::secret::Secret;
pub use file::ConfigFile;
pub use nats_context::NatsContext;

/// NATS connection settings given on the command line or in the natscli
/// environment variables (the binary's `NatsArgs` fills this); they win over
/// a context and the config file. The same fields as the file's `[nats]`.
pub type NatsFlags = file::NatsSection;

/// How warden authenticates to NATS.
#[derive(Debug, Clone, PartialEq)]
pub enum NatsAuth {
    None,
    Creds(PathBuf),
    NkeyFile(PathBuf),
    UserPassword { user: String, password: Secret },
    Token(Secret),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NatsSettings {
    pub url: String,
    pub auth: NatsAuth,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Where the settings came from, for the banner ("context prod", "flags").
    pub source: String,
}

pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

fn pick<T>(a: Option<T>, b: Option<T>, c: Option<T>) -> Option<T> {
    a.or(b).or(c)
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn path_of(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| nats_context::expand_home(s))
}

/// Resolves NATS settings with natscli precedence: flags and environment,
/// then the context (named by flag/env/config, else natscli's selected one),
/// then the config file, then `nats://127.0.0.1:4222`.
pub fn resolve_nats(flags: &NatsFlags, file: &ConfigFile) -> Result<NatsSettings> {
    resolve_nats_with(flags, file, &paths::nats_context_dir(), NatsContext::selected_name())
}

pub fn resolve_nats_with(
    flags: &NatsFlags,
    file: &ConfigFile,
    context_dir: &std::path::Path,
    selected: Option<String>,
) -> Result<NatsSettings> {
    let f = &file.nats;
    let ctx_name = flags.context.clone().or_else(|| f.context.clone()).or(selected);
    let ctx = match &ctx_name {
        Some(name) => NatsContext::load_from(context_dir, name)?,
        None => NatsContext::default(),
    };
    let source = match (&ctx_name, flags.url.is_some()) {
        (_, true) => "flags".to_string(),
        (Some(n), false) => format!("context {n}"),
        (None, false) if f.url.is_some() => "config file".to_string(),
        _ => "default".to_string(),
    };
    let url =
        pick(flags.url.clone(), non_empty(&ctx.url), f.url.clone()).unwrap_or_else(|| DEFAULT_NATS_URL.to_string());
    let creds = pick(flags.creds.clone(), path_of(&ctx.creds), f.creds.clone());
    let nkey = pick(flags.nkey.clone(), path_of(&ctx.nkey), f.nkey.clone());
    let user = pick(flags.user.clone(), non_empty(&ctx.user), f.user.clone());
    let password = pick(flags.password.clone(), ctx.password.non_empty(), f.password.clone());
    let token = pick(flags.token.clone(), ctx.token.non_empty(), f.token.clone());
    let auth = match (creds, nkey, user, token) {
        (Some(c), None, None, None) => NatsAuth::Creds(c),
        (None, Some(n), None, None) => NatsAuth::NkeyFile(n),
        (None, None, Some(user), None) => NatsAuth::UserPassword { user, password: password.unwrap_or_default() },
        (None, None, None, Some(t)) => NatsAuth::Token(t),
        (None, None, None, None) => NatsAuth::None,
        _ => bail!("more than one NATS authentication method given (creds, nkey, user, token): choose one"),
    };
    Ok(NatsSettings {
        url,
        auth,
        ca: pick(flags.ca.clone(), path_of(&ctx.ca), f.ca.clone()),
        cert: pick(flags.cert.clone(), path_of(&ctx.cert), f.cert.clone()),
        key: pick(flags.key.clone(), path_of(&ctx.key), f.key.clone()),
        source,
    })
}

/// The refresh interval from the config file, default 5 s, at least 1 s.
pub fn refresh_interval(file: &ConfigFile) -> Result<Duration> {
    let d = match &file.refresh {
        Some(s) => humantime::parse_duration(s).map_err(|e| anyhow::anyhow!("config refresh {s:?}: {e}"))?,
        None => Duration::from_secs(5),
    };
    Ok(d.max(Duration::from_secs(1)))
}

/// The reconciling sweep's period (`reconcile` in the config file).
pub fn reconcile_interval(file: &ConfigFile) -> Result<Duration> {
    let d = match &file.reconcile {
        Some(s) => humantime::parse_duration(s).map_err(|e| anyhow::anyhow!("config reconcile {s:?}: {e}"))?,
        None => Duration::from_secs(60),
    };
    Ok(d.max(Duration::from_secs(5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_dir(json: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("prod.json"), json).unwrap();
        d
    }

    #[test]
    fn flags_override_context_which_overrides_file() {
        let d = ctx_dir(r#"{"url":"nats://ctx:4222","user":"cu","password":"cp","ca":"/ca.pem","extra":1}"#);
        let mut file = ConfigFile::default();
        file.nats.url = Some("nats://file:4222".into());
        file.nats.cert = Some("/file-cert.pem".into());
        let flags = NatsFlags { context: Some("prod".into()), ..Default::default() };
        let s = resolve_nats_with(&flags, &file, d.path(), None).unwrap();
        assert_eq!(s.url, "nats://ctx:4222");
        assert_eq!(s.source, "context prod");
        assert_eq!(s.ca, Some(PathBuf::from("/ca.pem")));
        assert_eq!(s.cert, Some(PathBuf::from("/file-cert.pem")));
        assert_eq!(s.auth, NatsAuth::UserPassword { user: "cu".into(), password: Secret::new("cp") });
        let flags = NatsFlags { url: Some("nats://flag:1".into()), ..flags };
        let s = resolve_nats_with(&flags, &file, d.path(), None).unwrap();
        assert_eq!(s.url, "nats://flag:1");
    }

    #[test]
    fn selected_context_is_used_when_none_named() {
        let d = ctx_dir(r#"{"url":"nats://sel:4222","creds":"/x.creds"}"#);
        let s =
            resolve_nats_with(&NatsFlags::default(), &ConfigFile::default(), d.path(), Some("prod".into())).unwrap();
        assert_eq!(s.url, "nats://sel:4222");
        assert_eq!(s.auth, NatsAuth::Creds("/x.creds".into()));
    }

    #[test]
    fn default_and_conflicts() {
        let d = tempfile::tempdir().unwrap();
        let s = resolve_nats_with(&NatsFlags::default(), &ConfigFile::default(), d.path(), None).unwrap();
        assert_eq!(s.url, DEFAULT_NATS_URL);
        assert_eq!(s.auth, NatsAuth::None);
        let flags = NatsFlags { token: Some(Secret::new("t")), user: Some("u".into()), ..Default::default() };
        assert!(resolve_nats_with(&flags, &ConfigFile::default(), d.path(), None).is_err());
        let missing = NatsFlags { context: Some("nope".into()), ..Default::default() };
        let err = resolve_nats_with(&missing, &ConfigFile::default(), d.path(), None).unwrap_err();
        assert!(format!("{err:#}").contains("NATS context \"nope\""));
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let s = NatsSettings {
            url: "u".into(),
            auth: NatsAuth::Token(Secret::new("tok-123")),
            ca: None,
            cert: None,
            key: None,
            source: "flags".into(),
        };
        assert!(!format!("{s:?}").contains("tok-123"));
    }
}
