//! SPIFFE-mode identity actions: register, approve, deny, grant, ungrant,
//! revoke. The parts of an identity in this mode:
//!
//! - its entry in the authorization ConfigMap (`[kubernetes] authz_configmap`,
//!   key `authz_key`), changed by read-modify-write with the ConfigMap's
//!   `resourceVersion` as precondition (409: re-read, re-apply, bounded);
//! - its ClusterSPIFFEID (`spire.spiffe.io/v1alpha1`), selecting the
//!   workload's pods by `[kubernetes] workload_label` in its namespace;
//! - its `NatsIdentity` record (spec: mode, namespace/workload, scope and
//!   requested grants; status: phase, approved/revoked by and at);
//! - the NATS servers' view: every server (`$SYS.REQ.SERVER.PING`) is asked
//!   to reload (`$SYS.REQ.SERVER.<id>.RELOAD`), each reply reported. The
//!   servers read the include file, which the kubelet (or the sandbox's
//!   config sync) updates from the ConfigMap; when `[identity] authz_file`
//!   names that file, the action waits until it matches before the reload.
//!
//! Revoke also kicks (`$SYS.REQ.SERVER.<id>.KICK`) any connection of the
//! SPIFFE ID still open after the reload. Same [`ActionReport`] and
//! [`Step`]s as JWT mode; every action is idempotent.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::jwt_actions::{ActionReport, KubeCtx, Step};
use super::naming::{IdentityName, Naming};
use super::record::{GrantEntry, IdentityRecord, IdentitySpec, IdentityStatus, status_patch};
use super::spiffe_authz::{AuthzDocument, AuthzError, Direction, DocumentShape};
use crate::config::file::KubeSection;
use crate::kube::resources::{cluster_spiffe_id, nats_identity};
use crate::nats::sys::SysClient;

/// How many times a ConfigMap write is retried after a 409 Conflict.
pub const MAX_ATTEMPTS: u32 = 5;

/// A SPIFFE-mode action request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Creates every part at once (Active).
    Register {
        name: IdentityName,
    },
    /// Activates a Pending `NatsIdentity` (scope + requested grants).
    Approve {
        name: IdentityName,
    },
    Deny {
        name: IdentityName,
        reason: String,
    },
    Grant {
        name: IdentityName,
        direction: Direction,
        subject: String,
    },
    Ungrant {
        name: IdentityName,
        direction: Direction,
        subject: String,
    },
    /// Removes the authorization entry and the SPIRE registration; live
    /// connections are closed.
    Revoke {
        name: IdentityName,
    },
}

impl Request {
    pub fn verb(&self) -> &'static str {
        match self {
            Request::Register { .. } => "register",
            Request::Approve { .. } => "approve",
            Request::Deny { .. } => "deny",
            Request::Grant { .. } => "grant",
            Request::Ungrant { .. } => "ungrant",
            Request::Revoke { .. } => "revoke",
        }
    }
    pub fn name(&self) -> &IdentityName {
        match self {
            Request::Register { name }
            | Request::Approve { name }
            | Request::Deny { name, .. }
            | Request::Grant { name, .. }
            | Request::Ungrant { name, .. }
            | Request::Revoke { name } => name,
        }
    }
    pub fn target(&self) -> String {
        match self {
            Request::Grant { name, direction, subject } | Request::Ungrant { name, direction, subject } => {
                format!("{name} {direction} {subject}")
            }
            r => r.name().to_string(),
        }
    }
    /// Revoke, deny and ungrant take access away: they ask first.
    pub fn is_destructive(&self) -> bool {
        matches!(self, Request::Revoke { .. } | Request::Deny { .. } | Request::Ungrant { .. })
    }
}

/// What a SPIFFE-mode action runs with.
#[derive(Clone)]
pub struct SpiffeContext {
    pub sys: SysClient,
    pub kube: KubeCtx,
    pub naming: Naming,
    /// `$USER@host`, recorded in NatsIdentity status and the audit log.
    pub actor: String,
    /// How long to wait for the include file to follow the ConfigMap, and
    /// for revoked connections to close before kicking them.
    pub settle: Duration,
    /// The include file as the servers read it, when visible from here.
    pub authz_file: Option<PathBuf>,
}

// ---------------------------------------------------------------------------
// The authorization ConfigMap: read-modify-write with conflict retry.

/// The ConfigMap's key as read: its text and the object's resourceVersion
/// (`None`: no ConfigMap at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub text: Option<String>,
    pub version: Option<String>,
}

/// How a conditional write went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written; the new resourceVersion.
    Done(String),
    /// Someone else changed (or created) it first: 409.
    Conflict,
}

/// Where the authorization document is stored (the ConfigMap; a fake in tests).
pub trait AuthzStore: Send + Sync {
    fn read(&self) -> impl Future<Output = Result<Versioned>> + Send;
    /// Writes `text` if the object is still at `version` (`None`: create it).
    fn write(&self, text: &str, version: Option<&str>) -> impl Future<Output = Result<Written>> + Send;
    /// How to name it in reports.
    fn describe(&self) -> String;
}

/// The outcome of [`modify_authz`].
#[derive(Debug, Clone)]
pub struct Modified {
    /// The document changed and was written.
    pub changed: bool,
    /// Reads it took (1 without conflicts).
    pub attempts: u32,
    /// The document as stored now.
    pub doc: AuthzDocument,
    /// Its text as stored now (what the include file must become).
    pub text: String,
    pub version: Option<String>,
}

/// Reads the document, applies `f` (which says whether it changed
/// anything), and writes it back conditionally on the version read; on a
/// conflict it starts over from a fresh read, at most `max_attempts` times.
/// `f` must be a pure function of the document (it may run more than once).
pub async fn modify_authz<S: AuthzStore>(
    store: &S,
    max_attempts: u32,
    mut f: impl FnMut(&mut AuthzDocument) -> Result<bool, AuthzError> + Send,
) -> Result<Modified> {
    for attempt in 1..=max_attempts.max(1) {
        let cur = store.read().await?;
        let mut doc = match &cur.text {
            Some(t) => AuthzDocument::parse(t)
                .with_context(|| format!("{} is not an authorization document", store.describe()))?,
            None => AuthzDocument::new(DocumentShape::default()),
        };
        if !f(&mut doc)? {
            let text = cur.text.clone().unwrap_or_else(|| doc.render());
            return Ok(Modified { changed: false, attempts: attempt, doc, text, version: cur.version });
        }
        let text = doc.render();
        match store.write(&text, cur.version.as_deref()).await? {
            Written::Done(v) => {
                return Ok(Modified { changed: true, attempts: attempt, doc, text, version: Some(v) });
            }
            Written::Conflict => {
                tracing::info!(attempt, store = %store.describe(), "authorization ConfigMap changed under us; retrying");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
        }
    }
    bail!(
        "{}: still conflicting after {} attempts (someone else keeps changing it); nothing written",
        store.describe(),
        max_attempts.max(1)
    )
}

/// `namespace/name` -> (namespace, name).
pub fn configmap_ref(s: &str) -> Result<(String, String)> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => Ok((ns.into(), name.into())),
        _ => bail!("[kubernetes] authz_configmap {s:?} is not NAMESPACE/NAME"),
    }
}

/// The authorization ConfigMap through the Kubernetes API.
pub struct KubeAuthzStore {
    api: Api<ConfigMap>,
    namespace: String,
    name: String,
    key: String,
}

impl KubeAuthzStore {
    pub fn new(client: kube::Client, section: &KubeSection) -> Result<KubeAuthzStore> {
        let (namespace, name) = configmap_ref(&section.authz_configmap)?;
        if section.authz_key.is_empty() {
            bail!("[kubernetes] authz_key is empty");
        }
        Ok(KubeAuthzStore { api: Api::namespaced(client, &namespace), namespace, name, key: section.authz_key.clone() })
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl AuthzStore for KubeAuthzStore {
    async fn read(&self) -> Result<Versioned> {
        let cm = self.api.get_opt(&self.name).await.with_context(|| format!("reading {}", self.describe()))?;
        Ok(match cm {
            None => Versioned { text: None, version: None },
            Some(cm) => Versioned {
                text: cm.data.as_ref().and_then(|d| d.get(&self.key)).cloned(),
                version: Some(cm.metadata.resource_version.unwrap_or_default()),
            },
        })
    }

    async fn write(&self, text: &str, version: Option<&str>) -> Result<Written> {
        let result = match version {
            // A merge patch carrying metadata.resourceVersion is conditional
            // on it (409 when it moved); other keys of the ConfigMap stay.
            Some(rv) => {
                let body = json!({ "metadata": { "resourceVersion": rv }, "data": { &self.key: text } });
                self.api.patch(&self.name, &PatchParams::default(), &Patch::Merge(&body)).await
            }
            None => {
                let mut cm = ConfigMap::default();
                cm.metadata.name = Some(self.name.clone());
                cm.metadata.namespace = Some(self.namespace.clone());
                cm.metadata.labels = Some([("app.kubernetes.io/managed-by".to_string(), "warden".to_string())].into());
                cm.data = Some([(self.key.clone(), text.to_string())].into());
                self.api.create(&PostParams::default(), &cm).await
            }
        };
        match result {
            Ok(cm) => Ok(Written::Done(cm.metadata.resource_version.unwrap_or_default())),
            Err(e) if is_conflict(&e) => Ok(Written::Conflict),
            Err(e) => Err(e).with_context(|| format!("writing {}", self.describe())),
        }
    }

    fn describe(&self) -> String {
        format!("ConfigMap {}/{} key {}", self.namespace, self.name, self.key)
    }
}

// ---------------------------------------------------------------------------
// ClusterSPIFFEID and NatsIdentity.

/// The ClusterSPIFFEID warden keeps for a workload: `<ns>.<wf>` (both are
/// DNS labels, so the name is unambiguous and a valid DNS subdomain).
pub fn cluster_spiffe_id_name(name: &IdentityName) -> String {
    format!("{}.{}", name.namespace, name.workload)
}

/// The ClusterSPIFFEID spec for a workload.
pub fn cluster_spiffe_id_spec(naming: &Naming, section: &KubeSection, name: &IdentityName) -> Value {
    json!({
        "spiffeIDTemplate": naming.spire_id_template(&section.workload_label),
        "podSelector": { "matchLabels": { &section.workload_label: &name.workload } },
        "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": &name.namespace } },
    })
}

fn cluster_spiffe_id_object(naming: &Naming, section: &KubeSection, name: &IdentityName) -> DynamicObject {
    let mut o = DynamicObject::new(&cluster_spiffe_id_name(name), &cluster_spiffe_id());
    o.metadata.labels = Some(
        [
            ("app.kubernetes.io/managed-by".to_string(), "warden".to_string()),
            ("warden.dev/namespace".to_string(), name.namespace.clone()),
            ("warden.dev/workload".to_string(), name.workload.clone()),
        ]
        .into(),
    );
    o.data = json!({ "spec": cluster_spiffe_id_spec(naming, section, name) });
    o
}

fn cspiffeid_api(k: &KubeCtx) -> Api<DynamicObject> {
    Api::all_with(k.client.clone(), &cluster_spiffe_id())
}

/// Creates or updates the workload's ClusterSPIFFEID; says which.
async fn ensure_cluster_spiffe_id(ctx: &SpiffeContext, name: &IdentityName) -> Result<String> {
    let api = cspiffeid_api(&ctx.kube);
    let want = cluster_spiffe_id_object(&ctx.naming, &ctx.kube.section, name);
    let oname = cluster_spiffe_id_name(name);
    let existing = api.get_opt(&oname).await.with_context(|| format!("reading ClusterSPIFFEID {oname}"))?;
    if let Some(o) = &existing
        && o.data.get("spec") == want.data.get("spec")
    {
        return Ok(format!("{oname} already present"));
    }
    api.patch(&oname, &PatchParams::apply("warden").force(), &Patch::Apply(&want))
        .await
        .with_context(|| format!("writing ClusterSPIFFEID {oname}"))?;
    let template = want.data["spec"]["spiffeIDTemplate"].as_str().unwrap_or_default().to_string();
    Ok(format!("{oname} {} ({template})", if existing.is_some() { "updated" } else { "created" }))
}

/// Whether a ClusterSPIFFEID spec selects exactly this workload: its pod
/// selector's `matchLabels[workload_label]` is the workload and its namespace
/// selector names the namespace (`kubernetes.io/metadata.name`).
pub fn selects_workload(spec: &Value, workload_label: &str, name: &IdentityName) -> bool {
    spec["podSelector"]["matchLabels"][workload_label].as_str() == Some(name.workload.as_str())
        && spec["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
            == Some(name.namespace.as_str())
}

/// The names of the workload's ClusterSPIFFEIDs: the one named
/// [`cluster_spiffe_id_name`] (`{ns}.{wf}`) when present, else any whose
/// selectors pick exactly this workload ([`selects_workload`]), so objects
/// named by older conventions (`{ns}-{wf}`) are found too.
pub async fn find_cluster_spiffe_ids(kube: &KubeCtx, name: &IdentityName) -> Result<Vec<String>> {
    let api: Api<DynamicObject> = Api::all_with(kube.client.clone(), &cluster_spiffe_id());
    let oname = cluster_spiffe_id_name(name);
    if api.get_opt(&oname).await.with_context(|| format!("reading ClusterSPIFFEID {oname}"))?.is_some() {
        return Ok(vec![oname]);
    }
    let list = api.list(&Default::default()).await.context("listing ClusterSPIFFEIDs")?;
    let mut names: Vec<String> = list
        .items
        .iter()
        .filter(|o| o.data.get("spec").is_some_and(|sp| selects_workload(sp, &kube.section.workload_label, name)))
        .filter_map(|o| o.metadata.name.clone())
        .collect();
    names.sort();
    Ok(names)
}

/// Deletes the workload's ClusterSPIFFEIDs (see [`find_cluster_spiffe_ids`]);
/// none left is "already gone". Both modes' revoke use it.
pub async fn delete_cluster_spiffe_ids(kube: &KubeCtx, name: &IdentityName) -> Result<String> {
    let api: Api<DynamicObject> = Api::all_with(kube.client.clone(), &cluster_spiffe_id());
    let found = find_cluster_spiffe_ids(kube, name).await?;
    if found.is_empty() {
        return Ok(format!("ClusterSPIFFEID {} already gone", cluster_spiffe_id_name(name)));
    }
    let mut done = Vec::new();
    for oname in found {
        match api.delete(&oname, &Default::default()).await {
            Ok(_) => done.push(format!("ClusterSPIFFEID {oname} deleted")),
            Err(e) if is_not_found(&e) => done.push(format!("ClusterSPIFFEID {oname} already gone")),
            Err(e) => return Err(e).with_context(|| format!("deleting ClusterSPIFFEID {oname}")),
        }
    }
    Ok(done.join("; "))
}

fn record_api(k: &KubeCtx, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(k.client.clone(), ns, &nats_identity())
}

async fn get_record(ctx: &SpiffeContext, name: &IdentityName) -> Result<Option<IdentityRecord>> {
    let o = record_api(&ctx.kube, &name.namespace)
        .get_opt(&name.workload)
        .await
        .with_context(|| format!("reading NatsIdentity {name}"))?;
    Ok(o.as_ref().map(IdentityRecord::from_object))
}

/// Writes status through the status subresource, or the object when the
/// CRD has none.
async fn write_status(ctx: &SpiffeContext, name: &IdentityName, status: &IdentityStatus) -> Result<()> {
    let api = record_api(&ctx.kube, &name.namespace);
    let body = status_patch(status);
    match api.patch_status(&name.workload, &PatchParams::default(), &Patch::Merge(&body)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => {
            api.patch(&name.workload, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .with_context(|| format!("writing NatsIdentity {name} status"))?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("writing NatsIdentity {name} status")),
    }
}

fn grant_specs(doc: &AuthzDocument, user: &str) -> Vec<GrantEntry> {
    doc.get(user)
        .map(|e| {
            e.grants
                .iter()
                .map(|g| GrantEntry { direction: g.direction.to_string(), subject: g.subject.clone() })
                .collect()
        })
        .unwrap_or_default()
}

fn spec_for(ctx: &SpiffeContext, name: &IdentityName, grants: Vec<GrantEntry>) -> IdentitySpec {
    let scope = ctx.naming.scope(name);
    IdentitySpec {
        workload: name.workload.clone(),
        user: ctx.naming.nats_user(name),
        publish: scope.publish_allow,
        subscribe: scope.subscribe_allow,
        mode: "spiffe".into(),
        namespace: name.namespace.clone(),
        spiffe_id: ctx.naming.spiffe_id(name),
        grants,
        ..Default::default()
    }
}

/// Writes the record's spec (server-side apply, creating it if needed).
async fn apply_spec(ctx: &SpiffeContext, name: &IdentityName, spec: &IdentitySpec) -> Result<()> {
    let rec = IdentityRecord {
        namespace: name.namespace.clone(),
        name: name.workload.clone(),
        spec: spec.clone(),
        status: Default::default(),
    };
    record_api(&ctx.kube, &name.namespace)
        .patch(&name.workload, &PatchParams::apply("warden").force(), &Patch::Apply(rec.to_object()))
        .await
        .with_context(|| format!("writing NatsIdentity {name}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The NATS servers: reload, connections, kick.

/// A server that answered `$SYS.REQ.SERVER.PING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    pub id: String,
    pub name: String,
}

impl ServerRef {
    pub fn label(&self) -> &str {
        if self.name.is_empty() { &self.id } else { &self.name }
    }
}

/// Every server of the deployment.
pub async fn servers(sys: &SysClient) -> Result<Vec<ServerRef>> {
    let mut out: Vec<ServerRef> = Vec::new();
    for m in sys.scatter("$SYS.REQ.SERVER.PING", json!({})).await? {
        let Ok(v) = serde_json::from_slice::<Value>(&m.payload) else { continue };
        let id = v["server"]["id"].as_str().unwrap_or_default().to_string();
        if !id.is_empty() && !out.iter().any(|s| s.id == id) {
            out.push(ServerRef { id, name: v["server"]["name"].as_str().unwrap_or_default().to_string() });
        }
    }
    Ok(out)
}

/// `$SYS.REQ.SERVER.<id>.RELOAD`: `Ok` when the server reloaded, `Err`
/// with its reason (e.g. the include file does not parse: it keeps the old
/// configuration).
pub async fn reload(sys: &SysClient, server_id: &str) -> Result<(), String> {
    let msg = tokio::time::timeout(
        Duration::from_secs(5),
        sys.client().request(format!("$SYS.REQ.SERVER.{server_id}.RELOAD"), "".into()),
    )
    .await
    .map_err(|_| "no reply within 5s".to_string())?
    .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&msg.payload).map_err(|e| format!("undecodable reply: {e}"))?;
    match v.get("error") {
        Some(e) => Err(format!(
            "{} ({})",
            e["description"].as_str().unwrap_or("error"),
            e["code"].as_i64().unwrap_or_default()
        )),
        None => Ok(()),
    }
}

/// Live connections authenticated as `user` (CONNZ `authorized_user`):
/// (server name, server id, cid).
pub async fn live_conns(sys: &SysClient, user: &str) -> Result<Vec<(String, String, u64)>> {
    let mut out = Vec::new();
    for reply in sys.connz_all().await? {
        if let Ok(page) = &reply.result {
            for c in page.connections.iter().filter(|c| c.authorized_user == user) {
                let label = if reply.server.name.is_empty() { &reply.server.id } else { &reply.server.name };
                out.push((label.clone(), reply.server.id.clone(), c.cid));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Running an action.

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
    fn err(&mut self, step: &str, e: impl std::fmt::Display) {
        self.push(Step::err(step, e.to_string()));
    }
}

/// Stops the action after a failed step (recorded).
macro_rules! step {
    ($r:expr, $name:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                $r.push(Step::err($name, format!("{e:#}")));
                return;
            }
        }
    };
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs `req`; `progress` sees each step as it completes.
pub async fn run(ctx: &SpiffeContext, req: &Request, mut progress: impl FnMut(&Step) + Send) -> ActionReport {
    let mut r = Recorder { report: ActionReport::new(req.verb(), &req.target()), progress: &mut progress };
    let store = match KubeAuthzStore::new(ctx.kube.client.clone(), &ctx.kube.section) {
        Ok(s) => s,
        Err(e) => {
            r.err("authz ConfigMap", format!("{e:#}"));
            return r.report;
        }
    };
    run_with(ctx, &store, req, &mut r).await;
    r.report
}

async fn run_with<S: AuthzStore>(ctx: &SpiffeContext, store: &S, req: &Request, r: &mut Recorder<'_>) {
    match req {
        Request::Register { name } => register(ctx, store, r, name).await,
        Request::Approve { name } => approve(ctx, store, r, name).await,
        Request::Deny { name, reason } => deny(ctx, r, name, reason).await,
        Request::Grant { name, direction, subject } => grant(ctx, store, r, name, *direction, subject, true).await,
        Request::Ungrant { name, direction, subject } => grant(ctx, store, r, name, *direction, subject, false).await,
        Request::Revoke { name } => revoke(ctx, store, r, name).await,
    }
}

fn describe_write(m: &Modified, what: &str) -> String {
    let retries =
        if m.attempts > 1 { format!(", after {} conflicting write(s)", m.attempts - 1) } else { String::new() };
    format!("{what} (resourceVersion {}{retries})", m.version.as_deref().unwrap_or("-"))
}

/// Waits until the include file holds `text` (when it is visible), then
/// asks every server to reload and reports each reply.
async fn apply_to_servers(ctx: &SpiffeContext, r: &mut Recorder<'_>, text: &str) {
    match &ctx.authz_file {
        Some(path) => {
            let want = AuthzDocument::parse(text).ok();
            let deadline = tokio::time::Instant::now() + ctx.settle.max(Duration::from_secs(1));
            loop {
                let now = std::fs::read_to_string(path).ok();
                let same = match (&now, &want) {
                    (Some(t), _) if t == text => true,
                    (Some(t), Some(w)) => AuthzDocument::parse(t).ok().as_ref() == Some(w),
                    _ => false,
                };
                if same {
                    r.ok("config sync", format!("{} matches the ConfigMap", path.display()));
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    r.err(
                        "config sync",
                        format!(
                            "{} still differs from the ConfigMap after {:?}: the reload below may apply the old document",
                            path.display(),
                            ctx.settle
                        ),
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        None => r.ok(
            "config sync",
            "not observed: the kubelet refreshes the mounted ConfigMap (up to about a minute); servers asked to reload now",
        ),
    }
    let list = step!(r, "servers", servers(&ctx.sys).await);
    if list.is_empty() {
        r.err("servers", "no server answered $SYS.REQ.SERVER.PING (system account credentials?)");
        return;
    }
    for s in list {
        let step = format!("reload {}", s.label());
        match reload(&ctx.sys, &s.id).await {
            Ok(()) => r.ok(&step, "reloaded"),
            Err(e) => r.err(&step, e),
        }
    }
}

async fn register<S: AuthzStore>(ctx: &SpiffeContext, store: &S, r: &mut Recorder<'_>, name: &IdentityName) {
    let id = ctx.naming.spiffe_id(name);
    let scope = ctx.naming.scope(name);
    let m = step!(r, "authz ConfigMap", modify_authz(store, MAX_ATTEMPTS, |d| d.upsert_scope(&id, &scope)).await);
    if m.changed {
        r.ok("authz ConfigMap", describe_write(&m, &format!("entry {id} written to {}", store.describe())));
    } else {
        r.ok("authz ConfigMap", format!("entry {id} already present"));
    }
    activate(ctx, r, name, &m, None).await;
}

/// The parts after the ConfigMap: ClusterSPIFFEID, NatsIdentity (Active),
/// reload.
async fn activate(
    ctx: &SpiffeContext,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    m: &Modified,
    existing: Option<&IdentityRecord>,
) {
    match ensure_cluster_spiffe_id(ctx, name).await {
        Ok(d) => r.ok("SPIRE registration", d),
        Err(e) => r.err("SPIRE registration", format!("{e:#}")),
    }
    let id = ctx.naming.spiffe_id(name);
    let rec = match existing {
        Some(rec) => Ok(Some(rec.clone())),
        None => get_record(ctx, name).await,
    };
    match rec {
        Err(e) => r.err("NatsIdentity", format!("{e:#}")),
        Ok(rec) => {
            let spec = spec_for(ctx, name, grant_specs(&m.doc, &id));
            let spec_same = rec.as_ref().is_some_and(|rc| rc.spec == spec);
            let active = rec.as_ref().is_some_and(|rc| rc.phase() == "Active");
            let spec_result = if spec_same { Ok(()) } else { apply_spec(ctx, name, &spec).await };
            match spec_result {
                Err(e) => r.err("NatsIdentity", format!("{e:#}")),
                Ok(()) if active => r.ok(
                    "NatsIdentity",
                    format!(
                        "{name} already Active (approved by {}){}",
                        rec.as_ref().map(|rc| rc.status.approved_by.as_str()).unwrap_or_default(),
                        if spec_same { "" } else { ", spec updated" }
                    ),
                ),
                Ok(()) => {
                    let status = IdentityStatus {
                        phase: "Active".into(),
                        approved_by: ctx.actor.clone(),
                        approved_at: now_rfc3339(),
                        ..Default::default()
                    };
                    match write_status(ctx, name, &status).await {
                        Ok(()) => r.ok("NatsIdentity", format!("{name} Active, approved by {}", ctx.actor)),
                        Err(e) => r.err("NatsIdentity", format!("{e:#}")),
                    }
                }
            }
        }
    }
    apply_to_servers(ctx, r, &m.text).await;
}

async fn approve<S: AuthzStore>(ctx: &SpiffeContext, store: &S, r: &mut Recorder<'_>, name: &IdentityName) {
    let Some(rec) = step!(r, "NatsIdentity", get_record(ctx, name).await) else {
        r.err("NatsIdentity", format!("no NatsIdentity {name}: nothing to approve (register creates one)"));
        return;
    };
    match rec.phase() {
        "Active" => {
            r.ok("approve", format!("already approved by {} at {}", rec.status.approved_by, rec.status.approved_at));
            return;
        }
        "Pending" => {}
        other => {
            r.err("approve", format!("{name} is {other}; only a Pending identity can be approved (register it anew)"));
            return;
        }
    }
    // The requested grants must be valid before anything is written.
    let mut grants = Vec::new();
    for g in &rec.spec.grants {
        let d = step!(r, "requested grants", parse_direction(&g.direction));
        if !super::spiffe_authz::valid_subject(&g.subject) {
            r.err("requested grants", format!("invalid subject {:?}", g.subject));
            return;
        }
        grants.push((d, g.subject.clone()));
    }
    let id = ctx.naming.spiffe_id(name);
    let scope = ctx.naming.scope(name);
    let m = step!(
        r,
        "authz ConfigMap",
        modify_authz(store, MAX_ATTEMPTS, |d| {
            let mut changed = d.upsert_scope(&id, &scope)?;
            for (dir, subj) in &grants {
                changed |= d.grant(&id, *dir, subj)?;
            }
            Ok(changed)
        })
        .await
    );
    if m.changed {
        r.ok("authz ConfigMap", describe_write(&m, &format!("entry {id} with {} grant(s) written", grants.len())));
    } else {
        r.ok("authz ConfigMap", format!("entry {id} already present"));
    }
    activate(ctx, r, name, &m, Some(&rec)).await;
}

async fn deny(ctx: &SpiffeContext, r: &mut Recorder<'_>, name: &IdentityName, reason: &str) {
    let Some(rec) = step!(r, "NatsIdentity", get_record(ctx, name).await) else {
        r.err("NatsIdentity", format!("no NatsIdentity {name}"));
        return;
    };
    match rec.phase() {
        "Denied" => {
            r.ok("deny", format!("already denied by {} at {}", rec.status.denied_by, rec.status.denied_at));
            return;
        }
        "Pending" => {}
        other => {
            r.err("deny", format!("{name} is {other}; only a Pending identity can be denied (revoke an Active one)"));
            return;
        }
    }
    let status = IdentityStatus {
        phase: "Denied".into(),
        denied_by: ctx.actor.clone(),
        denied_at: now_rfc3339(),
        message: reason.to_string(),
        ..Default::default()
    };
    match write_status(ctx, name, &status).await {
        Ok(()) => r.ok("NatsIdentity", "Denied"),
        Err(e) => r.err("NatsIdentity", format!("{e:#}")),
    }
}

/// `publish`/`pub` or `subscribe`/`sub`.
pub fn parse_direction(s: &str) -> Result<Direction> {
    match s.to_ascii_lowercase().as_str() {
        "publish" | "pub" => Ok(Direction::Publish),
        "subscribe" | "sub" => Ok(Direction::Subscribe),
        _ => Err(anyhow!("{s:?} is not publish or subscribe")),
    }
}

async fn grant<S: AuthzStore>(
    ctx: &SpiffeContext,
    store: &S,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    direction: Direction,
    subject: &str,
    add: bool,
) {
    let id = ctx.naming.spiffe_id(name);
    let verb = if add { "grant" } else { "ungrant" };
    let m = step!(
        r,
        "authz ConfigMap",
        modify_authz(store, MAX_ATTEMPTS, |d| {
            if add { d.grant(&id, direction, subject) } else { d.ungrant(&id, direction, subject) }
        })
        .await
        .map_err(|e| match e.downcast_ref::<AuthzError>() {
            Some(AuthzError::UnknownUser(_)) => anyhow!("{name} is not registered: no entry for {id} in the ConfigMap"),
            _ => e,
        })
    );
    match (m.changed, add) {
        (true, _) => r.ok("authz ConfigMap", describe_write(&m, &format!("{verb} {direction} {subject} for {id}"))),
        (false, true) => r.ok("authz ConfigMap", format!("{id} may already {direction} {subject}")),
        (false, false) => r.ok("authz ConfigMap", format!("{id} has no grant {direction} {subject}")),
    }
    // Keep the record's requested grants in step with the entry.
    match get_record(ctx, name).await {
        Ok(Some(rec)) => {
            let grants = grant_specs(&m.doc, &id);
            if rec.spec.grants == grants {
                r.ok("NatsIdentity", "grants already recorded");
            } else {
                let body = json!({ "spec": { "grants": grants } });
                match record_api(&ctx.kube, &name.namespace)
                    .patch(&name.workload, &PatchParams::default(), &Patch::Merge(&body))
                    .await
                {
                    Ok(_) => r.ok("NatsIdentity", format!("{} grant(s) recorded", grants.len())),
                    Err(e) => r.err("NatsIdentity", format!("writing NatsIdentity {name}: {e}")),
                }
            }
        }
        Ok(None) => r.ok("NatsIdentity", format!("no NatsIdentity {name}: nothing recorded")),
        Err(e) => r.err("NatsIdentity", format!("{e:#}")),
    }
    apply_to_servers(ctx, r, &m.text).await;
}

async fn revoke<S: AuthzStore>(ctx: &SpiffeContext, store: &S, r: &mut Recorder<'_>, name: &IdentityName) {
    let id = ctx.naming.spiffe_id(name);
    let m = step!(r, "authz ConfigMap", modify_authz(store, MAX_ATTEMPTS, |d| Ok(d.remove(&id))).await);
    if m.changed {
        r.ok("authz ConfigMap", describe_write(&m, &format!("entry {id} removed")));
    } else {
        r.ok("authz ConfigMap", format!("no entry for {id}: already removed"));
    }
    apply_to_servers(ctx, r, &m.text).await;
    // The reload closes the connections it no longer authorizes; confirm,
    // and kick what is left.
    let deadline = tokio::time::Instant::now() + ctx.settle;
    let mut left = Vec::new();
    let mut listed = true;
    loop {
        match live_conns(&ctx.sys, &id).await {
            Ok(l) => left = l,
            Err(e) => {
                r.err("connections", format!("{e:#}"));
                listed = false;
                break;
            }
        }
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if listed && left.is_empty() {
        r.ok("connections", "none left");
    }
    for (server, sid, cid) in left {
        let step = format!("kick cid {cid} on {server}");
        match super::jwt_actions::kick(&ctx.sys, &sid, cid).await {
            Ok(()) => r.ok(&step, "kicked"),
            Err(e) => r.err(&step, format!("{e:#}")),
        }
    }
    match delete_cluster_spiffe_ids(&ctx.kube, name).await {
        Ok(d) => r.ok("SPIRE registration", d),
        Err(e) => r.err("SPIRE registration", format!("{e:#}")),
    }
    match get_record(ctx, name).await {
        Ok(Some(rec)) if rec.phase() == "Revoked" => {
            r.ok("NatsIdentity", format!("already Revoked by {} at {}", rec.status.revoked_by, rec.status.revoked_at))
        }
        Ok(Some(rec)) => {
            let mut status = rec.status.clone();
            status.phase = "Revoked".into();
            status.revoked_by = ctx.actor.clone();
            status.revoked_at = now_rfc3339();
            match write_status(ctx, name, &status).await {
                Ok(()) => r.ok("NatsIdentity", format!("Revoked by {}", ctx.actor)),
                Err(e) => r.err("NatsIdentity", format!("{e:#}")),
            }
        }
        Ok(None) => r.ok("NatsIdentity", format!("no NatsIdentity {name}: nothing to record")),
        Err(e) => r.err("NatsIdentity", format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::identity::naming::Naming;

    /// An in-memory ConfigMap key with a resourceVersion; `interfere` times,
    /// a concurrent writer changes it between our read and our write.
    struct MemStore {
        state: Mutex<(Option<String>, u64)>,
        interfere: AtomicU32,
        writes: AtomicU32,
        reads: AtomicU32,
    }

    impl MemStore {
        fn new(text: Option<String>) -> MemStore {
            MemStore {
                state: Mutex::new((text, 1)),
                interfere: AtomicU32::new(0),
                writes: AtomicU32::new(0),
                reads: AtomicU32::new(0),
            }
        }
        fn text(&self) -> Option<String> {
            self.state.lock().unwrap().0.clone()
        }
    }

    fn other_user(n: u64) -> String {
        format!("spiffe://td.local/ns/other/wf/w{n}")
    }

    impl AuthzStore for MemStore {
        async fn read(&self) -> Result<Versioned> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let s = self.state.lock().unwrap();
            Ok(Versioned { text: s.0.clone(), version: s.0.as_ref().map(|_| s.1.to_string()) })
        }
        async fn write(&self, text: &str, version: Option<&str>) -> Result<Written> {
            let mut s = self.state.lock().unwrap();
            if self.interfere.load(Ordering::SeqCst) > 0 {
                self.interfere.fetch_sub(1, Ordering::SeqCst);
                // Someone else adds an entry first.
                let mut doc = s.0.as_deref().map(|t| AuthzDocument::parse(t).unwrap()).unwrap_or_default();
                let n = s.1;
                let naming = Naming::with_defaults("td.local").unwrap();
                let scope = naming.scope(&IdentityName::new("other", &format!("w{n}")).unwrap());
                doc.upsert_scope(&other_user(n), &scope).unwrap();
                s.0 = Some(doc.render());
                s.1 += 1;
            }
            let current = s.0.as_ref().map(|_| s.1.to_string());
            if current.as_deref() != version {
                return Ok(Written::Conflict);
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            s.0 = Some(text.to_string());
            s.1 += 1;
            Ok(Written::Done(s.1.to_string()))
        }
        fn describe(&self) -> String {
            "memory".into()
        }
    }

    fn naming() -> Naming {
        Naming::with_defaults("td.local").unwrap()
    }

    fn name(s: &str) -> IdentityName {
        IdentityName::parse(s).unwrap()
    }

    #[tokio::test]
    async fn creates_the_key_when_absent_and_is_idempotent() {
        let store = MemStore::new(None);
        let n = naming();
        let a = name("tent-dev/a");
        let (id, scope) = (n.spiffe_id(&a), n.scope(&a));
        let m = modify_authz(&store, 3, |d| d.upsert_scope(&id, &scope)).await.unwrap();
        assert!(m.changed);
        assert_eq!(m.attempts, 1);
        let doc = AuthzDocument::parse(&store.text().unwrap()).unwrap();
        assert_eq!(doc.get(&id).unwrap().publish_allow, vec!["tentacular.tent-dev.a.>"]);
        // Again: nothing written.
        let m2 = modify_authz(&store, 3, |d| d.upsert_scope(&id, &scope)).await.unwrap();
        assert!(!m2.changed);
        assert_eq!(store.writes.load(Ordering::SeqCst), 1);
        assert_eq!(m2.text, store.text().unwrap());
    }

    #[tokio::test]
    async fn conflict_rereads_and_keeps_the_other_writers_change() {
        let n = naming();
        let a = name("tent-dev/a");
        let id = n.spiffe_id(&a);
        let mut doc = AuthzDocument::new(DocumentShape::UsersArray);
        doc.upsert_scope(&id, &n.scope(&a)).unwrap();
        let store = MemStore::new(Some(doc.render()));
        store.interfere.store(2, Ordering::SeqCst);
        let m =
            modify_authz(&store, 5, |d| d.grant(&id, Direction::Publish, "tentacular.tent-dev.b.in")).await.unwrap();
        assert!(m.changed);
        assert_eq!(m.attempts, 3, "two conflicts, then success");
        assert_eq!(store.reads.load(Ordering::SeqCst), 3);
        let now = AuthzDocument::parse(&store.text().unwrap()).unwrap();
        // Ours and both concurrent changes are in.
        assert!(now.get(&id).unwrap().effective_allow(Direction::Publish).contains(&"tentacular.tent-dev.b.in".into()));
        assert!(now.get(&other_user(1)).is_some(), "{}", store.text().unwrap());
        assert!(now.get(&other_user(2)).is_some(), "{}", store.text().unwrap());
        assert_eq!(m.doc, now);
    }

    #[tokio::test]
    async fn gives_up_after_bounded_conflicts_without_writing() {
        let n = naming();
        let a = name("tent-dev/a");
        let id = n.spiffe_id(&a);
        let scope = n.scope(&a);
        let store = MemStore::new(Some(AuthzDocument::new(DocumentShape::UsersArray).render()));
        store.interfere.store(100, Ordering::SeqCst);
        let e = modify_authz(&store, 3, |d| d.upsert_scope(&id, &scope)).await.unwrap_err();
        assert!(e.to_string().contains("still conflicting after 3 attempts"), "{e}");
        assert_eq!(store.writes.load(Ordering::SeqCst), 0);
        assert_eq!(store.reads.load(Ordering::SeqCst), 3);
        assert!(AuthzDocument::parse(&store.text().unwrap()).unwrap().get(&id).is_none());
    }

    #[tokio::test]
    async fn create_race_is_a_conflict_then_an_update() {
        // The ConfigMap is absent when read, then someone creates it.
        let n = naming();
        let a = name("tent-dev/a");
        let (id, scope) = (n.spiffe_id(&a), n.scope(&a));
        let store = MemStore::new(None);
        store.interfere.store(1, Ordering::SeqCst);
        let m = modify_authz(&store, 3, |d| d.upsert_scope(&id, &scope)).await.unwrap();
        assert_eq!(m.attempts, 2);
        let now = AuthzDocument::parse(&store.text().unwrap()).unwrap();
        assert_eq!(now.len(), 2);
    }

    #[tokio::test]
    async fn errors_of_the_change_and_of_the_document_are_reported() {
        let store = MemStore::new(Some("users = [ { user: ".into()));
        let e = modify_authz(&store, 3, |_| Ok(true)).await.unwrap_err();
        assert!(format!("{e:#}").contains("memory is not an authorization document"), "{e:#}");
        let store = MemStore::new(None);
        let e =
            modify_authz(&store, 3, |d| d.grant("spiffe://td.local/x", Direction::Publish, "a.b")).await.unwrap_err();
        assert!(matches!(e.downcast_ref::<AuthzError>(), Some(AuthzError::UnknownUser(_))), "{e:#}");
        assert_eq!(store.writes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn requests_and_cluster_spiffe_id_spec() {
        let a = name("tent-dev/hn-digest");
        let g = Request::Grant { name: a.clone(), direction: Direction::Publish, subject: "x.y".into() };
        assert_eq!(g.verb(), "grant");
        assert_eq!(g.target(), "tent-dev/hn-digest publish x.y");
        assert!(!g.is_destructive());
        assert!(Request::Revoke { name: a.clone() }.is_destructive());
        assert!(
            Request::Ungrant { name: a.clone(), direction: Direction::Subscribe, subject: "x".into() }.is_destructive()
        );
        assert_eq!(parse_direction("sub").unwrap(), Direction::Subscribe);
        assert!(parse_direction("both").is_err());
        let spec = cluster_spiffe_id_spec(&naming(), &KubeSection::default(), &a);
        assert_eq!(spec["podSelector"]["matchLabels"]["tentacular.io/workflow"], "hn-digest");
        assert_eq!(spec["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "tent-dev");
        assert!(spec["spiffeIDTemplate"].as_str().unwrap().contains("{{ .PodMeta.Namespace }}"));
        assert_eq!(cluster_spiffe_id_name(&a), "tent-dev.hn-digest");
        assert_eq!(crate::identity::jwt_actions::cluster_spiffe_id_name(&a), "tent-dev.hn-digest");
        // Older objects are found by their selectors: same workload and namespace only.
        let label = &KubeSection::default().workload_label;
        assert!(selects_workload(&spec, label, &a));
        assert!(!selects_workload(&spec, label, &name("other/hn-digest")));
        assert!(!selects_workload(&spec, label, &name("tent-dev/other")));
        assert!(!selects_workload(&json!({"podSelector": spec["podSelector"].clone()}), label, &a));
        assert_eq!(configmap_ref("ns/cm").unwrap(), ("ns".into(), "cm".into()));
        assert!(configmap_ref("cm").is_err());
    }
}
