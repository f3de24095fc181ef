//! Encoding, decoding and verification of NATS JWT v2 tokens.
//!
//! Compatible with nats-io/jwt v2 (`claims.go`, `decoder.go`, `header.go`):
//! header `{"typ":"JWT","alg":"ed25519-nkey"}`, base64url without padding,
//! ed25519 signature by the issuer nkey over `header.payload`, and `jti` =
//! base32 (no padding) of SHA-512/256 over the JSON of the standard claims
//! with `jti` empty. JSON is written like Go's `encoding/json` (field order,
//! `omitempty`, HTML-safe escaping) so tokens are byte-for-byte what the Go
//! library would produce for the same claims and `iat`.

use std::time::Duration;

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha512_256};

use super::claims::{
    AccountClaims, AnyClaims, ClaimKind, Claims, LIB_VERSION, NatsClaim, OperatorClaims, StdClaims, UserClaims,
};
use super::keys::{KeyKind, SigningKey, key_for_display};

/// Go's `MaxTokenSize`.
pub const MAX_TOKEN_SIZE: usize = 1024 * 1024;

const HEADER_JSON: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

/// What is wrong with a token, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("JWT is {size} bytes, more than the {MAX_TOKEN_SIZE} allowed")]
    TooLarge { size: usize },
    #[error("malformed JWT: expected 3 dot-separated parts, found {parts}")]
    Malformed { parts: usize },
    #[error("malformed JWT: the {part} is not base64url")]
    Base64 { part: &'static str },
    #[error("malformed JWT: the {part} is not valid JSON: {reason}")]
    Json { part: &'static str, reason: String },
    #[error("unsupported JWT header: typ {typ:?}, alg {alg:?} (expected \"JWT\", \"ed25519-nkey\")")]
    Header { typ: String, alg: String },
    #[error("JWT version {0} is not supported (only version 2)")]
    Version(i64),
    #[error("unsupported claim type {0:?}")]
    UnknownKind(String),
    #[error("expected a {expected} JWT, this is a {found} JWT")]
    WrongKind { expected: ClaimKind, found: ClaimKind },
    #[error("issuer {issuer} is not a valid {expected} public key (a {kind} JWT is issued by an {expected} key)")]
    BadIssuer { kind: ClaimKind, issuer: String, expected: KeyKind },
    #[error("subject {subject} is not a valid {expected} public key (required for a {kind} JWT)")]
    BadSubject { kind: ClaimKind, subject: String, expected: KeyKind },
    #[error("signature does not verify with issuer {issuer}")]
    BadSignature { issuer: String },
    #[error("expired {ago} ago")]
    Expired { ago: String },
    #[error("not yet valid for {wait}")]
    NotYetValid { wait: String },
    #[error("operator {0} is not trusted")]
    UntrustedOperator(String),
    #[error("issuer {issuer} is not the operator {operator} or one of its signing keys")]
    NotOperator { issuer: String, operator: String },
    #[error("issuer {issuer} is not the account {account} or one of its signing keys")]
    NotAccount { issuer: String, account: String },
    #[error("issuer_account {issuer_account} is not the account {account}")]
    IssuerAccount { issuer_account: String, account: String },
    #[error("signed by signing key {issuer} of account {account}, but issuer_account is not set")]
    MissingIssuerAccount { issuer: String, account: String },
    #[error("user {subject} is revoked (revocation at {revoked_at}, JWT issued at {issued_at})")]
    Revoked { subject: String, revoked_at: i64, issued_at: i64 },
    #[error("a {kind} JWT must be signed by an {expected} key, not a {found} key")]
    SignerKind { kind: ClaimKind, expected: KeyKind, found: KeyKind },
    #[error("encoding claims: {0}")]
    Encode(String),
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// JSON as Go's `json.Marshal` writes it: serde_json output plus Go's
/// HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029 (these characters
/// can only occur inside strings, so replacing them is exact).
pub(crate) fn go_json<T: Serialize>(v: &T) -> Result<String, JwtError> {
    let s = serde_json::to_string(v).map_err(|e| JwtError::Encode(e.to_string()))?;
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return Ok(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The `jti` nats-io/jwt computes for these standard claims: base32 (no
/// padding) of SHA-512/256 over their JSON with `jti` empty.
pub fn compute_jti(std: &StdClaims) -> Result<String, JwtError> {
    let mut c = std.clone();
    c.id.clear();
    let json = go_json(&c)?;
    Ok(BASE32_NOPAD.encode(&Sha512_256::digest(json.as_bytes())))
}

fn issuer_kind(kind: ClaimKind) -> KeyKind {
    match kind {
        ClaimKind::Operator => KeyKind::Operator,
        ClaimKind::Account => KeyKind::Operator,
        ClaimKind::User => KeyKind::Account,
    }
}

fn subject_kind(kind: ClaimKind) -> KeyKind {
    match kind {
        ClaimKind::Operator => KeyKind::Operator,
        ClaimKind::Account => KeyKind::Account,
        ClaimKind::User => KeyKind::User,
    }
}

/// Signs `claims` with `signer`, issued now. See [`encode_at`].
pub fn encode<N: NatsClaim>(claims: &mut Claims<N>, signer: &SigningKey) -> Result<String, JwtError> {
    encode_at(claims, signer, unix_now())
}

/// Signs `claims` with `signer` like Go's `Encode`: checks the signer's and
/// the subject's roles, sets `iss`, `iat` = `issued_at`, `jti`, `nats.type`
/// and `nats.version`, and returns the token. `claims` is updated in place,
/// so it equals what decoding the token gives back.
pub fn encode_at<N: NatsClaim>(
    claims: &mut Claims<N>,
    signer: &SigningKey,
    issued_at: i64,
) -> Result<String, JwtError> {
    let kind = N::KIND;
    let expected = issuer_kind(kind);
    if signer.kind() != expected {
        return Err(JwtError::SignerKind { kind, expected, found: signer.kind() });
    }
    let sk = subject_kind(kind);
    if KeyKind::of_public(&claims.std.subject) != Some(sk) {
        return Err(JwtError::BadSubject { kind, subject: key_for_display(&claims.std.subject), expected: sk });
    }
    claims.std.issuer = signer.public_key().to_string();
    claims.std.issued_at = issued_at;
    claims.std.id = compute_jti(&claims.std)?;
    claims.nats.stamp();
    let header = BASE64URL_NOPAD.encode(HEADER_JSON.as_bytes());
    let payload = BASE64URL_NOPAD.encode(go_json(claims)?.as_bytes());
    let signing_input = format!("{header}.{payload}");
    let sig = BASE64URL_NOPAD.encode(&signer.sign(signing_input.as_bytes()));
    Ok(format!("{signing_input}.{sig}"))
}

/// Re-signs changed claims (an account JWT with new revocations, say) so the
/// result replaces the current one: `iat` = max(`now`, previous `iat` + 1).
///
/// nats-server's JWT store ignores an update whose `jti` equals the stored
/// one or whose `iat` is older, and `jti` hashes only the standard claims, so
/// a change to `nats` re-signed in the same second would be silently dropped.
pub fn encode_reissue<N: NatsClaim>(claims: &mut Claims<N>, signer: &SigningKey, now: i64) -> Result<String, JwtError> {
    let iat = now.max(claims.std.issued_at.saturating_add(1));
    encode_at(claims, signer, iat)
}

/// Signs a user JWT with an account key or one of its signing keys: sets
/// `issuer_account` to `account` when `signer` is not the account itself.
pub fn encode_user(
    claims: &mut UserClaims,
    signer: &SigningKey,
    account: &str,
    issued_at: i64,
) -> Result<String, JwtError> {
    if KeyKind::of_public(account) != Some(KeyKind::Account) {
        return Err(JwtError::BadIssuer {
            kind: ClaimKind::User,
            issuer: key_for_display(account),
            expected: KeyKind::Account,
        });
    }
    if signer.public_key() == account {
        claims.nats.issuer_account.clear();
    } else {
        claims.nats.issuer_account = account.to_string();
    }
    encode_at(claims, signer, issued_at)
}

fn b64(part: &'static str, s: &str) -> Result<Vec<u8>, JwtError> {
    BASE64URL_NOPAD.decode(s.as_bytes()).map_err(|_| JwtError::Base64 { part })
}

fn json_err(part: &'static str, e: impl std::fmt::Display) -> JwtError {
    let reason = e.to_string().chars().take(200).collect();
    JwtError::Json { part, reason }
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Structure, header, claim type and signature, before typed parsing.
struct Raw {
    kind: ClaimKind,
    payload: Value,
}

fn decode_raw(token: &str) -> Result<Raw, JwtError> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_SIZE {
        return Err(JwtError::TooLarge { size: token.len() });
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err(JwtError::Malformed { parts: parts.len() });
    };
    let header: Value = serde_json::from_slice(&b64("header", h)?).map_err(|e| json_err("header", e))?;
    let typ = str_field(&header, "typ");
    let alg = str_field(&header, "alg");
    let alg_l = alg.to_ascii_lowercase();
    if !typ.eq_ignore_ascii_case("JWT") || (alg_l != "ed25519-nkey" && alg_l != "ed25519") {
        return Err(JwtError::Header { typ: typ.chars().take(40).collect(), alg: alg.chars().take(40).collect() });
    }
    let payload: Value = serde_json::from_slice(&b64("payload", p)?).map_err(|e| json_err("payload", e))?;
    if !payload.is_object() {
        return Err(json_err("payload", "not a JSON object"));
    }
    // Go's `identifier`: a top-level `type` means a version 1 JWT.
    if !str_field(&payload, "type").is_empty() {
        return Err(JwtError::Version(1));
    }
    let nats = payload.get("nats").unwrap_or(&Value::Null);
    let version = nats.get("version").and_then(Value::as_i64).unwrap_or(0);
    if version != LIB_VERSION {
        return Err(JwtError::Version(version));
    }
    let kind = match str_field(nats, "type") {
        "operator" => ClaimKind::Operator,
        "account" => ClaimKind::Account,
        "user" => ClaimKind::User,
        other => return Err(JwtError::UnknownKind(other.chars().take(40).collect())),
    };
    let sig = b64("signature", s)?;
    let issuer = str_field(&payload, "iss");
    let expected = issuer_kind(kind);
    if KeyKind::of_public(issuer) != Some(expected) {
        return Err(JwtError::BadIssuer { kind, issuer: key_for_display(issuer), expected });
    }
    let verifier = nkeys::KeyPair::from_public_key(issuer).map_err(|_| JwtError::BadIssuer {
        kind,
        issuer: key_for_display(issuer),
        expected,
    })?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    if verifier.verify(signing_input.as_bytes(), &sig).is_err() {
        return Err(JwtError::BadSignature { issuer: issuer.to_string() });
    }
    let sk = subject_kind(kind);
    let subject = str_field(&payload, "sub");
    if KeyKind::of_public(subject) != Some(sk) {
        return Err(JwtError::BadSubject { kind, subject: key_for_display(subject), expected: sk });
    }
    Ok(Raw { kind, payload })
}

fn typed<N: NatsClaim>(payload: Value) -> Result<Claims<N>, JwtError> {
    serde_json::from_value(payload).map_err(|e| json_err("payload", e))
}

/// Decodes any operator, account or user JWT: structure, header, version,
/// the issuer's role for the claim type, the subject's role, and the
/// signature against `iss`. Does not check times or the issuer's parent.
pub fn decode(token: &str) -> Result<AnyClaims, JwtError> {
    let raw = decode_raw(token)?;
    Ok(match raw.kind {
        ClaimKind::Operator => AnyClaims::Operator(typed(raw.payload)?),
        ClaimKind::Account => AnyClaims::Account(typed(raw.payload)?),
        ClaimKind::User => AnyClaims::User(typed(raw.payload)?),
    })
}

/// [`decode`], requiring the claim type `N`.
pub fn decode_as<N: NatsClaim>(token: &str) -> Result<Claims<N>, JwtError> {
    let raw = decode_raw(token)?;
    if raw.kind != N::KIND {
        return Err(JwtError::WrongKind { expected: N::KIND, found: raw.kind });
    }
    typed(raw.payload)
}

fn human(secs: i64) -> String {
    humantime::format_duration(Duration::from_secs(secs.unsigned_abs())).to_string()
}

/// `exp` and `nbf` against `now` (unix seconds), as Go's `Validate`:
/// expired when `now > exp`, not yet valid when `nbf > now`.
pub fn check_times(std: &StdClaims, now: i64) -> Result<(), JwtError> {
    if std.expires > 0 && now > std.expires {
        return Err(JwtError::Expired { ago: human(now.saturating_sub(std.expires)) });
    }
    if std.not_before > 0 && std.not_before > now {
        return Err(JwtError::NotYetValid { wait: human(std.not_before.saturating_sub(now)) });
    }
    Ok(())
}

/// Verifies an operator JWT: self-signed or signed by one of its own signing
/// keys, subject among `trusted` (when not empty), valid at `now`.
pub fn verify_operator(token: &str, trusted: &[&str], now: i64) -> Result<OperatorClaims, JwtError> {
    let c: OperatorClaims = decode_as(token)?;
    if !trusted.is_empty() && !trusted.contains(&c.std.subject.as_str()) {
        return Err(JwtError::UntrustedOperator(c.std.subject));
    }
    if c.std.issuer != c.std.subject && !c.nats.signing_keys.contains(&c.std.issuer) {
        return Err(JwtError::NotOperator { issuer: c.std.issuer, operator: c.std.subject });
    }
    check_times(&c.std, now)?;
    Ok(c)
}

/// Verifies an account JWT against its operator: issued by the operator key
/// or one of its signing keys, valid at `now`.
pub fn verify_account(token: &str, operator: &OperatorClaims, now: i64) -> Result<AccountClaims, JwtError> {
    let c: AccountClaims = decode_as(token)?;
    let iss = &c.std.issuer;
    if *iss != operator.std.subject && !operator.nats.signing_keys.contains(iss) {
        return Err(JwtError::NotOperator { issuer: iss.clone(), operator: operator.std.subject.clone() });
    }
    check_times(&c.std, now)?;
    Ok(c)
}

/// Verifies a user JWT against its account, as nats-server does at connect:
/// issued by the account key, or by one of its signing keys with
/// `issuer_account` naming the account; valid at `now`; not revoked.
pub fn verify_user(token: &str, account: &AccountClaims, now: i64) -> Result<UserClaims, JwtError> {
    let c: UserClaims = decode_as(token)?;
    let acc = &account.std.subject;
    let iss = &c.std.issuer;
    let ia = &c.nats.issuer_account;
    if !ia.is_empty() && ia != acc {
        return Err(JwtError::IssuerAccount { issuer_account: key_for_display(ia), account: acc.clone() });
    }
    if iss != acc {
        if !account.nats.has_signing_key(iss) {
            return Err(JwtError::NotAccount { issuer: iss.clone(), account: acc.clone() });
        }
        if ia.is_empty() {
            return Err(JwtError::MissingIssuerAccount { issuer: iss.clone(), account: acc.clone() });
        }
    }
    check_times(&c.std, now)?;
    if account.nats.is_revoked(&c.std.subject, c.std.issued_at) {
        let revoked_at = account.nats.revoked_at(&c.std.subject).unwrap_or(0);
        return Err(JwtError::Revoked { subject: c.std.subject, revoked_at, issued_at: c.std.issued_at });
    }
    Ok(c)
}
