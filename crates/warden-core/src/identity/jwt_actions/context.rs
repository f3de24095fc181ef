//! What a JWT-mode action runs with (NATS, Kubernetes, signing keys) and
//! the minting helpers every action uses: account lookup, key loading, user
//! claims. Key material is loaded only for the action and dropped after.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use kube::api::Api;

use crate::identity::action::kube::KubeCtx;
use crate::identity::naming::Naming;
use crate::nats::accounts;
use crate::nats::jwt::{self, AccountClaims, KeyKind, Permission, SigningKey, UserClaims};
use crate::nats::sys::SysClient;

/// Where a signing key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRef {
    File(PathBuf),
    /// `namespace/name:key` of a Kubernetes Secret.
    Secret {
        namespace: String,
        name: String,
        key: String,
    },
}

impl KeyRef {
    pub fn parse_secret(s: &str) -> Result<KeyRef> {
        let (nsname, key) = s.split_once(':').ok_or_else(|| anyhow!("{s:?} is not namespace/name:key"))?;
        let (ns, name) = nsname.split_once('/').ok_or_else(|| anyhow!("{s:?} is not namespace/name:key"))?;
        Ok(KeyRef::Secret { namespace: ns.into(), name: name.into(), key: key.into() })
    }
    fn describe(&self) -> String {
        match self {
            KeyRef::File(p) => p.display().to_string(),
            KeyRef::Secret { namespace, name, key } => format!("secret {namespace}/{name}:{key}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SigningConfig {
    pub account: Option<KeyRef>,
    pub operator: Option<KeyRef>,
}

/// What an action runs with.
#[derive(Clone)]
pub struct ActionContext {
    pub sys: SysClient,
    pub kube: Option<KubeCtx>,
    pub signing: SigningConfig,
    /// `$USER@host`, recorded in NatsIdentity status and the audit log.
    pub actor: String,
    /// How long revoke waits for the servers to close revoked clients before kicking.
    pub settle: Duration,
    /// Naming templates (user name, subject scope, SPIFFE ID).
    pub naming: Naming,
    /// Default TTL and the bounds of every minted JWT (`[identity]`).
    pub ttl: crate::identity::ttl::TtlPolicy,
}
pub(super) fn short(key: &str) -> String {
    if key.chars().count() > 12 { format!("{}…", key.chars().take(12).collect::<String>()) } else { key.to_string() }
}

pub(super) use crate::identity::record::rfc3339_of as rfc3339;

/// An account by name or public key: its id, current JWT and claims.
pub async fn resolve_account(sys: &SysClient, wanted: &str) -> Result<(String, AccountClaims)> {
    if wanted.starts_with('A') && KeyKind::of_public(wanted) == Some(KeyKind::Account) {
        let (_, c) = accounts::current(sys, wanted)
            .await?
            .ok_or_else(|| anyhow!("no server serves a JWT for account {wanted}"))?;
        return Ok((wanted.to_string(), c));
    }
    let (ids, _) = accounts::list_ids(sys).await?;
    if ids.is_empty() {
        bail!("no account listed by $SYS.REQ.CLAIMS.LIST: is this an operator-mode deployment with a full resolver?");
    }
    for id in ids {
        if let Some((_, c)) = accounts::current(sys, &id).await?
            && c.std.name == wanted
        {
            return Ok((id, c));
        }
    }
    bail!("no account named {wanted:?}")
}

pub(super) async fn load_key(
    ctx: &ActionContext,
    key: Option<&KeyRef>,
    kind: KeyKind,
    what: &str,
) -> Result<SigningKey> {
    let key = key.ok_or_else(|| {
        anyhow!(
            "no {what} configured: pass --{}-signing-key PATH or set [signing] {}_signing_key in the config file",
            if kind == KeyKind::Operator { "operator" } else { "account" },
            if kind == KeyKind::Operator { "operator" } else { "account" },
        )
    })?;
    let k = match key {
        KeyRef::File(p) => SigningKey::load_kind(p, kind)?,
        KeyRef::Secret { namespace, name, key: field } => {
            let kube = ctx.kube.as_ref().ok_or_else(|| anyhow!("{} needs Kubernetes", key.describe()))?;
            let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(kube.client.clone(), namespace);
            let s = api.get(name).await.with_context(|| format!("reading {}", key.describe()))?;
            let bytes = s
                .data
                .as_ref()
                .and_then(|d| d.get(field))
                .ok_or_else(|| anyhow!("{} has no key {field:?}", key.describe()))?;
            let text = String::from_utf8(bytes.0.clone()).map_err(|_| anyhow!("{} is not text", key.describe()))?;
            let k = SigningKey::from_text(&text, &key.describe())?;
            k.expect_kind(kind, &key.describe())?;
            k
        }
    };
    Ok(k)
}

pub(super) fn check_account_signer(acc_id: &str, acc: &AccountClaims, k: &SigningKey) -> Result<()> {
    if k.public_key() == acc_id || acc.nats.has_signing_key(k.public_key()) {
        Ok(())
    } else {
        bail!("{} is not a signing key of account {} ({})", k.public_key(), acc.std.name, short(acc_id))
    }
}

/// User claims for `name` with the default scope and `ttl`.
pub(super) fn user_claims(
    user_public: &str,
    user: &str,
    publish: &[String],
    subscribe: &[String],
    exp: i64,
) -> UserClaims {
    let mut c = UserClaims::new_user(user_public, user);
    c.nats.permissions.publish = Permission::allow(publish.iter().cloned());
    c.nats.permissions.subscribe = Permission::allow(subscribe.iter().cloned());
    c.std.expires = exp;
    c
}

pub(super) fn mint(acc_id: &str, signer: &SigningKey, claims: &mut UserClaims) -> Result<String> {
    Ok(jwt::encode_user(claims, signer, acc_id, jwt::unix_now())?)
}

/// `exp` of a JWT minted now for `ttl` (already within the policy's bounds).
pub(super) fn ttl_exp(ttl: Duration) -> i64 {
    jwt::unix_now().saturating_add(ttl.as_secs().clamp(1, i64::MAX as u64 / 2) as i64)
}

/// Refuses a creds file target before anything is minted: an existing file
/// unless `overwrite` (it may be the only copy of another identity's seed),
/// a directory that does not exist or cannot be written.
pub(super) fn check_creds_target(p: &std::path::Path, overwrite: bool) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => bail!("{} is a directory", p.display()),
        Ok(_) if !overwrite => {
            bail!("{} already exists (it may hold another identity's seed): pass --force to replace it", p.display())
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("{}: {e}", p.display()),
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!("{}: the directory {} does not exist", p.display(), dir.display());
    }
    let c =
        std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|_| anyhow!("{} has a NUL byte", p.display()))?;
    // SAFETY: a valid NUL-terminated path; access(2) only reads it.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        bail!("{}: the directory {} is not writable", p.display(), dir.display());
    }
    Ok(())
}
pub(super) fn user_account(c: &UserClaims) -> &str {
    if c.nats.issuer_account.is_empty() { &c.std.issuer } else { &c.nats.issuer_account }
}
