//! The sandbox's fleet: tentacles in every state, with all their parts in
//! the Kubernetes API double (Deployments, pods, ClusterSPIFFEIDs, SPIRE
//! agents, creds Secrets, NatsIdentity resources). SPIRE entries and
//! ClusterSPIFFEID status are not seeded: the spire-controller emulation
//! ([`crate::spire_controller`]) renders them from the ClusterSPIFFEIDs of
//! its class, as on a cluster.

use anyhow::Result;
use serde_json::{Value, json};

use super::spiffe_mode::{SpiffeWorld, Svid};
use crate::operator_mode::{OperatorWorld, UserSpec};
use crate::spire_controller::config::{
    CHART_NAMESPACE, CHART_RELEASE, CHART_SERVER_CONTAINER, CHART_SERVER_POD, ControllerConfig,
};
use crate::spire_controller::node_uid;
use kube_double::{KubeState, spire_agent};
use warden_core::config::file::KubeSection;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::record::{IdentitySpec, IdentityStatus};
use warden_core::identity::spiffe_actions::{cluster_spiffe_id_spec, configmap_ref};
use warden_core::identity::spiffe_authz::{AuthzDocument, DocumentShape};
use warden_core::nats::jwt::{KeyKind, SigningKey, render_creds};

pub const TRUST_DOMAIN: &str = "tentacular.local";
pub const WORKLOAD_LABEL: &str = "tentacular.io/workflow";
pub const CREDS_LABEL: &str = "warden.dev/identity";

/// How a simulated tentacle behaves and what state its identity is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Active, publishes on its own subjects.
    Steady,
    /// Active, keeps trying a subject of another tentacle.
    Violator,
    /// Revoked; still tries to connect with its old credentials.
    Revoked,
    /// Active, its JWT expires a few minutes after the sandbox starts.
    ExpiringSoon,
    /// Its JWT expired an hour ago.
    Expired,
    /// Pending approval; holds its own key and connects once approved.
    Pending,
    /// A SPIRE registration with no NATS authorization at all.
    Drifted,
}

pub struct Tentacle {
    pub namespace: &'static str,
    pub workload: &'static str,
    pub kind: Kind,
    /// The workload's own user key.
    pub key: SigningKey,
    /// The JWT it starts with (None: pending or drifted).
    pub jwt: Option<String>,
}

impl Tentacle {
    pub fn name(&self) -> String {
        format!("{}/{}", self.namespace, self.workload)
    }
    pub fn prefix(&self) -> String {
        format!("tentacular.{}.{}", self.namespace, self.workload)
    }
    pub fn spiffe_id(&self) -> String {
        format!("spiffe://{TRUST_DOMAIN}/ns/{}/wf/{}", self.namespace, self.workload)
    }
}

/// The fleet: (namespace, workload, kind).
pub const FLEET: &[(&str, &str, Kind)] = &[
    ("tent-dev", "hn-digest", Kind::Steady),
    ("tent-dev", "summarizer", Kind::Violator),
    ("tent-dev", "new-scraper", Kind::Pending),
    ("tent-dev", "orphan", Kind::Drifted),
    ("tent-prod", "ingest", Kind::Steady),
    ("tent-prod", "reporter", Kind::Pending),
    ("tent-prod", "old-batch", Kind::Expired),
    ("payments", "ledger", Kind::Revoked),
    ("payments", "fraud-check", Kind::ExpiringSoon),
    ("payments", "settlement", Kind::Steady),
];

pub const NAMESPACES: &[&str] = &["tent-dev", "tent-prod", "payments", "tentacular-system", CHART_NAMESPACE];

/// The nodes workloads run on (one SPIRE agent each; node-c's is banned).
pub const NODES: &[&str] = &["node-a", "node-b", "node-c"];

/// The spire-controller-manager the sandbox runs: the official chart's.
pub fn controller_config() -> ControllerConfig {
    ControllerConfig::chart_default(TRUST_DOMAIN)
}

/// The agent ID of `node`'s SPIRE agent (k8s_psat:
/// `spiffe://<td>/spire/agent/k8s_psat/<cluster>/<node uid>`, the chart's
/// parentIDTemplate).
pub fn agent_id(node: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/spire/agent/k8s_psat/{}/{}", controller_config().cluster_name, node_uid(node))
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Mints what each tentacle needs in `world` and returns the fleet.
/// `now` is unix seconds; `expiring_in` is how long ExpiringSoon lives.
pub fn mint_fleet(world: &OperatorWorld, now: i64, expiring_in: i64) -> Result<Vec<Tentacle>> {
    let mut out = Vec::new();
    for &(ns, wf, kind) in FLEET {
        let key = SigningKey::generate(KeyKind::User);
        let exp = match kind {
            Kind::ExpiringSoon => Some(now + expiring_in),
            Kind::Expired => Some(now - 3600),
            _ => Some(now + 30 * 86_400),
        };
        let jwt = match kind {
            Kind::Pending | Kind::Drifted => None,
            _ => {
                let mut spec = UserSpec::tentacle(ns, wf);
                spec.expires = exp;
                Some(world.mint_user_jwt(&spec, key.public_key())?.1)
            }
        };
        out.push(Tentacle { namespace: ns, workload: wf, kind, key, jwt });
    }
    Ok(out)
}

/// The CRDs, namespaces, the NATS and SPIRE server pods (the SPIRE server
/// where the official chart puts it), and the SPIRE agents (both modes).
pub fn seed_infrastructure(k: &KubeState, now: i64) -> Result<()> {
    crate::crds::install(k)?;
    for ns in NAMESPACES {
        // The apiserver labels every namespace with its name.
        upsert(
            k,
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}}),
        )?;
    }
    k.add_pod("tentacular-system", "nats-0", &[("app.kubernetes.io/name", "nats")], &["nats"]);
    k.add_pod(
        CHART_NAMESPACE,
        CHART_SERVER_POD,
        &[("app.kubernetes.io/name", "server"), ("app.kubernetes.io/instance", CHART_RELEASE)],
        &[CHART_SERVER_CONTAINER],
    );

    let cluster = controller_config().cluster_name;
    let agents = [(now + 30 * 86_400, false), (now + 20 * 60, false), (now + 10 * 86_400, true)];
    k.set_spire_agents(
        NODES
            .iter()
            .zip(agents)
            .enumerate()
            .map(|(i, (node, (exp, banned)))| {
                let mut a = spire_agent(
                    &agent_id(node),
                    "k8s_psat",
                    &format!("{}", 1000 + i),
                    exp,
                    &[
                        &format!("k8s_psat:cluster:{cluster}"),
                        &format!("k8s_psat:agent_node_name:{node}"),
                        &format!("k8s_psat:agent_node_uid:{}", node_uid(node)),
                    ],
                );
                a["banned"] = json!(banned);
                a
            })
            .collect(),
    );
    // The NATS server's own SVID, declared as a ClusterStaticEntry of the
    // controller's class (how a platform team registers infrastructure).
    upsert(
        k,
        json!({
            "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterStaticEntry",
            "metadata": {"name": "nats-server"},
            "spec": {
                "className": controller_config().class_name,
                "spiffeID": format!("spiffe://{TRUST_DOMAIN}/ns/tentacular-system/sa/nats"),
                "parentID": agent_id(NODES[0]),
                "selectors": ["k8s:ns:tentacular-system", "k8s:sa:nats"],
                "x509SVIDTTL": "1h",
                "dnsNames": ["nats.tentacular-system.svc"],
            }
        }),
    )?;
    Ok(())
}

fn upsert(k: &KubeState, v: Value) -> Result<()> {
    k.upsert(v).map(drop).map_err(|e| anyhow::anyhow!("seeding the double: {e:?}"))
}

/// The `i`-th tentacle's Deployment and its Running pod (on node-a or
/// node-b); with `registration` (a ClusterSPIFFEID spec) also its
/// ClusterSPIFFEID (no status: the controller writes it).
pub fn seed_workload(k: &KubeState, i: usize, ns: &str, wf: &str, registration: Option<Value>) -> Result<()> {
    let labels = json!({ WORKLOAD_LABEL: wf });
    upsert(
        k,
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": wf, "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "tentacle", "image": "tentacular/tentacle:1"}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        }),
    )?;
    upsert(k, running_pod(ns, &format!("{wf}-7d9f{i}"), &labels, NODES[i % 2]))?;
    let Some(spec) = registration else { return Ok(()) };
    upsert(
        k,
        json!({
            "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
            "metadata": {"name": format!("{ns}.{wf}")},
            "spec": spec,
        }),
    )
}

/// A scheduled, Running pod of a tentacle (uid assigned by the double).
pub fn running_pod(ns: &str, name: &str, labels: &Value, node: &str) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"nodeName": node, "serviceAccountName": "default",
                 "containers": [{"name": "tentacle", "image": "tentacular/tentacle:1"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.10", "startTime": now,
                   "containerStatuses": [{"name": "tentacle", "ready": true, "restartCount": 0, "started": true,
                                          "image": "tentacular/tentacle:1", "imageID": "",
                                          "state": {"running": {"startedAt": now}}}]}
    })
}

/// Seeds the double with every part of every tentacle, the NATS and SPIRE
/// server pods, and the SPIRE agents.
pub fn seed(k: &KubeState, world: &OperatorWorld, fleet: &[Tentacle], now: i64, revoked_at: i64) -> Result<()> {
    let up = |v: Value| upsert(k, v);
    seed_infrastructure(k, now)?;
    let class = controller_config().class_name;
    for (i, t) in fleet.iter().enumerate() {
        let (ns, wf) = (t.namespace, t.workload);
        let registration = json!({
            "className": class,
            "spiffeIDTemplate": format!("spiffe://{{{{ .TrustDomain }}}}/ns/{{{{ .PodMeta.Namespace }}}}/wf/{wf}"),
            "podSelector": {"matchLabels": { WORKLOAD_LABEL: wf }},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "ttl": "1h"
        });
        seed_workload(k, i, ns, wf, Some(registration))?;
        if t.kind == Kind::Drifted {
            continue;
        }
        let scope = format!("{}.>", t.prefix());
        let mut status = json!({});
        if let Some(jwt) = &t.jwt {
            let exp = warden_core::nats::jwt::decode(jwt).ok().map(|c| c.std().expires).unwrap_or(0);
            status = json!({"phase": "Active", "userPublicKey": t.key.public_key(), "accountPublicKey": world.app.public_key(),
                            "jwt": jwt, "approvedBy": "sandbox", "approvedAt": rfc3339(now - 86_400)});
            if exp > 0 {
                status["expiresAt"] = json!(rfc3339(exp));
            }
            if t.kind == Kind::Revoked {
                status["phase"] = json!("Revoked");
                status["revokedBy"] = json!("sandbox");
                status["revokedAt"] = json!(rfc3339(revoked_at));
            }
            let creds = render_creds(jwt, &t.key)?;
            up(json!({
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": format!("{wf}-nats-creds"), "namespace": ns, "labels": { CREDS_LABEL: wf }},
                "data": {"user.creds": data_encoding::BASE64.encode(creds.expose().as_bytes())}
            }))?;
        }
        let mut obj = json!({
            "apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
            "metadata": {"name": wf, "namespace": ns},
            "spec": {"workload": wf, "account": "APP", "user": format!("tentacle.{ns}.{wf}"),
                     "publicKey": if t.kind == Kind::Pending { t.key.public_key().to_string() } else { String::new() },
                     "publish": [scope.clone()], "subscribe": [scope, "_INBOX.>"], "ttl": "720h"}
        });
        if t.jwt.is_some() {
            obj["status"] = status;
        }
        up(obj)?;
    }
    Ok(())
}

/// A tentacle of the SPIFFE-mode fleet.
pub struct SpiffeTentacle {
    pub name: IdentityName,
    pub kind: Kind,
    pub spiffe_id: String,
    /// The SVID its workload holds (None: drifted, no workload runs).
    pub svid: Option<Svid>,
}

impl SpiffeTentacle {
    pub fn prefix(&self) -> String {
        format!("tentacular.{}.{}", self.name.namespace, self.name.workload)
    }
}

/// Which parts a SPIFFE-mode tentacle has: an authorization entry (Active).
/// SPIRE rotates SVIDs, so there is no "expired" identity in this mode: the
/// Expired tentacle of the JWT fleet is an active one here; ExpiringSoon's
/// SVID is short-lived (`expiring_in` seconds).
fn spiffe_active(kind: Kind) -> bool {
    matches!(kind, Kind::Steady | Kind::Violator | Kind::ExpiringSoon | Kind::Expired)
}

/// Issues each tentacle's SVID in `world` and returns the fleet.
pub fn mint_spiffe_fleet(world: &SpiffeWorld, naming: &Naming, expiring_in: i64) -> Result<Vec<SpiffeTentacle>> {
    let mut out = Vec::new();
    for &(ns, wf, kind) in FLEET {
        let name = IdentityName::parse(&format!("{ns}/{wf}"))?;
        let spiffe_id = naming.spiffe_id(&name);
        let svid = match kind {
            Kind::Drifted => None,
            Kind::ExpiringSoon => Some(world.issue_svid_as(
                &spiffe_id,
                &format!("{ns}_{wf}"),
                std::time::Duration::from_secs(expiring_in.max(60) as u64),
            )?),
            _ => Some(world.issue_svid(&spiffe_id)?),
        };
        out.push(SpiffeTentacle { name, kind, spiffe_id, svid });
    }
    Ok(out)
}

/// Seeds the double for SPIFFE mode: active tentacles have an entry in the
/// authorization ConfigMap, a ClusterSPIFFEID and an Active NatsIdentity;
/// pending ones only a NatsIdentity (approve writes the rest); the revoked
/// one a Revoked NatsIdentity and nothing else; the drifted one a
/// ClusterSPIFFEID and nothing else. Returns the authorization document
/// the ConfigMap holds (the server's include file starts equal to it).
pub fn seed_spiffe(
    k: &KubeState,
    naming: &Naming,
    section: &KubeSection,
    fleet: &[SpiffeTentacle],
    now: i64,
) -> Result<AuthzDocument> {
    seed_infrastructure(k, now)?;
    let mut doc = AuthzDocument::new(DocumentShape::UsersArray);
    for (i, t) in fleet.iter().enumerate() {
        let (ns, wf) = (t.name.namespace.as_str(), t.name.workload.as_str());
        let registered = spiffe_active(t.kind) || t.kind == Kind::Drifted;
        let registration = registered.then(|| cluster_spiffe_id_spec(naming, section, &t.name));
        seed_workload(k, i, ns, wf, registration)?;
        if t.kind == Kind::Drifted {
            continue;
        }
        let scope = naming.scope(&t.name);
        if spiffe_active(t.kind) {
            doc.upsert_scope(&t.spiffe_id, &scope)?;
        }
        let spec = IdentitySpec {
            workload: wf.to_string(),
            user: naming.nats_user(&t.name),
            publish: scope.publish_allow.clone(),
            subscribe: scope.subscribe_allow.clone(),
            mode: "spiffe".into(),
            namespace: ns.to_string(),
            spiffe_id: t.spiffe_id.clone(),
            ..Default::default()
        };
        let approved = || IdentityStatus {
            phase: "Active".into(),
            approved_by: "sandbox".into(),
            approved_at: rfc3339(now - 86_400),
            ..Default::default()
        };
        let status = match t.kind {
            Kind::Pending => None,
            Kind::Revoked => Some(IdentityStatus {
                phase: "Revoked".into(),
                revoked_by: "sandbox".into(),
                revoked_at: rfc3339(now),
                ..approved()
            }),
            _ => Some(approved()),
        };
        let mut obj = json!({
            "apiVersion": "warden.dev/v1alpha1", "kind": "NatsIdentity",
            "metadata": {"name": wf, "namespace": ns},
            "spec": spec,
        });
        if let Some(status) = status {
            obj["status"] = serde_json::to_value(status)?;
        }
        upsert(k, obj)?;
    }
    put_authz_configmap(k, section, &doc)?;
    Ok(doc)
}

/// Writes `doc` as the authorization ConfigMap (what the NATS pods include).
pub fn put_authz_configmap(k: &KubeState, section: &KubeSection, doc: &AuthzDocument) -> Result<()> {
    let (cm_ns, cm_name) = configmap_ref(&section.authz_configmap)?;
    upsert(
        k,
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": cm_name, "namespace": cm_ns},
            "data": { section.authz_key.as_str(): doc.render() }
        }),
    )
}
