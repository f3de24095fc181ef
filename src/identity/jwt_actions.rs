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

struct Recorder<'a> {
    report: ActionReport,
    progress: &'a mut (dyn FnMut(&Step) + Send),
}

impl Recorder<'_> {
    fn push(&mut self, s: Step) {
        (self.progress)(&s);
        self.report.steps.push(s);
    }
    fn ok(&mut self, step: &str, detail: impl Into<String>) {
        self.push(Step::ok(step, detail));
    }
    /// Records a failed step and returns an error that stops the action.
    fn fail(&mut self, step: &str, e: impl std::fmt::Display) -> anyhow::Error {
        self.push(Step::err(step, e.to_string()));
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

async fn register(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    account: &str,
    ttl: Duration,
    creds_out: Option<&std::path::Path>,
) -> Result<()> {
    if creds_out.is_none() && ctx.kube.is_none() {
        return Err(r.fail("credentials", "nowhere to put them: pass --creds-out FILE or configure Kubernetes"));
    }
    let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, account).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    let now = jwt::unix_now();
    // Already registered? (a valid, unrevoked JWT for this user in this account)
    let usable = |c: &jwt::Creds| {
        c.claims.std.name == ctx.naming.nats_user(name)
            && user_account(&c.claims) == acc_id
            && (c.claims.std.expires == 0 || c.claims.std.expires > now)
            && !acc.nats.is_revoked(&c.claims.std.subject, c.claims.std.issued_at)
    };
    if let Some(p) = creds_out
        && let Some(c) = step!(r, "existing credentials", read_creds_file(p))
        && usable(&c)
    {
        r.ok(
            "register",
            format!(
                "already registered: {} holds user {} until {}",
                p.display(),
                c.claims.std.subject,
                rfc3339(c.claims.std.expires)
            ),
        );
        return Ok(());
    }
    if let Some(k) = &ctx.kube
        && let Some(rec) = step!(r, "NatsIdentity", get_record(k, name).await)
        && rec.phase() == "Active"
        && (rec.status.expires == 0 || rec.status.expires > now)
        && !acc.nats.is_revoked(rec.user_key(), now - 1)
        && creds_out.is_none()
    {
        r.ok("register", format!("already registered: NatsIdentity {name} is Active (user {})", rec.user_key()));
        return Ok(());
    }
    let signer = step!(
        r,
        "account signing key",
        load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
    );
    step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
    r.ok("account signing key", format!("{} loaded", signer.public_key()));
    let user = SigningKey::generate(KeyKind::User);
    let exp = ttl_exp(ttl);
    let mut claims = user_claims(
        user.public_key(),
        &ctx.naming.nats_user(name),
        &ctx.naming.scope(name).publish_allow,
        &ctx.naming.scope(name).subscribe_allow,
        exp,
    );
    let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
    drop(signer);
    r.ok(
        "mint user JWT",
        format!(
            "user {} ({}), scope {}, expires {}",
            ctx.naming.nats_user(name),
            user.public_key(),
            ctx.naming.subject_scope(name),
            rfc3339(exp)
        ),
    );
    let creds = step!(r, "credentials", jwt::render_creds(&token, &user));
    if let Some(p) = creds_out {
        step!(r, "creds file", jwt::write_creds_file(p, &creds).with_context(|| format!("writing {}", p.display())));
        r.ok("creds file", format!("{} (0600)", p.display()));
    }
    if let Some(k) = &ctx.kube {
        match apply_creds_secret(k, name, &creds).await {
            Ok(s) => r.ok("creds Secret", s),
            Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
        }
        let rec = IdentityRecord {
            namespace: name.namespace.clone(),
            name: name.workload.clone(),
            spec: IdentitySpec {
                workload: name.workload.clone(),
                account: acc.std.name.clone(),
                user: ctx.naming.nats_user(name),
                public_key: String::new(),
                publish: ctx.naming.scope(name).publish_allow,
                subscribe: ctx.naming.scope(name).subscribe_allow,
                ttl: humantime::format_duration(ttl).to_string(),
                ..Default::default()
            },
            status: IdentityStatus {
                phase: "Active".into(),
                user_public_key: user.public_key().to_string(),
                account_public_key: acc_id.clone(),
                jwt: token.clone(),
                expires: exp,
                approved_by: ctx.actor.clone(),
                approved_at: now_rfc3339(),
                ..Default::default()
            },
        };
        match apply_record(k, &rec).await {
            Ok(()) => r.ok("NatsIdentity", format!("{name} Active")),
            Err(e) => r.push(Step::err("NatsIdentity", format!("{e:#}"))),
        }
    }
    Ok(())
}

fn kube_needed<'a>(ctx: &'a ActionContext, r: &mut Recorder<'_>, what: &str) -> Result<&'a KubeCtx> {
    ctx.kube.as_ref().ok_or_else(|| r.fail(what, "needs Kubernetes (NatsIdentity resources): none is configured"))
}

async fn approve(ctx: &ActionContext, r: &mut Recorder<'_>, name: &IdentityName, ttl: Option<Duration>) -> Result<()> {
    let k = kube_needed(ctx, r, "approve")?;
    let rec = step!(r, "NatsIdentity", get_record(k, name).await);
    let Some(rec) = rec else { return Err(r.fail("NatsIdentity", format!("no NatsIdentity {name}"))) };
    match rec.phase() {
        "Active" => {
            r.ok("approve", format!("already approved by {} at {}", rec.status.approved_by, rec.status.approved_at));
            return Ok(());
        }
        "Pending" => {}
        other => return Err(r.fail("approve", format!("{name} is {other}; only a Pending identity can be approved"))),
    }
    let public = rec.spec.public_key.clone();
    step!(r, "user public key", jwt::check_public(&public, KeyKind::User).map_err(|e| anyhow!("spec.publicKey: {e}")));
    let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, &rec.spec.account).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    let signer = step!(
        r,
        "account signing key",
        load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
    );
    step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
    let ttl = ttl.or_else(|| humantime::parse_duration(&rec.spec.ttl).ok()).unwrap_or(Duration::from_secs(24 * 3600));
    let exp = ttl_exp(ttl);
    let (publish, subscribe) = perms_of(&ctx.naming, &rec.spec, name);
    let user = if rec.spec.user.is_empty() { ctx.naming.nats_user(name) } else { rec.spec.user.clone() };
    let mut claims = user_claims(&public, &user, &publish, &subscribe, exp);
    let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
    drop(signer);
    r.ok("mint user JWT", format!("user {user} ({public}), expires {}", rfc3339(exp)));
    let status = IdentityStatus {
        phase: "Active".into(),
        user_public_key: public,
        account_public_key: acc_id,
        jwt: token,
        expires: exp,
        approved_by: ctx.actor.clone(),
        approved_at: now_rfc3339(),
        ..Default::default()
    };
    step!(r, "NatsIdentity status", write_status(k, &name.namespace, &name.workload, &status).await);
    r.ok("NatsIdentity status", "Active, JWT in status.jwt");
    Ok(())
}

fn perms_of(naming: &Naming, spec: &IdentitySpec, name: &IdentityName) -> (Vec<String>, Vec<String>) {
    let p = if spec.publish.is_empty() { naming.scope(name).publish_allow } else { spec.publish.clone() };
    let s = if spec.subscribe.is_empty() { naming.scope(name).subscribe_allow } else { spec.subscribe.clone() };
    let (mut p, mut s) = (p, s);
    for g in &spec.grants {
        let list = if g.direction == "publish" { &mut p } else { &mut s };
        if !list.contains(&g.subject) {
            list.push(g.subject.clone());
        }
    }
    (p, s)
}

async fn deny(ctx: &ActionContext, r: &mut Recorder<'_>, name: &IdentityName, reason: &str) -> Result<()> {
    let k = kube_needed(ctx, r, "deny")?;
    let Some(rec) = step!(r, "NatsIdentity", get_record(k, name).await) else {
        return Err(r.fail("NatsIdentity", format!("no NatsIdentity {name}")));
    };
    match rec.phase() {
        "Denied" => {
            r.ok("deny", format!("already denied by {} at {}", rec.status.denied_by, rec.status.denied_at));
            return Ok(());
        }
        "Pending" => {}
        other => {
            return Err(r.fail(
                "deny",
                format!("{name} is {other}; only a Pending identity can be denied (revoke an Active one)"),
            ));
        }
    }
    let status = IdentityStatus {
        phase: "Denied".into(),
        denied_by: ctx.actor.clone(),
        denied_at: now_rfc3339(),
        message: reason.to_string(),
        ..Default::default()
    };
    step!(r, "NatsIdentity status", write_status(k, &name.namespace, &name.workload, &status).await);
    r.ok("NatsIdentity status", "Denied");
    Ok(())
}

async fn renew(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    account: Option<&str>,
    ttl: Duration,
    creds_out: Option<&std::path::Path>,
) -> Result<()> {
    // The current user: a creds file, else the Kubernetes record (+ its Secret).
    let mut creds = None;
    if let Some(p) = creds_out {
        creds = step!(r, "creds file", read_creds_file(p));
        if creds.is_none() {
            return Err(r.fail("creds file", format!("{} does not exist: register first", p.display())));
        }
    }
    let rec = match &ctx.kube {
        Some(k) => step!(r, "NatsIdentity", get_record(k, name).await),
        None => None,
    };
    if creds.is_none()
        && let Some(k) = &ctx.kube
    {
        creds = step!(r, "creds Secret", read_creds_secret(k, name).await);
    }
    if creds.is_none() && rec.is_none() {
        return Err(
            r.fail("identity", format!("nothing known about {name}: pass --creds-out FILE or configure Kubernetes"))
        );
    }
    if let Some(rec) = &rec
        && matches!(rec.phase(), "Revoked" | "Denied" | "Pending")
    {
        return Err(r.fail("renew", format!("{name} is {}; renew needs an Active identity", rec.phase())));
    }
    let (user_public, old): (String, Option<UserClaims>) = match (&creds, &rec) {
        (Some(c), _) => (c.claims.std.subject.clone(), Some(c.claims.clone())),
        (None, Some(rec)) => (rec.user_key().to_string(), jwt::decode_as::<jwt::User>(&rec.status.jwt).ok()),
        (None, None) => unreachable!(),
    };
    let wanted = account
        .map(str::to_string)
        .or_else(|| old.as_ref().map(|c| user_account(c).to_string()))
        .or_else(|| rec.as_ref().map(|r| r.spec.account.clone()))
        .unwrap_or_default();
    let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, &wanted).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    if acc.nats.revocations.contains_key(&user_public) {
        return Err(r.fail("renew", format!("user {user_public} is revoked in {}; register anew", acc.std.name)));
    }
    let signer = step!(
        r,
        "account signing key",
        load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
    );
    step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
    let exp = ttl_exp(ttl);
    let mut claims = match old {
        Some(mut c) => {
            c.std.expires = exp;
            c
        }
        None => {
            let spec = rec.as_ref().map(|r| r.spec.clone()).unwrap_or_default();
            let (p, s) = perms_of(&ctx.naming, &spec, name);
            user_claims(&user_public, &ctx.naming.nats_user(name), &p, &s, exp)
        }
    };
    let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
    drop(signer);
    r.ok("mint user JWT", format!("user {user_public}, expires {}", rfc3339(exp)));
    if let Some(c) = &creds {
        let text = step!(r, "credentials", jwt::render_creds(&token, &c.key));
        if let Some(p) = creds_out {
            step!(r, "creds file", jwt::write_creds_file(p, &text).with_context(|| format!("writing {}", p.display())));
            r.ok("creds file", format!("{} (0600)", p.display()));
        } else if let Some(k) = &ctx.kube {
            match apply_creds_secret(k, name, &text).await {
                Ok(s) => r.ok("creds Secret", s),
                Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
            }
        }
    }
    if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
        let mut status = rec.status.clone();
        status.jwt = token;
        status.expires = exp;
        status.user_public_key = user_public.clone();
        status.account_public_key = acc_id.clone();
        match write_status(k, &name.namespace, &name.workload, &status).await {
            Ok(()) => r.ok("NatsIdentity status", format!("expires {}", rfc3339(exp))),
            Err(e) => r.push(Step::err("NatsIdentity status", format!("{e:#}"))),
        }
    }
    Ok(())
}

struct GrantReq<'a> {
    name: &'a IdentityName,
    dir: Dir,
    subject: &'a str,
    add: bool,
    allow_broad: bool,
}

/// grant / ungrant: re-mint the current user JWT (same key, scope and expiry)
/// with `subject` added to / removed from one direction's allow list; write
/// it where the current one lives; record it in `spec.grants`.
async fn grant(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    g: &GrantReq<'_>,
    creds_out: Option<&std::path::Path>,
) -> Result<()> {
    let (name, word) = (g.name, dir_word(g.dir));
    step!(r, "subject", crate::nats::subject::validate_pattern(g.subject).map_err(|e| anyhow!("{:?}: {e}", g.subject)));
    if g.add && crate::nats::subject::is_over_broad(g.subject) && !g.allow_broad {
        return Err(r.fail(
            "subject",
            format!(
                "{} is over-broad (it reaches beyond one tentacle's subjects): pass --allow-broad to grant it anyway",
                g.subject
            ),
        ));
    }
    let scope = ctx.naming.scope(name);
    let own = match g.dir {
        Dir::Publish => &scope.publish_allow,
        Dir::Subscribe => &scope.subscribe_allow,
    };
    if !g.add && own.iter().any(|s| s == g.subject) {
        return Err(r.fail(
            "ungrant",
            format!("{} is {name}'s own scope, not a grant (revoke the identity to take it away)", g.subject),
        ));
    }
    // The current JWT: a creds file, else the NatsIdentity (+ its Secret).
    let mut creds = None;
    if let Some(p) = creds_out {
        creds = step!(r, "creds file", read_creds_file(p));
        if creds.is_none() {
            return Err(r.fail("creds file", format!("{} does not exist: register first", p.display())));
        }
    }
    let rec = match &ctx.kube {
        Some(k) if creds_out.is_none() => step!(r, "NatsIdentity", get_record(k, name).await),
        _ => None,
    };
    if creds_out.is_none() && rec.is_none() {
        return Err(r.fail(
            "identity",
            match ctx.kube {
                Some(_) => format!("no NatsIdentity {name}: register it first, or pass --creds-out FILE"),
                None => format!("nothing known about {name}: pass --creds-out FILE or configure Kubernetes"),
            },
        ));
    }
    if let Some(rec) = &rec
        && rec.phase() != "Active"
    {
        return Err(r.fail(word, format!("{name} is {}; {} needs an Active identity", rec.phase(), r.report.action)));
    }
    let mut secret = None;
    if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
        // The seed, when warden holds it: the Secret is rewritten only if it
        // belongs to the same user key.
        secret = step!(r, "creds Secret", read_creds_secret(k, name).await)
            .filter(|c: &jwt::Creds| c.claims.std.subject == rec.user_key());
    }
    let current: UserClaims = match (&creds, &rec) {
        (Some(c), _) => c.claims.clone(),
        (None, Some(rec)) => step!(
            r,
            "current JWT",
            jwt::decode_as::<jwt::User>(&rec.status.jwt).map_err(|e| anyhow!("NatsIdentity status.jwt: {e}"))
        ),
        (None, None) => unreachable!("checked above"),
    };
    let mut claims = current.clone();
    let list = match g.dir {
        Dir::Publish => &mut claims.nats.permissions.publish.allow,
        Dir::Subscribe => &mut claims.nats.permissions.subscribe.allow,
    };
    let present = list.iter().any(|s| s == g.subject);
    let change = g.add != present;
    if !change {
        r.ok(
            "user JWT",
            if g.add {
                format!("already granted: {word} {} is in the JWT", g.subject)
            } else {
                format!("already absent: {word} {} is not in the JWT", g.subject)
            },
        );
    } else {
        if g.add {
            list.push(g.subject.to_string());
        } else {
            list.retain(|s| s != g.subject);
        }
        let acc_id = user_account(&current).to_string();
        let (acc_id, acc) = step!(r, "account", resolve_account(&ctx.sys, &acc_id).await);
        r.ok("account", format!("{} ({})", acc.std.name, acc_id));
        if acc.nats.revocations.contains_key(&current.std.subject) {
            return Err(r.fail(word, format!("user {} is revoked in {}", current.std.subject, acc.std.name)));
        }
        let signer = step!(
            r,
            "account signing key",
            load_key(ctx, ctx.signing.account.as_ref(), KeyKind::Account, "account signing key").await
        );
        step!(r, "account signing key", check_account_signer(&acc_id, &acc, &signer));
        let token = step!(r, "mint user JWT", mint(&acc_id, &signer, &mut claims));
        drop(signer);
        r.ok(
            "mint user JWT",
            format!(
                "user {}: {word} {} {}, expiry kept ({})",
                current.std.subject,
                if g.add { "added" } else { "removed" },
                g.subject,
                if claims.std.expires == 0 { "never".to_string() } else { rfc3339(claims.std.expires) }
            ),
        );
        if let (Some(c), Some(p)) = (&creds, creds_out) {
            let text = step!(r, "credentials", jwt::render_creds(&token, &c.key));
            step!(r, "creds file", jwt::write_creds_file(p, &text).with_context(|| format!("writing {}", p.display())));
            r.ok("creds file", format!("{} (0600)", p.display()));
        }
        if let Some(c) = &secret
            && let Some(k) = &ctx.kube
        {
            match jwt::render_creds(&token, &c.key) {
                Ok(text) => match apply_creds_secret(k, name, &text).await {
                    Ok(s) => r.ok("creds Secret", s),
                    Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
                },
                Err(e) => r.push(Step::err("creds Secret", format!("{e:#}"))),
            }
        }
        if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
            let mut status = rec.status.clone();
            status.jwt = token;
            match write_status(k, &name.namespace, &name.workload, &status).await {
                Ok(()) => r.ok("NatsIdentity status", "JWT replaced"),
                Err(e) => r.push(Step::err("NatsIdentity status", format!("{e:#}"))),
            }
        }
    }
    if let (Some(k), Some(rec)) = (&ctx.kube, &rec) {
        let entry = GrantEntry { direction: word.to_string(), subject: g.subject.to_string() };
        let mut grants = rec.spec.grants.clone();
        let had = grants.contains(&entry);
        if g.add && !had {
            grants.push(entry);
        } else if !g.add && had {
            grants.retain(|e| *e != entry);
        }
        if had == g.add {
            r.ok("NatsIdentity spec", format!("spec.grants {} it", if had { "already has" } else { "already lacks" }));
        } else {
            match write_grants(k, name, &grants).await {
                Ok(()) => r.ok("NatsIdentity spec", format!("spec.grants: {} entries", grants.len())),
                Err(e) => r.push(Step::err("NatsIdentity spec", format!("{e:#}"))),
            }
        }
    }
    Ok(())
}

async fn write_grants(k: &KubeCtx, name: &IdentityName, grants: &[GrantEntry]) -> Result<()> {
    kube_api(k, &name.namespace)
        .patch(&name.workload, &PatchParams::default(), &Patch::Merge(json!({ "spec": { "grants": grants } })))
        .await
        .with_context(|| format!("writing NatsIdentity {name} spec.grants"))?;
    Ok(())
}

/// Connections whose user is one of `keys` (the authorized user or the JWT subject).
fn conn_matches(c: &ConnInfo, keys: &[String]) -> bool {
    keys.contains(&c.authorized_user)
        || (!c.jwt.is_empty() && jwt::decode_as::<jwt::User>(&c.jwt).is_ok_and(|u| keys.contains(&u.std.subject)))
}

/// Live connections of `keys`: (server name, server id, cid).
async fn live_conns(sys: &SysClient, keys: &[String]) -> Result<Vec<(String, String, u64)>> {
    let mut out = Vec::new();
    for reply in sys.connz_all().await? {
        if let Ok(page) = &reply.result {
            for c in &page.connections {
                if conn_matches(c, keys) {
                    out.push((reply.server.name.clone(), reply.server.id.clone(), c.cid));
                }
            }
        }
    }
    Ok(out)
}

/// User keys of live connections named `user` in `account`.
async fn keys_by_name(sys: &SysClient, account: &str, user: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for reply in sys.connz_all().await? {
        if let Ok(page) = &reply.result {
            for c in &page.connections {
                if c.account != account || c.jwt.is_empty() {
                    continue;
                }
                if let Ok(u) = jwt::decode_as::<jwt::User>(&c.jwt)
                    && u.std.name == user
                    && !out.contains(&u.std.subject)
                {
                    out.push(u.std.subject);
                }
            }
        }
    }
    Ok(out)
}

async fn revoke(
    ctx: &ActionContext,
    r: &mut Recorder<'_>,
    target: &RevokeTarget,
    account: &str,
    creds: Option<&std::path::Path>,
) -> Result<()> {
    let (acc_id, mut acc) = step!(r, "account", resolve_account(&ctx.sys, account).await);
    r.ok("account", format!("{} ({})", acc.std.name, acc_id));
    // Which user keys.
    let mut keys: Vec<String> = Vec::new();
    let mut rec = None;
    match target {
        RevokeTarget::UserKey(k) => keys.push(k.clone()),
        RevokeTarget::Identity(name) => {
            if let Some(p) = creds
                && let Some(c) = step!(r, "creds file", read_creds_file(p))
            {
                if user_account(&c.claims) != acc_id {
                    return Err(r.fail("creds file", format!("{} is a user of another account", p.display())));
                }
                keys.push(c.claims.std.subject.clone());
            }
            if let Some(k) = &ctx.kube {
                rec = step!(r, "NatsIdentity", get_record(k, name).await);
                if let Some(rc) = &rec
                    && !rc.user_key().is_empty()
                    && !keys.iter().any(|k| k == rc.user_key())
                {
                    keys.push(rc.user_key().to_string());
                }
            }
            for k in step!(r, "live connections", keys_by_name(&ctx.sys, &acc_id, &ctx.naming.nats_user(name)).await) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    if keys.is_empty() {
        return Err(r.fail("users", format!("no user key known for {target}: pass the user public key")));
    }
    r.ok("users", keys.join(", "));
    let now = jwt::unix_now();
    let new: Vec<&String> = keys.iter().filter(|k| !acc.nats.revocations.contains_key(*k)).collect();
    if new.is_empty() {
        r.ok("revocations", format!("already revoked in {}", acc.std.name));
    } else {
        let signer = step!(
            r,
            "operator signing key",
            load_key(ctx, ctx.signing.operator.as_ref(), KeyKind::Operator, "operator signing key").await
        );
        if !acc.std.issuer.is_empty() && acc.std.issuer != signer.public_key() {
            // Another operator signing key signed the current JWT: fine if the
            // operator lists both; the servers are the judge, so say it.
            tracing::info!(issuer = %acc.std.issuer, signer = %signer.public_key(), "re-signing with a different operator key");
        }
        for k in &new {
            acc.nats.revoke(k, now);
        }
        let token = step!(r, "re-sign account", jwt::encode_reissue(&mut acc, &signer, now));
        drop(signer);
        r.ok(
            "revocations",
            format!("added {} to {}", new.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "), acc.std.name),
        );
        let replies = step!(
            r,
            "push",
            crate::nats::claims_update::push_account_jwt(
                ctx.sys.client(),
                &token,
                Duration::from_millis(300),
                Duration::from_secs(5)
            )
            .await
        );
        for rep in replies {
            let server = if rep.server.name.is_empty() { rep.server.id.clone() } else { rep.server.name.clone() };
            let step = format!("push to {server}");
            match (&rep.data, &rep.error) {
                (_, Some(e)) => r.push(Step::err(step, format!("{} ({})", e.description, e.code))),
                (Some(d), None) if d.code == 200 => r.ok(&step, d.message.clone()),
                (Some(d), None) => r.push(Step::err(step, format!("{} ({})", d.message, d.code))),
                (None, None) => r.push(Step::err(step, "empty reply")),
            }
        }
    }
    // Confirm the connections are gone; kick what remains.
    let deadline = tokio::time::Instant::now() + ctx.settle;
    let mut left = Vec::new();
    loop {
        match live_conns(&ctx.sys, &keys).await {
            Ok(l) => left = l,
            Err(e) => {
                r.push(Step::err("connections", format!("{e:#}")));
                break;
            }
        }
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if left.is_empty() {
        r.ok("connections", "none left");
    }
    for (server, id, cid) in left {
        let step = format!("kick cid {cid} on {server}");
        match kick(&ctx.sys, &id, cid).await {
            Ok(()) => r.ok(&step, "kicked"),
            Err(e) => r.push(Step::err(step, format!("{e:#}"))),
        }
    }
    if let (Some(k), Some(rc)) = (&ctx.kube, &rec) {
        if rc.phase() == "Revoked" {
            r.ok("NatsIdentity status", "already Revoked");
        } else {
            let mut status = rc.status.clone();
            status.phase = "Revoked".into();
            status.revoked_by = ctx.actor.clone();
            status.revoked_at = now_rfc3339();
            match write_status(k, &rc.namespace, &rc.name, &status).await {
                Ok(()) => r.ok("NatsIdentity status", "Revoked"),
                Err(e) => r.push(Step::err("NatsIdentity status", format!("{e:#}"))),
            }
        }
    }
    if let RevokeTarget::Identity(name) = target {
        match &ctx.kube {
            Some(k) => match super::spiffe_actions::delete_cluster_spiffe_ids(k, name).await {
                Ok(d) => r.ok("SPIRE registration", d),
                Err(e) => r.push(Step::err("SPIRE registration", format!("{e:#}"))),
            },
            None => r.ok("SPIRE registration", "not checked: no Kubernetes configured"),
        }
    }
    Ok(())
}

/// `$SYS.REQ.SERVER.<id>.KICK {"cid":N}` (nats-server 2.10+).
pub async fn kick(sys: &SysClient, server_id: &str, cid: u64) -> Result<()> {
    let msg = tokio::time::timeout(
        Duration::from_secs(3),
        sys.client().request(format!("$SYS.REQ.SERVER.{server_id}.KICK"), json!({ "cid": cid }).to_string().into()),
    )
    .await
    .map_err(|_| anyhow!("no reply from {server_id}"))??;
    let reply = decode_api::<serde_json::Value>(&msg.payload);
    match reply.result {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("without data") => Ok(()),
        Err(e) => Err(e),
    }
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
