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

use prelude::*;

use crate::identity::action::kube::{delete_cluster_spiffe_ids, preflight};
use crate::identity::action::nats::kick;
use crate::identity::action::report::{ActionReport, Recorder, Step};
use crate::identity::action::request::ActionRequest;

mod access;
mod authz_store;
mod context;
mod kube_objects;
mod prelude;
mod request;
mod servers;

pub use access::kube_needs;
pub use context::SpiffeContext;
pub use request::Request;

pub use authz_store::*;
pub use kube_objects::*;
pub use servers::*;

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

/// Runs `req`; `progress` sees each step as it completes.
pub async fn run(ctx: &SpiffeContext, req: &Request, mut progress: impl FnMut(&Step) + Send) -> ActionReport {
    let mut r = Recorder { report: ActionReport::new(req.verb(), &req.target()), progress: &mut progress };
    if let Err(why) = preflight(&ctx.kube, &kube_needs(&ctx.kube.section, req)).await {
        r.err("Kubernetes permissions", why);
        return r.report;
    }
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
        Request::Approve { name, allow_broad } => approve(ctx, store, r, name, *allow_broad).await,
        Request::Deny { name, reason } => deny(ctx, r, name, reason).await,
        Request::Grant { name, direction, subject, allow_broad } => {
            let reach = ctx.naming.reach(name, *direction, &[]);
            match crate::nats::subject::over_broad_reason(subject, &reach) {
                Some(why) if !allow_broad => r.err(
                    "subject",
                    format!("{subject} is over-broad: it {why}; pass --allow-broad to grant it anyway"),
                ),
                _ => grant(ctx, store, r, name, *direction, subject, true).await,
            }
        }
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
    let registered = match ensure_cluster_spiffe_id(ctx, name).await {
        Ok(d) => {
            r.ok("SPIRE registration", d);
            true
        }
        Err(e) => {
            r.err("SPIRE registration", format!("{e:#}"));
            false
        }
    };
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
                // Active is the commit point, written last: without its
                // SPIRE registration the workload gets no SVID, and an
                // Active record would make the next approve a no-op.
                Ok(()) if !registered => r.err(
                    "NatsIdentity",
                    format!(
                        "{name} left {}: its SPIRE registration failed; run the action again to complete it",
                        rec.as_ref().map(|rc| rc.phase()).unwrap_or("Pending")
                    ),
                ),
                Ok(()) => {
                    let status = IdentityStatus::approved(&ctx.actor);
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

async fn approve<S: AuthzStore>(
    ctx: &SpiffeContext,
    store: &S,
    r: &mut Recorder<'_>,
    name: &IdentityName,
    allow_broad: bool,
) {
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
    // SPIFFE mode writes the scope plus the requested grants: those outside
    // the identity's own scope need consent.
    let spec = crate::identity::record::IdentitySpec { grants: rec.spec.grants.clone(), ..Default::default() };
    let plan = crate::identity::approve_plan::ApprovePlan::of(&ctx.naming, name, &spec, None);
    if plan.needs_allow_broad() && !allow_broad {
        r.err("requested grants", plan.refusal());
        return;
    }
    // The requested grants must be valid before anything is written.
    let mut grants = Vec::new();
    for g in &rec.spec.grants {
        let d = step!(r, "requested grants", Direction::parse(&g.direction).map_err(|e| anyhow!(e)));
        if let Err(e) = crate::nats::subject::validate_grant(&g.subject) {
            r.err("requested grants", format!("invalid subject {:?}: {e}", g.subject));
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
    let status = IdentityStatus::denied(&ctx.actor, reason);
    match write_status(ctx, name, &status).await {
        Ok(()) => r.ok("NatsIdentity", "Denied"),
        Err(e) => r.err("NatsIdentity", format!("{e:#}")),
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
                    .patch(&name.workload, &PatchParams::default().validation_strict(), &Patch::Merge(&body))
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
        match kick(&ctx.sys, &sid, cid).await {
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
    use crate::identity::action::kube::selects_workload;
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
        let g = Request::Grant {
            name: a.clone(),
            direction: Direction::Publish,
            subject: "x.y".into(),
            allow_broad: false,
        };
        assert_eq!(g.verb(), "grant");
        assert_eq!(g.target(), "tent-dev/hn-digest publish x.y");
        assert!(!g.is_destructive());
        assert!(Request::Revoke { name: a.clone() }.is_destructive());
        assert!(
            Request::Ungrant { name: a.clone(), direction: Direction::Subscribe, subject: "x".into() }.is_destructive()
        );
        assert_eq!(Direction::parse("sub").unwrap(), Direction::Subscribe);
        assert!(Direction::parse("both").is_err());
        let spec = cluster_spiffe_id_spec(&naming(), &KubeSection::default(), &a);
        assert_eq!(spec["podSelector"]["matchLabels"]["tentacular.io/workflow"], "hn-digest");
        assert_eq!(spec["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "tent-dev");
        assert!(spec["spiffeIDTemplate"].as_str().unwrap().contains("{{ .PodMeta.Namespace }}"));
        // The official chart's controller serves class `<namespace>-<release>` only.
        assert_eq!(spec["className"], "spire-server-spire");
        assert_eq!(cluster_spiffe_id_name(&a), "tent-dev.hn-digest");
        assert_eq!(crate::identity::action::kube::cluster_spiffe_id_name(&a), "tent-dev.hn-digest");
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
