//! JWT-mode identity actions: register, approve, deny, renew, revoke. One
//! code path for the console (run in an IO task) and the CLI. Every action
//! reports part by part ([`ActionReport`]), is idempotent (a re-run says
//! "already ..."), and loads key material only for itself (dropped after).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::json;

use super::record::{GrantEntry, IdentityRecord, IdentitySpec, IdentityStatus, status_patch};
use crate::config::file::KubeSection;
pub use crate::identity::permissions::Dir;
use crate::nats::accounts;
use crate::nats::jwt::{self, AccountClaims, KeyKind, Permission, SigningKey, UserClaims};
use crate::nats::sys::{SysClient, decode_api};
use crate::nats::types::ConnInfo;

pub use crate::identity::naming::{IdentityName, Naming};

/// Name of the workload's ClusterSPIFFEID (cluster-scoped), one convention
/// in both modes and the sandbox: `{namespace}.{workload}`.
pub use super::spiffe_actions::cluster_spiffe_id_name;

/// Name of the credentials Secret in the workload's namespace.
pub fn creds_secret_name(name: &IdentityName) -> String {
    format!("{}-nats-creds", name.workload)
}

/// What revoke acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    Identity(IdentityName),
    UserKey(String),
}

impl RevokeTarget {
    pub fn parse(s: &str) -> Result<RevokeTarget> {
        if s.starts_with('U') && !s.contains('/') {
            jwt::check_public(s, KeyKind::User)?;
            return Ok(RevokeTarget::UserKey(s.to_string()));
        }
        Ok(RevokeTarget::Identity(IdentityName::parse(s)?))
    }
}

impl std::fmt::Display for RevokeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevokeTarget::Identity(n) => n.fmt(f),
            RevokeTarget::UserKey(k) => f.write_str(k),
        }
    }
}

/// An action request, from a key press or a subcommand.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Register {
        name: IdentityName,
        account: String,
        ttl: Duration,
        creds_out: Option<PathBuf>,
    },
    Approve {
        name: IdentityName,
        ttl: Option<Duration>,
    },
    Deny {
        name: IdentityName,
        reason: String,
    },
    Renew {
        name: IdentityName,
        account: Option<String>,
        ttl: Duration,
        creds_out: Option<PathBuf>,
    },
    Revoke {
        target: RevokeTarget,
        account: String,
        creds: Option<PathBuf>,
    },
    /// Add an explicit (cross-tentacle) subject to the user JWT. Over-broad
    /// subjects (`nats::subject::is_over_broad`) need `allow_broad`.
    Grant {
        name: IdentityName,
        dir: Dir,
        subject: String,
        allow_broad: bool,
        creds_out: Option<PathBuf>,
    },
    /// Remove an explicit subject (never the identity's own scope).
    Ungrant {
        name: IdentityName,
        dir: Dir,
        subject: String,
        creds_out: Option<PathBuf>,
    },
}

impl Request {
    pub fn verb(&self) -> &'static str {
        match self {
            Request::Register { .. } => "register",
            Request::Approve { .. } => "approve",
            Request::Deny { .. } => "deny",
            Request::Renew { .. } => "renew",
            Request::Revoke { .. } => "revoke",
            Request::Grant { .. } => "grant",
            Request::Ungrant { .. } => "ungrant",
        }
    }
    pub fn target(&self) -> String {
        match self {
            Request::Register { name, .. }
            | Request::Approve { name, .. }
            | Request::Deny { name, .. }
            | Request::Renew { name, .. } => name.to_string(),
            Request::Grant { name, dir, subject, .. } | Request::Ungrant { name, dir, subject, .. } => {
                format!("{name} {} {subject}", dir_word(*dir))
            }
            Request::Revoke { target, .. } => target.to_string(),
        }
    }
    /// Destructive actions ask for confirmation (Cancel by default).
    pub fn is_destructive(&self) -> bool {
        matches!(self, Request::Revoke { .. } | Request::Deny { .. } | Request::Ungrant { .. })
    }

    /// The grant any view can send ("grant this subject to this identity"):
    /// written where the identity's JWT lives, not over-broad unless
    /// confirmed (see [`Request::needs_broad_confirmation`]).
    pub fn grant(name: IdentityName, dir: Dir, subject: impl Into<String>) -> Request {
        Request::Grant { name, dir, subject: subject.into(), allow_broad: false, creds_out: None }
    }

    pub fn ungrant(name: IdentityName, dir: Dir, subject: impl Into<String>) -> Request {
        Request::Ungrant { name, dir, subject: subject.into(), creds_out: None }
    }

    /// A grant of an over-broad subject not yet confirmed as such.
    pub fn needs_broad_confirmation(&self) -> bool {
        matches!(self, Request::Grant { subject, allow_broad: false, .. } if crate::nats::subject::is_over_broad(subject))
    }
}

/// `publish` / `subscribe` (the words of `spec.grants[].direction`).
pub fn dir_word(d: Dir) -> &'static str {
    match d {
        Dir::Publish => "publish",
        Dir::Subscribe => "subscribe",
    }
}

/// One part of an action and how it went (`Ok(detail)` / `Err(reason)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub step: String,
    pub result: Result<String, String>,
}

impl Step {
    pub fn ok(step: impl Into<String>, detail: impl Into<String>) -> Step {
        Step { step: step.into(), result: Ok(detail.into()) }
    }
    pub fn err(step: impl Into<String>, why: impl Into<String>) -> Step {
        Step { step: step.into(), result: Err(why.into()) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub target: String,
    pub steps: Vec<Step>,
}

impl ActionReport {
    pub fn new(action: &str, target: &str) -> ActionReport {
        ActionReport { action: action.into(), target: target.into(), steps: Vec::new() }
    }
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.result.is_ok())
    }
    /// "ok", "partial" (some steps failed) or "failed" (none succeeded).
    pub fn outcome(&self) -> &'static str {
        match (self.steps.iter().filter(|s| s.result.is_ok()).count(), self.steps.len()) {
            (_, 0) => "failed",
            (ok, n) if ok == n => "ok",
            (0, _) => "failed",
            _ => "partial",
        }
    }
    /// Human lines, one per step.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| match &s.result {
                Ok(d) => format!("ok    {}: {d}", s.step),
                Err(e) => format!("FAIL  {}: {e}", s.step),
            })
            .collect()
    }
}

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

/// A Kubernetes connection for the Kubernetes parts of an identity.
#[derive(Clone)]
pub struct KubeCtx {
    pub client: kube::Client,
    pub section: KubeSection,
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
}

/// Runs `req`; `progress` sees each step as it completes.
pub async fn run(ctx: &ActionContext, req: &Request, mut progress: impl FnMut(&Step) + Send) -> ActionReport {
    let mut r = Recorder { report: ActionReport::new(req.verb(), &req.target()), progress: &mut progress };
    let result = match req {
        Request::Register { name, account, ttl, creds_out } => {
            register(ctx, &mut r, name, account, *ttl, creds_out.as_deref()).await
        }
        Request::Approve { name, ttl } => approve(ctx, &mut r, name, *ttl).await,
        Request::Deny { name, reason } => deny(ctx, &mut r, name, reason).await,
        Request::Renew { name, account, ttl, creds_out } => {
            renew(ctx, &mut r, name, account.as_deref(), *ttl, creds_out.as_deref()).await
        }
        Request::Revoke { target, account, creds } => revoke(ctx, &mut r, target, account, creds.as_deref()).await,
        Request::Grant { name, dir, subject, allow_broad, creds_out } => {
            let g = GrantReq { name, dir: *dir, subject, add: true, allow_broad: *allow_broad };
            grant(ctx, &mut r, &g, creds_out.as_deref()).await
        }
        Request::Ungrant { name, dir, subject, creds_out } => {
            let g = GrantReq { name, dir: *dir, subject, add: false, allow_broad: false };
            grant(ctx, &mut r, &g, creds_out.as_deref()).await
        }
    };
    if let Err(e) = result {
        r.push(Step::err("stopped", format!("{e:#}")));
    }
    r.report
}

/// Collects an action's steps and shows each as it happens (both modes).
pub(crate) struct Recorder<'a> {
    pub(crate) report: ActionReport,
    pub(crate) progress: &'a mut (dyn FnMut(&Step) + Send),
}

impl Recorder<'_> {
    pub(crate) fn push(&mut self, s: Step) {
        (self.progress)(&s);
        self.report.steps.push(s);
    }
    pub(crate) fn ok(&mut self, step: &str, detail: impl Into<String>) {
        self.push(Step::ok(step, detail));
    }
    pub(crate) fn err(&mut self, step: &str, e: impl std::fmt::Display) {
        self.push(Step::err(step, e.to_string()));
    }
    /// Records a failed step and returns an error that stops the action.
    pub(crate) fn fail(&mut self, step: &str, e: impl std::fmt::Display) -> anyhow::Error {
        self.err(step, e);
        anyhow!("{step} failed")
    }
}

/// Stops the action after a step that failed (already recorded).
macro_rules! step {
    ($r:expr, $name:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                $r.push(Step::err($name, format!("{e:#}")));
                return Ok(());
            }
        }
    };
}

// After the macro: the action modules use `step!` (textual macro scope).
mod grant;
mod lifecycle;
mod revoke;

use grant::*;
use lifecycle::*;
pub use revoke::kick;
use revoke::*;

fn short(key: &str) -> String {
    if key.len() > 12 { format!("{}…", &key[..12]) } else { key.to_string() }
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn now_rfc3339() -> String {
    rfc3339(jwt::unix_now())
}

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

async fn load_key(ctx: &ActionContext, key: Option<&KeyRef>, kind: KeyKind, what: &str) -> Result<SigningKey> {
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

fn check_account_signer(acc_id: &str, acc: &AccountClaims, k: &SigningKey) -> Result<()> {
    if k.public_key() == acc_id || acc.nats.has_signing_key(k.public_key()) {
        Ok(())
    } else {
        bail!("{} is not a signing key of account {} ({})", k.public_key(), acc.std.name, short(acc_id))
    }
}

/// User claims for `name` with the default scope and `ttl`.
fn user_claims(user_public: &str, user: &str, publish: &[String], subscribe: &[String], exp: i64) -> UserClaims {
    let mut c = UserClaims::new_user(user_public, user);
    c.nats.permissions.publish = Permission::allow(publish.iter().cloned());
    c.nats.permissions.subscribe = Permission::allow(subscribe.iter().cloned());
    c.std.expires = exp;
    c
}

fn mint(acc_id: &str, signer: &SigningKey, claims: &mut UserClaims) -> Result<String> {
    Ok(jwt::encode_user(claims, signer, acc_id, jwt::unix_now())?)
}

fn ttl_exp(ttl: Duration) -> i64 {
    jwt::unix_now() + ttl.as_secs().max(1) as i64
}

fn kube_api(k: &KubeCtx, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(k.client.clone(), ns, &crate::kube::resources::nats_identity())
}

async fn get_record(k: &KubeCtx, name: &IdentityName) -> Result<Option<IdentityRecord>> {
    let o = kube_api(k, &name.namespace)
        .get_opt(&name.workload)
        .await
        .with_context(|| format!("reading NatsIdentity {name}"))?;
    Ok(o.as_ref().map(IdentityRecord::from_object))
}

async fn apply_record(k: &KubeCtx, rec: &IdentityRecord) -> Result<()> {
    let api = kube_api(k, &rec.namespace);
    api.patch(&rec.name, &PatchParams::apply("warden").force(), &Patch::Apply(rec.to_object()))
        .await
        .with_context(|| format!("writing NatsIdentity {}/{}", rec.namespace, rec.name))?;
    write_status(k, &rec.namespace, &rec.name, &rec.status).await
}

/// Writes status through the status subresource, or the object when the
/// CRD has none.
async fn write_status(k: &KubeCtx, ns: &str, name: &str, status: &IdentityStatus) -> Result<()> {
    let api = kube_api(k, ns);
    let body = status_patch(status);
    match api.patch_status(name, &PatchParams::default(), &Patch::Merge(&body)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .with_context(|| format!("writing NatsIdentity {ns}/{name} status"))?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("writing NatsIdentity {ns}/{name} status")),
    }
}

async fn apply_creds_secret(k: &KubeCtx, name: &IdentityName, creds: &jwt::CredsText) -> Result<String> {
    let ar = crate::kube::resources::Watched::CredsSecrets.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(k.client.clone(), &name.namespace, &ar);
    let mut o = DynamicObject::new(&creds_secret_name(name), &ar).within(&name.namespace);
    let label = k.section.creds_label.split('=').next().unwrap_or("warden.dev/identity").to_string();
    o.metadata.labels = Some([(label, name.workload.clone())].into_iter().collect());
    o.data = json!({
        "type": "Opaque",
        "data": { "user.creds": data_encoding::BASE64.encode(creds.expose().as_bytes()) },
    });
    api.patch(&creds_secret_name(name), &PatchParams::apply("warden").force(), &Patch::Apply(o))
        .await
        .with_context(|| format!("writing Secret {}/{}", name.namespace, creds_secret_name(name)))?;
    Ok(format!("{}/{}", name.namespace, creds_secret_name(name)))
}

async fn read_creds_secret(k: &KubeCtx, name: &IdentityName) -> Result<Option<jwt::Creds>> {
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(k.client.clone(), &name.namespace);
    let Some(s) = api.get_opt(&creds_secret_name(name)).await? else { return Ok(None) };
    let Some(data) = s.data else { return Ok(None) };
    for v in data.values() {
        if let Ok(text) = std::str::from_utf8(&v.0)
            && let Ok(c) = jwt::parse_creds(text)
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

fn read_creds_file(path: &std::path::Path) -> Result<Option<jwt::Creds>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(jwt::parse_creds(&t).with_context(|| format!("{} is not a creds file", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn user_account(c: &UserClaims) -> &str {
    if c.nats.issuer_account.is_empty() { &c.std.issuer } else { &c.nats.issuer_account }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_targets_parse() {
        let n = IdentityName::parse("tent-dev/orders").unwrap();
        assert_eq!(creds_secret_name(&n), "orders-nats-creds");
        assert!(IdentityName::parse("nope").is_err());
        assert!(IdentityName::parse("a/B").is_err());
        assert!(IdentityName::parse("/x").is_err());
        let k = SigningKey::generate(KeyKind::User);
        assert_eq!(RevokeTarget::parse(k.public_key()).unwrap(), RevokeTarget::UserKey(k.public_key().into()));
        assert!(RevokeTarget::parse("UNOTAKEY").is_err());
        assert_eq!(
            KeyRef::parse_secret("nats/op-keys:operator.nk").unwrap(),
            KeyRef::Secret { namespace: "nats".into(), name: "op-keys".into(), key: "operator.nk".into() }
        );
    }

    #[test]
    fn report_outcome() {
        let mut r = ActionReport::new("renew", "a/b");
        assert_eq!(r.outcome(), "failed");
        r.steps.push(Step::ok("x", "y"));
        assert_eq!(r.outcome(), "ok");
        r.steps.push(Step::err("z", "w"));
        assert_eq!(r.outcome(), "partial");
        assert_eq!(r.lines()[1], "FAIL  z: w");
    }
}
