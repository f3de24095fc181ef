//! Key material. A [`SigningKey`] holds an nkey seed; its `Debug` and
//! `Display` show the role and public key only, and no error built here ever
//! contains seed text.

use std::fmt;
use std::path::Path;

use nkeys::KeyPair;

use super::blocks;

/// The role of an nkey, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Operator,
    Account,
    User,
}

impl KeyKind {
    /// The role of a valid public key (`O...`, `A...`, `U...`), `None` for
    /// anything else (invalid, or another nkey role such as a server key).
    pub fn of_public(public_key: &str) -> Option<KeyKind> {
        if nkeys::from_public_key(public_key).is_err() {
            return None;
        }
        match public_key.as_bytes().first() {
            Some(b'O') => Some(KeyKind::Operator),
            Some(b'A') => Some(KeyKind::Account),
            Some(b'U') => Some(KeyKind::User),
            _ => None,
        }
    }

    fn new_pair(self) -> KeyPair {
        match self {
            KeyKind::Operator => KeyPair::new_operator(),
            KeyKind::Account => KeyPair::new_account(),
            KeyKind::User => KeyPair::new_user(),
        }
    }

    /// The seed-file banner word.
    pub fn banner(self) -> &'static str {
        match self {
            KeyKind::Operator => "OPERATOR",
            KeyKind::Account => "ACCOUNT",
            KeyKind::User => "USER",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Operator => "operator",
            KeyKind::Account => "account",
            KeyKind::User => "user",
        })
    }
}

/// Why key material could not be had. Never contains seed text.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading key file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no nkey seed found in {0}")]
    NoSeed(String),
    #[error("invalid nkey seed in {0} (bad length, encoding or checksum)")]
    BadSeed(String),
    #[error("{what} is a {found} key, expected a {expected} key")]
    WrongKind { what: String, found: String, expected: KeyKind },
    #[error("{0} is not a valid operator, account or user public key")]
    BadPublicKey(String),
}

/// An nkey with its seed: signs JWTs. Cloning copies the seed in memory.
#[derive(Clone)]
pub struct SigningKey {
    pair: KeyPair,
    kind: KeyKind,
    public: String,
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate(kind: KeyKind) -> SigningKey {
        let pair = kind.new_pair();
        let public = pair.public_key();
        SigningKey { pair, kind, public }
    }

    /// From an encoded seed (`SO...`, `SA...`, `SU...`, surrounding
    /// whitespace ignored). `what` names the source in errors.
    pub fn from_seed(seed: &str, what: &str) -> Result<SigningKey, KeyError> {
        let seed = seed.trim();
        let kind = match seed.as_bytes().get(..2) {
            Some(b"SO") => KeyKind::Operator,
            Some(b"SA") => KeyKind::Account,
            Some(b"SU") => KeyKind::User,
            _ => return Err(KeyError::NoSeed(what.to_string())),
        };
        let pair = KeyPair::from_seed(seed).map_err(|_| KeyError::BadSeed(what.to_string()))?;
        let public = pair.public_key();
        // nkeys maps an unknown role byte to Operator: check the result.
        if KeyKind::of_public(&public) != Some(kind) {
            return Err(KeyError::BadSeed(what.to_string()));
        }
        Ok(SigningKey { pair, kind, public })
    }

    /// From file text: a creds file (the seed block), an nsc seed file
    /// (decorated), or a bare seed.
    pub fn from_text(text: &str, what: &str) -> Result<SigningKey, KeyError> {
        let seed = blocks::find_seed(text).ok_or_else(|| KeyError::NoSeed(what.to_string()))?;
        SigningKey::from_seed(seed, what)
    }

    /// Loads a key from a file (see [`SigningKey::from_text`]).
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let what = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: what.clone(), source })?;
        SigningKey::from_text(&text, &what)
    }

    /// Loads a key and checks its role.
    pub fn load_kind(path: &Path, expected: KeyKind) -> Result<SigningKey, KeyError> {
        let k = SigningKey::load(path)?;
        k.expect_kind(expected, &path.display().to_string())?;
        Ok(k)
    }

    pub fn expect_kind(&self, expected: KeyKind, what: &str) -> Result<(), KeyError> {
        if self.kind != expected {
            return Err(KeyError::WrongKind { what: what.to_string(), found: self.kind.to_string(), expected });
        }
        Ok(())
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// Ed25519 signature over `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        // A KeyPair built from a seed always has its signing key.
        self.pair.sign(data).unwrap_or_default()
    }

    /// The encoded seed, for writing a creds or seed file. Treat as secret.
    pub(crate) fn expose_seed(&self) -> String {
        self.pair.seed().unwrap_or_default()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {}, seed redacted)", self.kind, self.public)
    }
}

impl fmt::Display for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key {}", self.kind, self.public)
    }
}

/// Checks that `public_key` is a valid public key of role `expected`.
pub fn check_public(public_key: &str, expected: KeyKind) -> Result<(), KeyError> {
    match KeyKind::of_public(public_key) {
        Some(k) if k == expected => Ok(()),
        Some(k) => Err(KeyError::WrongKind { what: public_key.to_string(), found: k.to_string(), expected }),
        None => Err(KeyError::BadPublicKey(key_for_display(public_key))),
    }
}

/// Key text from outside, safe to show in a message: a public key as is, a
/// seed (or anything seed-like or overlong) replaced by a description.
pub fn key_for_display(text: &str) -> String {
    let t = text.trim();
    if t.starts_with('S') && t.len() >= 50 {
        return "<an nkey seed, redacted>".to_string();
    }
    if t.chars().count() > 64 || t.chars().any(|c| c.is_control()) {
        let head: String = t.chars().filter(|c| !c.is_control()).take(12).collect();
        return format!("{head:?}... ({} bytes)", t.len());
    }
    t.to_string()
}
