//! What the doctor needs of a workload's creds Secret (JWT mode,
//! `<workload>-nats-creds`, labelled `[kubernetes] creds_label` = workload):
//! which user JWT it holds, by `jti` and subject. Only the JWT block of
//! `user.creds` is read; the seed block after it is never parsed, and the
//! Secret's bytes are zeroized once looked at.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use zeroize::Zeroize;

use crate::nats::jwt::{self, UserClaims};

/// The key of the creds file in the Secret (as the actions write it).
pub const CREDS_KEY: &str = "user.creds";

/// One creds Secret: public facts only (never a seed, never the JWT text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredsSecretFacts {
    pub namespace: String,
    pub name: String,
    /// The creds label's value: the workload.
    pub workload: String,
    /// `jti` of the user JWT in `user.creds` (empty: none readable).
    pub jwt_id: String,
    /// Its subject (the user public key).
    pub user_key: String,
    /// Why no JWT could be read, when so.
    pub problem: Option<String>,
}

/// The JWT of a creds file: the first `-----BEGIN...-----` block only. The
/// text after it (the seed block) is not looked at.
pub fn jwt_of_creds(text: &str) -> Option<&str> {
    jwt::blocks::first_block(text)
}

/// The facts of one Secret; its data is zeroized before returning, whatever
/// it held.
pub fn facts_of(mut secret: Secret, label_key: &str) -> CredsSecretFacts {
    let meta = &secret.metadata;
    let mut f = CredsSecretFacts {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        workload: meta.labels.as_ref().and_then(|l| l.get(label_key)).cloned().unwrap_or_default(),
        ..Default::default()
    };
    let mut data: BTreeMap<String, k8s_openapi::ByteString> = secret.data.take().unwrap_or_default();
    match data.get(CREDS_KEY) {
        None => f.problem = Some(format!("no {CREDS_KEY} key")),
        Some(bytes) => match std::str::from_utf8(&bytes.0).ok().and_then(jwt_of_creds) {
            None => f.problem = Some(format!("{CREDS_KEY} holds no JWT block")),
            Some(token) => match jwt::decode_as::<jwt::User>(token) {
                Ok(UserClaims { std, .. }) => (f.jwt_id, f.user_key) = (std.id, std.subject),
                Err(e) => f.problem = Some(format!("{CREDS_KEY}: the JWT does not decode ({e})")),
            },
        },
    }
    for v in data.values_mut() {
        v.0.zeroize();
    }
    if let Some(s) = secret.string_data.as_mut() {
        s.values_mut().for_each(Zeroize::zeroize);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nats::jwt::{KeyKind, SigningKey};

    fn secret(creds: &str) -> Secret {
        let mut s = Secret::default();
        s.metadata.name = Some("orders-nats-creds".into());
        s.metadata.namespace = Some("shop".into());
        s.metadata.labels = Some([("warden.dev/identity".to_string(), "orders".to_string())].into());
        s.data = Some([(CREDS_KEY.to_string(), k8s_openapi::ByteString(creds.as_bytes().to_vec()))].into());
        s
    }

    #[test]
    fn only_the_jwt_is_read_and_nothing_secret_is_kept() {
        let (acc, user) = (SigningKey::generate(KeyKind::Account), SigningKey::generate(KeyKind::User));
        let mut c = UserClaims::new_user(user.public_key(), "orders");
        let token = jwt::encode_user(&mut c, &acc, acc.public_key(), 1_000).unwrap();
        let creds = jwt::render_creds(&token, &user).unwrap();
        let f = facts_of(secret(creds.expose()), "warden.dev/identity");
        assert_eq!((f.jwt_id.as_str(), f.user_key.as_str()), (c.std.id.as_str(), user.public_key()));
        assert_eq!(
            (f.namespace.as_str(), f.name.as_str(), f.workload.as_str()),
            ("shop", "orders-nats-creds", "orders")
        );
        assert_eq!(f.problem, None);
        let shown = format!("{f:?}");
        assert!(!shown.contains(&user.expose_seed()) && !shown.contains(&token), "{shown}");
        // A seed with no JWT block before it is never taken for one.
        let seed_only = jwt::render_seed(&user);
        let f = facts_of(secret(seed_only.expose()), "warden.dev/identity");
        assert!(f.jwt_id.is_empty() && f.problem.is_some(), "{f:?}");
        assert!(!format!("{f:?}").contains(&user.expose_seed()));
    }
}
