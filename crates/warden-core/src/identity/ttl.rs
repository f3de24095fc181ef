//! JWT lifetimes: the default, the bounds every minted JWT must respect
//! (`[identity] ttl`, `min_ttl`, `max_ttl`), the "Expiring" warning threshold
//! (`[identity] expiring_within`), and Go-style duration text (`720h`,
//! `1h30m`), as nsc and Kubernetes write durations.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::file::IdentitySection;

/// Lifetime of a minted JWT when neither the request nor `spec.ttl` names one.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// Shown as "Expiring" under this much time left (below the default TTL, so
/// a fresh JWT is never "Expiring").
pub const DEFAULT_EXPIRING_WITHIN: Duration = Duration::from_secs(12 * 3600);

/// The TTL settings of `[identity]`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlPolicy {
    pub default: Duration,
    pub min: Duration,
    pub max: Duration,
    pub expiring_within: Duration,
}

impl Default for TtlPolicy {
    fn default() -> Self {
        TtlPolicy {
            default: DEFAULT_TTL,
            min: DEFAULT_MIN_TTL,
            max: DEFAULT_MAX_TTL,
            expiring_within: DEFAULT_EXPIRING_WITHIN,
        }
    }
}

/// Parses a duration (`720h`, `1h30m`, `90d`, `2h 5m`); the text is quoted
/// (escaped) in the error: it may come from a tenant's `spec.ttl`.
pub fn parse(text: &str) -> Result<Duration> {
    humantime::parse_duration(text.trim()).map_err(|e| anyhow::anyhow!("{text:?} is not a duration ({e})"))
}

impl TtlPolicy {
    pub fn from_section(s: &IdentitySection) -> Result<TtlPolicy> {
        let d = TtlPolicy::default();
        let get = |v: &Option<String>, key: &str, default: Duration| -> Result<Duration> {
            match v {
                Some(t) => parse(t).with_context(|| format!("[identity] {key}")),
                None => Ok(default),
            }
        };
        let p = TtlPolicy {
            default: get(&s.ttl, "ttl", d.default)?,
            min: get(&s.min_ttl, "min_ttl", d.min)?,
            max: get(&s.max_ttl, "max_ttl", d.max)?,
            expiring_within: get(&s.expiring_within, "expiring_within", d.expiring_within)?,
        };
        if p.min > p.max {
            bail!("[identity] min_ttl {} is above max_ttl {}", format_go(p.min), format_go(p.max));
        }
        p.check(p.default).context("[identity] ttl")?;
        Ok(p)
    }

    /// `ttl` if within the bounds, else an error that names them.
    pub fn check(&self, ttl: Duration) -> Result<Duration> {
        if ttl < self.min || ttl > self.max {
            bail!(
                "TTL {} is outside the allowed range {} to {} ([identity] min_ttl / max_ttl)",
                format_go(ttl),
                format_go(self.min),
                format_go(self.max)
            );
        }
        Ok(ttl)
    }

    /// The TTL of a mint: the request's, else `spec.ttl` (untrusted text),
    /// else the default; always within the bounds.
    pub fn resolve(&self, requested: Option<Duration>, spec_ttl: &str) -> Result<Duration> {
        let ttl = match requested {
            Some(t) => t,
            None if spec_ttl.trim().is_empty() => self.default,
            None => parse(spec_ttl).context("spec.ttl")?,
        };
        self.check(ttl)
    }

    pub fn expiring_within_secs(&self) -> i64 {
        self.expiring_within.as_secs().min(i64::MAX as u64) as i64
    }
}

/// A duration as Go writes it, without zero units: `720h`, `1h30m`, `90s`,
/// `0s` (whole seconds).
pub fn format_go(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_round_trip() {
        for (secs, text) in [(720 * 3600, "720h"), (5400, "1h30m"), (90, "1m30s"), (0, "0s"), (3601, "1h1s")] {
            assert_eq!(format_go(Duration::from_secs(secs)), text);
            assert_eq!(parse(text).unwrap(), Duration::from_secs(secs));
        }
    }

    #[test]
    fn bounds_and_resolution() {
        let p = TtlPolicy::default();
        assert!(
            p.check(Duration::ZERO).unwrap_err().to_string().contains("0s is outside the allowed range 1m to 2160h")
        );
        assert!(p.check(Duration::ZERO).is_err());
        assert!(p.check(parse("99999999h").unwrap()).unwrap_err().to_string().contains("2160h"));
        assert_eq!(p.resolve(None, "720h").unwrap(), Duration::from_secs(720 * 3600));
        assert_eq!(p.resolve(None, "").unwrap(), DEFAULT_TTL);
        assert_eq!(p.resolve(Some(Duration::from_secs(3600)), "720h").unwrap(), Duration::from_secs(3600));
        assert!(p.resolve(None, "11407years 8months").is_err());
        assert!(p.resolve(None, "é").unwrap_err().to_string().contains("spec.ttl"));
        assert!(p.expiring_within < p.default, "a fresh default JWT is not Expiring");
        let s = IdentitySection { min_ttl: Some("2h".into()), max_ttl: Some("1h".into()), ..Default::default() };
        assert!(TtlPolicy::from_section(&s).is_err());
        let s = IdentitySection { expiring_within: Some("2h".into()), ..Default::default() };
        assert_eq!(TtlPolicy::from_section(&s).unwrap().expiring_within_secs(), 7200);
    }
}
