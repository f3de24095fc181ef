//! Creds files (user JWT + user seed, as `nsc` writes them) and writing
//! secret files with mode 0600.

use std::fmt;
use std::io::Write;
use std::path::Path;

pub use super::blocks::{blocks, find_jwt, find_seed};
use super::claims::{ClaimKind, UserClaims};
use super::codec::{self, JwtError};
use super::keys::{KeyError, KeyKind, SigningKey};

/// Why a creds file could not be used. Never contains seed text.
#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("no NATS JWT block found")]
    NoJwt,
    #[error("no user nkey seed block found")]
    NoSeed,
    #[error("creds JWT: {0}")]
    Jwt(#[from] JwtError),
    #[error("creds seed: {0}")]
    Key(#[from] KeyError),
    #[error("the seed is for user {seed_public}, the JWT is for {subject}")]
    Mismatch { seed_public: String, subject: String },
}

/// The text of a creds file. Contains a seed: `Debug`/`Display` are redacted.
#[derive(Clone)]
pub struct CredsText(String);

impl CredsText {
    /// The full text, seed included. Write it only with [`write_secret_file`].
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CredsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredsText(redacted)")
    }
}

impl fmt::Display for CredsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<creds redacted>")
    }
}

/// The decorated JWT block (Go `formatJwt`), e.g. for an account JWT file.
pub fn decorate_jwt(kind: ClaimKind, jwt: &str) -> String {
    let k = kind.banner();
    format!("-----BEGIN NATS {k} JWT-----\n{jwt}\n------END NATS {k} JWT------\n\n")
}

fn decorate_seed(key: &SigningKey) -> String {
    let k = key.kind().banner();
    format!(
        "************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\
         \n\
         -----BEGIN {k} NKEY SEED-----\n{}\n------END {k} NKEY SEED------\n\
         \n\
         *************************************************************\n",
        key.expose_seed()
    )
}

/// A creds file for `user` (Go `FormatUserConfig`): the JWT must be a user
/// JWT whose subject is `user`'s public key.
pub fn render_creds(jwt: &str, user: &SigningKey) -> Result<CredsText, CredsError> {
    let claims: UserClaims = codec::decode_as(jwt)?;
    user.expect_kind(KeyKind::User, "creds seed")?;
    if claims.std.subject != user.public_key() {
        return Err(CredsError::Mismatch { seed_public: user.public_key().to_string(), subject: claims.std.subject });
    }
    let mut s = decorate_jwt(ClaimKind::User, jwt);
    s.push_str(&decorate_seed(user));
    Ok(CredsText(s))
}

/// A seed file as `nsc` writes one (Go `DecorateSeed`).
pub fn render_seed(key: &SigningKey) -> CredsText {
    CredsText(decorate_seed(key))
}

/// A parsed creds file.
#[derive(Debug, Clone)]
pub struct Creds {
    pub jwt: String,
    pub claims: UserClaims,
    pub key: SigningKey,
}

/// Parses a creds file: a user JWT (signature checked against its issuer,
/// not against any account) and the matching user seed.
pub fn parse_creds(text: &str) -> Result<Creds, CredsError> {
    let b = blocks(text);
    let jwt = *b.first().ok_or(CredsError::NoJwt)?;
    let seed = *b.get(1).ok_or(CredsError::NoSeed)?;
    let claims: UserClaims = codec::decode_as(jwt)?;
    let key = SigningKey::from_seed(seed, "creds")?;
    key.expect_kind(KeyKind::User, "creds seed")?;
    if claims.std.subject != key.public_key() {
        return Err(CredsError::Mismatch { seed_public: key.public_key().to_string(), subject: claims.std.subject });
    }
    Ok(Creds { jwt: jwt.to_string(), claims, key })
}

/// Writes `contents` to `path` as a file of mode 0600: created 0600 under a
/// temporary name in the same directory, synced, then renamed over `path`
/// (so an existing file with looser permissions is replaced, not reused).
pub fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name =
        path.file_name().ok_or_else(|| std::io::Error::other(format!("{} has no file name", path.display())))?;
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let tmp = dir.join(format!(".{}.{}-{nanos}.tmp", file_name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes a creds file (mode 0600).
pub fn write_creds_file(path: &Path, creds: &CredsText) -> std::io::Result<()> {
    write_secret_file(path, creds.expose().as_bytes())
}
