//! Seeded findings: besides the fleet ([`crate::scenario`]), the sandbox
//! holds one instance of every `warden doctor` finding that fits a working
//! world, each an object whose name says what is wrong with it, so every
//! finding can be seen in the console (`:doctor`) and is covered by a test
//! (`tests/integration/doctor_seeds.rs`).
//!
//! JWT mode: a user JWT without expiry, a bearer-token user, an account
//! expiring soon, an identity revoked in its record whose
//! revocation never reached the server (still connected), a request whose
//! declared subjects leave its scope, a workload that keeps subscribing
//! where it may not, a workload connected in the system account, an
//! identity renewed in its record whose creds Secret holds the old JWT.
//! Both modes: a ClusterSPIFFEID of a class no controller serves, a
//! workload on the node of the banned SPIRE agent, a SPIFFE ID outside
//! `[policy] allowed_spiffe_prefixes`. SPIFFE mode: an entry with DNS SANs,
//! an authorization entry left behind with no registration.
//!
//! Not seeded: an expired account JWT (a server does not load an account
//! whose preloaded JWT has expired, and one that expires while loaded needs
//! a wait: `tests/integration/doctor_servers.rs` does it). Server-configuration findings (no-auth, token-auth, mtls-without-auth,
//! spiffe-without-mtls, expiring server certificates or operator JWTs) would
//! break a working sandbox: they are tested against real servers instead.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::operator_mode::{OperatorWorld, UserSpec};
use crate::scenario::{self, CREDS_LABEL, NODES, TRUST_DOMAIN, WORKLOAD_LABEL};
use crate::workloads::{self, Behaviour, Credentials, Workload};
use kube_double::KubeState;
use warden_core::config::file::KubeSection;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::record::{IdentitySpec, IdentityStatus};
use warden_core::identity::spiffe_actions::cluster_spiffe_id_spec;
use warden_core::identity::spiffe_authz::AuthzDocument;
use warden_core::nats::jwt::{KeyKind, SigningKey, render_creds};

/// user-jwt-no-expiry: a user JWT minted without `exp`.
pub const NO_EXPIRY: (&str, &str) = ("tent-prod", "legacy-cron");
/// bearer-token-user: a user JWT with `bearer_token`.
pub const BEARER: (&str, &str) = ("tent-prod", "kiosk-bearer");
/// revoked-still-connected: Revoked in its record, the push never happened.
pub const REVOKED_LIVE: (&str, &str) = ("payments", "refund-worker");
/// repeated-sub-violations: subscribes again after every refusal.
pub const DEAF: (&str, &str) = ("tent-dev", "deaf-listener");
/// What the deaf listener keeps trying to hear (another tentacle's scope).
pub const DEAF_FORBIDDEN: &str = "tentacular.tent-prod.ingest.>";
/// subjects-outside-scope: a pending request asking for `metrics.prod.>`.
pub const OUT_OF_SCOPE: (&str, &str) = ("tent-dev", "metrics-exporter");
/// sys-account-workload: a debugging tap left connected as a SYS user.
pub const SYS_TAP: &str = "sys-debug-tap";
/// account-jwt-expiring: an account whose JWT expires in 3 days.
pub const EXPIRING_ACCOUNT: &str = "PARTNERS";
/// class-not-served: a ClusterSPIFFEID of a class no controller serves.
pub const WRONG_CLASS: (&str, &str) = ("tent-dev", "canary");
pub const UNSERVED_CLASS: &str = "spire-canary";
/// agent-banned-hosting: a replica on node-c, whose agent is banned.
pub const ON_BANNED_NODE: (&str, &str) = ("tent-prod", "nightly-export");
pub const BANNED_NODE: &str = "node-c";
/// spiffe-id-outside-policy: a ClusterStaticEntry outside `/ns/`.
pub const OUTSIDE_POLICY_ENTRY: &str = "legacy-batch-runner";
pub const OUTSIDE_POLICY_ID: &str = "spiffe://tentacular.local/legacy/batch-runner";
/// dns-san-shadow (SPIFFE mode): an authorized workload whose SVIDs carry DNS names.
pub const DNS_SANS: (&str, &str) = ("payments", "gateway");
pub const DNS_SAN: &str = "gateway.payments.svc";
/// creds-secret-mismatch: renewed in its record, its creds Secret still
/// holds (and the workload connects with) the JWT of before.
pub const STALE_CREDS: (&str, &str) = ("tent-dev", "stale-creds");
/// authz-without-registration (SPIFFE mode): an entry left behind.
pub const LEFTOVER_AUTHZ: (&str, &str) = ("tent-prod", "decommissioned");

/// `[policy]` of the sandbox's warden config: workloads' SPIFFE IDs live
/// under `/ns/` (the NATS server's own too).
pub fn policy_section() -> String {
    format!("\n[policy]\nallowed_spiffe_prefixes = [\"spiffe://{TRUST_DOMAIN}/ns/\"]\n")
}

fn upsert(k: &KubeState, v: Value) -> Result<()> {
    k.upsert(v).map(drop).map_err(|e| anyhow::anyhow!("seeding the double: {e:?}"))
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Pods of seeded workloads are numbered after the fleet's.
const FIRST_INDEX: usize = 40;

fn registration(ns: &str, wf: &str, class: &str) -> Value {
    json!({
        "className": class,
        "spiffeIDTemplate": format!("spiffe://{{{{ .TrustDomain }}}}/ns/{{{{ .PodMeta.Namespace }}}}/wf/{wf}"),
        "podSelector": {"matchLabels": { WORKLOAD_LABEL: wf }},
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
        "ttl": "1h"
    })
}

fn scope(ns: &str, wf: &str) -> String {
    format!("tentacular.{ns}.{wf}.>")
}

/// A JWT-mode NatsIdentity: spec with the default scope (plus `extra_pub`),
/// and `status` when there is one.
fn jwt_record(ns: &str, wf: &str, public_key: &str, extra_pub: &[&str], status: Option<Value>) -> Value {
    let mut publish = vec![scope(ns, wf)];
    publish.extend(extra_pub.iter().map(|s| s.to_string()));
    let mut obj = json!({
        "apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
        "metadata": {"name": wf, "namespace": ns},
        "spec": {"workload": wf, "account": "APP", "user": format!("tentacle.{ns}.{wf}"), "publicKey": public_key,
                 "publish": publish, "subscribe": [scope(ns, wf), "_INBOX.>"], "ttl": "720h"}
    });
    if let Some(s) = status {
        obj["status"] = s;
    }
    obj
}

/// A seeded workload that connects (JWT mode).
pub struct SeedWorkload {
    pub name: String,
    pub prefix: String,
    pub behaviour: Behaviour,
    pub creds: Credentials,
}

/// Before the server starts: the accounts it preloads.
pub fn prepare_jwt(world: &mut OperatorWorld, now: i64) -> Result<()> {
    world.add_account(EXPIRING_ACCOUNT, Some(now + 3 * 86_400))?;
    Ok(())
}

/// JWT mode: the Kubernetes objects of the seeded identities, and the
/// workloads to start once the server runs.
pub fn seed_jwt(k: &KubeState, world: &OperatorWorld, now: i64) -> Result<Vec<SeedWorkload>> {
    let mut out = Vec::new();
    let active = |key: &SigningKey, jwt: &str, exp: Option<i64>| {
        let mut s = json!({"phase": "Active", "userPublicKey": key.public_key(), "accountPublicKey": world.app.public_key(),
                           "jwt": jwt, "approvedBy": "sandbox", "approvedAt": rfc3339(now - 86_400)});
        if let Some(e) = exp {
            s["expiresAt"] = json!(rfc3339(e));
        }
        s
    };
    let creds_secret = |ns: &str, wf: &str, jwt: &str, key: &SigningKey| -> Result<()> {
        let creds = render_creds(jwt, key)?;
        upsert(
            k,
            json!({
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": format!("{wf}-nats-creds"), "namespace": ns, "labels": { CREDS_LABEL: wf }},
                "data": {"user.creds": data_encoding::BASE64.encode(creds.expose().as_bytes())}
            }),
        )
    };
    let class = scenario::controller_config().class_name;
    let mut i = FIRST_INDEX;
    let mut connected = |ns: &str, wf: &str, spec: UserSpec, bearer: bool, revoked: bool, behaviour: Behaviour| {
        let key = SigningKey::generate(KeyKind::User);
        let mut claims = spec.claims(key.public_key());
        claims.nats.bearer_token = bearer;
        let jwt = world.mint_user_claims(claims, &key)?.jwt;
        scenario::seed_workload(k, i, ns, wf, Some(registration(ns, wf, &class)))?;
        i += 1;
        let mut status = active(&key, &jwt, spec.expires);
        if revoked {
            status["phase"] = json!("Revoked");
            status["revokedBy"] = json!("sandbox");
            status["revokedAt"] = json!(rfc3339(now - 600));
        }
        upsert(k, jwt_record(ns, wf, "", &[], Some(status)))?;
        creds_secret(ns, wf, &jwt, &key)?;
        out.push(SeedWorkload {
            name: format!("{ns}/{wf}"),
            prefix: format!("tentacular.{ns}.{wf}"),
            behaviour,
            creds: Credentials::Jwt { jwt, key: Arc::new(key) },
        });
        anyhow::Ok(())
    };
    let month = Some(now + 30 * 86_400);
    let (ns, wf) = NO_EXPIRY;
    connected(ns, wf, UserSpec::tentacle(ns, wf), false, false, Behaviour::Steady)?;
    let (ns, wf) = BEARER;
    connected(ns, wf, UserSpec { expires: month, ..UserSpec::tentacle(ns, wf) }, true, false, Behaviour::Steady)?;
    let (ns, wf) = REVOKED_LIVE;
    connected(ns, wf, UserSpec { expires: month, ..UserSpec::tentacle(ns, wf) }, false, true, Behaviour::Steady)?;
    let (ns, wf) = DEAF;
    let deaf = Behaviour::Deaf { forbidden: DEAF_FORBIDDEN.into() };
    connected(ns, wf, UserSpec { expires: month, ..UserSpec::tentacle(ns, wf) }, false, false, deaf)?;

    // A request that asks for more than its scope (pending: nothing minted).
    let (ns, wf) = OUT_OF_SCOPE;
    scenario::seed_workload(k, i, ns, wf, Some(registration(ns, wf, &class)))?;
    i += 1;
    let key = SigningKey::generate(KeyKind::User);
    upsert(k, jwt_record(ns, wf, key.public_key(), &["metrics.prod.>"], None))?;

    // The replica on the banned agent's node belongs to a pending request.
    let (ns, wf) = ON_BANNED_NODE;
    seed_on_banned_node(k, i, ns, wf)?;
    upsert(k, jwt_record(ns, wf, SigningKey::generate(KeyKind::User).public_key(), &[], None))?;
    seed_spire(k)?;

    // Renewed in the record, not in the Secret: the workload mounts the
    // Secret, so it still connects with the old JWT.
    let (ns, wf) = STALE_CREDS;
    scenario::seed_workload(k, i + 1, ns, wf, Some(registration(ns, wf, &class)))?;
    let key = SigningKey::generate(KeyKind::User);
    let old = world
        .mint_user_claims(UserSpec { expires: month, ..UserSpec::tentacle(ns, wf) }.claims(key.public_key()), &key)?;
    let renewed = UserSpec { expires: month.map(|m| m + 86_400), ..UserSpec::tentacle(ns, wf) };
    let new = world.mint_user_claims(renewed.claims(key.public_key()), &key)?;
    upsert(k, jwt_record(ns, wf, "", &[], Some(active(&key, &new.jwt, renewed.expires))))?;
    creds_secret(ns, wf, &old.jwt, &key)?;
    out.push(SeedWorkload {
        name: format!("{ns}/{wf}"),
        prefix: format!("tentacular.{ns}.{wf}"),
        behaviour: Behaviour::Steady,
        creds: Credentials::Jwt { jwt: old.jwt, key: Arc::new(key) },
    });

    // A debugging tap connected as a user of the system account.
    let (jwt, key) = world.mint_sys_user(SYS_TAP)?;
    out.push(SeedWorkload {
        name: SYS_TAP.into(),
        prefix: format!("ops.{SYS_TAP}"),
        behaviour: Behaviour::Steady,
        creds: Credentials::Jwt { jwt, key: Arc::new(key) },
    });
    Ok(out)
}

/// `wf`'s Deployment and pod (with its ClusterSPIFFEID), plus a second
/// replica on [`BANNED_NODE`]: the controller parents its entry to the
/// banned agent.
fn seed_on_banned_node(k: &KubeState, i: usize, ns: &str, wf: &str) -> Result<()> {
    let class = scenario::controller_config().class_name;
    scenario::seed_workload(k, i, ns, wf, Some(registration(ns, wf, &class)))?;
    debug_assert!(NODES.contains(&BANNED_NODE));
    upsert(k, scenario::running_pod(ns, &format!("{wf}-7d9fc"), &json!({ WORKLOAD_LABEL: wf }), BANNED_NODE))
}

/// Both modes: a ClusterSPIFFEID of a class no controller serves (its
/// workload runs, it gets no SVID) and a ClusterStaticEntry outside the
/// allowed SPIFFE ID prefixes.
fn seed_spire(k: &KubeState) -> Result<()> {
    let (ns, wf) = WRONG_CLASS;
    scenario::seed_workload(k, FIRST_INDEX + 20, ns, wf, Some(registration(ns, wf, UNSERVED_CLASS)))?;
    upsert(
        k,
        json!({
            "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterStaticEntry",
            "metadata": {"name": OUTSIDE_POLICY_ENTRY},
            "spec": {
                "className": scenario::controller_config().class_name,
                "spiffeID": OUTSIDE_POLICY_ID,
                "parentID": scenario::agent_id(NODES[0]),
                "selectors": ["unix:uid:1042"],
                "x509SVIDTTL": "1h",
            }
        }),
    )
}

/// Starts the seeded workloads; their credentials never change (the
/// senders live as long as the returned tasks).
pub fn start_jwt(url: &str, seeds: Vec<SeedWorkload>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut senders = Vec::new();
    for s in seeds {
        let (tx, rx) = watch::channel(Some(s.creds));
        let w = Workload {
            name: s.name,
            prefix: s.prefix,
            behaviour: s.behaviour,
            credentials: rx,
            every: Duration::from_secs(2),
        };
        tasks.push(workloads::spawn(url.to_string(), w));
        senders.push(tx);
    }
    tasks.push(workloads::keep_credentials(senders));
    tasks
}

/// SPIFFE mode: the seeded objects, and their authorization entries added
/// to `doc` (the ConfigMap is written again with them). Returns the document.
pub fn seed_spiffe(
    k: &KubeState,
    naming: &Naming,
    section: &KubeSection,
    mut doc: AuthzDocument,
    now: i64,
) -> Result<AuthzDocument> {
    let active = |ns: &str, wf: &str| -> Result<()> {
        let name = IdentityName::parse(&format!("{ns}/{wf}"))?;
        let s = naming.scope(&name);
        let spec = IdentitySpec {
            workload: wf.to_string(),
            user: naming.nats_user(&name),
            publish: s.publish_allow,
            subscribe: s.subscribe_allow,
            mode: "spiffe".into(),
            namespace: ns.to_string(),
            spiffe_id: naming.spiffe_id(&name),
            ..Default::default()
        };
        let status = IdentityStatus {
            phase: "Active".into(),
            approved_by: "sandbox".into(),
            approved_at: rfc3339(now - 86_400),
            ..Default::default()
        };
        upsert(
            k,
            json!({
                "apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
                "metadata": {"name": wf, "namespace": ns},
                "spec": spec, "status": serde_json::to_value(status)?,
            }),
        )
    };
    let authorize = |doc: &mut AuthzDocument, ns: &str, wf: &str| -> Result<()> {
        let name = IdentityName::parse(&format!("{ns}/{wf}"))?;
        doc.upsert_scope(&naming.spiffe_id(&name), &naming.scope(&name))?;
        Ok(())
    };

    // An authorized workload whose ClusterSPIFFEID asks for DNS names.
    let (ns, wf) = DNS_SANS;
    let name = IdentityName::parse(&format!("{ns}/{wf}"))?;
    let mut spec = cluster_spiffe_id_spec(naming, section, &name);
    spec["dnsNameTemplates"] = json!([DNS_SAN]);
    scenario::seed_workload(k, FIRST_INDEX, ns, wf, Some(spec))?;
    active(ns, wf)?;
    authorize(&mut doc, ns, wf)?;

    // An authorization entry whose workload (and registration) is gone.
    let (ns, wf) = LEFTOVER_AUTHZ;
    authorize(&mut doc, ns, wf)?;

    // The replica on the banned node: an authorized identity.
    let (ns, wf) = ON_BANNED_NODE;
    seed_on_banned_node(k, FIRST_INDEX + 1, ns, wf)?;
    active(ns, wf)?;
    authorize(&mut doc, ns, wf)?;
    seed_spire(k)?;
    scenario::put_authz_configmap(k, section, &doc)?;
    Ok(doc)
}
