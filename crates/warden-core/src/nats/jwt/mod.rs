//! NATS JWT v2 codec (compatible with nats-io/jwt v2 and nats-server 2.15):
//! claims types, encode/decode/verify, creds files, key material.
//!
//! - [`claims`]: operator / account / user claims with Go's JSON names.
//! - [`codec`]: [`encode_at`], [`decode`], [`verify_account`], [`verify_user`]...
//! - [`creds`]: creds files and 0600 secret files.
//! - [`keys`]: [`SigningKey`], a seed that never shows in `Debug`/`Display`.

pub mod blocks;
pub mod claims;
pub mod codec;
pub mod creds;
pub mod keys;

pub use claims::{
    Account, AccountClaims, AccountLimits, AccountSigningKey, AnyClaims, ClaimKind, Claims, Export, Import,
    JetStreamLimits, NO_LIMIT, NatsClaim, NatsLimits, Operator, OperatorClaims, Permission, Permissions,
    ResponsePermission, StdClaims, TimeRange, User, UserClaims,
};
pub use codec::{
    JwtError, MAX_TOKEN_SIZE, check_times, compute_jti, decode, decode_as, encode, encode_at, encode_reissue,
    encode_user, unix_now, verify_account, verify_operator, verify_user,
};
pub use creds::{
    Creds, CredsError, CredsText, decorate_jwt, parse_creds, render_creds, render_seed, write_creds_file,
    write_secret_file,
};
pub use keys::{KeyError, KeyKind, SigningKey, check_public, key_for_display};

/// Fuzz entry point for the decoder: any bytes, never panics.
pub fn fuzz_decode(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = decode(s) {
        let _ = check_times(c.std(), 0);
        let _ = check_times(c.std(), i64::MAX);
        let _ = check_times(c.std(), i64::MIN);
        let _ = compute_jti(c.std());
        if let AnyClaims::Account(a) = &c {
            let _ = a.nats.is_revoked("U", i64::MIN);
            let _ = a.nats.signing_key_ids().count();
        }
    }
    let _ = decode_as::<User>(s);
    let _ = creds::find_jwt(s);
}

/// Fuzz entry point for creds / seed file parsing: any bytes, never panics.
pub fn fuzz_creds_parse(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let _ = parse_creds(&s);
    let _ = SigningKey::from_text(&s, "fuzz");
    let _ = creds::blocks(&s);
    // A creds Secret as the doctor reads it: the first block, decoded.
    if let Some(token) = blocks::first_block(&s) {
        let _ = decode_as::<User>(token);
    }
}

#[cfg(test)]
mod tests;
