//! A string that must never reach the screen, a log or the audit log.

use std::fmt;

/// Holds a password, token or seed. `Debug`/`Display` print `***`; the value
/// is only reachable through [`Secret::expose`], which call sites use at the
/// last moment (handing it to a client library).
/// The memory is overwritten when the value is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// From a config file or a natscli context.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// From a command-line flag (clap) or the environment.
impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// None when empty (an unset context field).
    pub fn non_empty(&self) -> Option<Secret> {
        (!self.is_empty()).then(|| self.clone())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.expose(), "hunter2");
        let parsed: Secret = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!((parsed.expose(), format!("{parsed:?}")), ("tok", "***".to_string()));
    }
}
