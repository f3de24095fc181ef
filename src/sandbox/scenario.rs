//! The sandbox's fleet: tentacles in every state, with all their parts in
//! the Kubernetes API double (Deployments, pods, ClusterSPIFFEIDs, SPIRE
//! entries and agents, creds Secrets, NatsIdentity resources).

use anyhow::Result;
use serde_json::{Value, json};

use super::kube_double::{KubeState, spire_agent, spire_entry};
use crate::nats::jwt::{KeyKind, SigningKey, render_creds};
use crate::sandbox::operator_mode::{OperatorWorld, UserSpec};

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

pub const NAMESPACES: &[&str] = &["tent-dev", "tent-prod", "payments", "tentacular-system", "spire-system"];

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

/// Seeds the double with every part of every tentacle, the NATS and SPIRE
/// server pods, and the SPIRE agents.
pub fn seed(k: &KubeState, world: &OperatorWorld, fleet: &[Tentacle], now: i64, revoked_at: i64) -> Result<()> {
    let up = |v: Value| k.upsert(v).map_err(|e| anyhow::anyhow!("seeding the double: {e:?}"));
    for ns in NAMESPACES {
        up(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))?;
    }
    k.add_pod("tentacular-system", "nats-0", &[("app.kubernetes.io/name", "nats")], &["nats"]);
    k.add_pod("spire-system", "spire-server-0", &[("app.kubernetes.io/name", "spire-server")], &["spire-server"]);

    let agents =
        [("node-a", now + 30 * 86_400, false), ("node-b", now + 20 * 60, false), ("node-c", now + 10 * 86_400, true)];
    k.set_spire_agents(
        agents
            .iter()
            .enumerate()
            .map(|(i, (node, exp, banned))| {
                let mut a = spire_agent(
                    &format!("spiffe://{TRUST_DOMAIN}/spire/agent/k8s_psat/sandbox/{node}"),
                    "k8s_psat",
                    &format!("{}", 1000 + i),
                    *exp,
                    &[&format!("k8s_psat:agent_node_name:{node}")],
                );
                a["banned"] = json!(banned);
                a
            })
            .collect(),
    );

    let mut entries = Vec::new();
    for (i, t) in fleet.iter().enumerate() {
        let (ns, wf) = (t.namespace, t.workload);
        let labels = json!({ WORKLOAD_LABEL: wf });
        up(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": wf, "namespace": ns, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "tentacle", "image": "tentacular/tentacle:1"}]}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        }))?;
        k.add_pod(ns, &format!("{wf}-7d9f{i}"), &[(WORKLOAD_LABEL, wf)], &["tentacle"]);
        up(json!({
            "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
            "metadata": {"name": format!("{ns}.{wf}")},
            "spec": {
                "spiffeIDTemplate": format!("spiffe://{{{{ .TrustDomain }}}}/ns/{{{{ .PodMeta.Namespace }}}}/wf/{wf}"),
                "podSelector": {"matchLabels": labels},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                "ttl": "1h"
            },
            "status": {"stats": {"namespacesSelected": 1, "podsSelected": 1, "entriesToSet": 1,
                                 "entryFailures": 0, "podEntryRenderFailures": 0, "entriesMasked": 0}}
        }))?;
        let node = ["node-a", "node-b"][i % 2];
        entries.push(spire_entry(
            &format!("e{:04}-{wf}", i + 1),
            &t.spiffe_id(),
            &format!("spiffe://{TRUST_DOMAIN}/spire/agent/k8s_psat/sandbox/{node}"),
            &[&format!("k8s:ns:{ns}"), &format!("k8s:pod-label:{WORKLOAD_LABEL}:{wf}")],
        ));
        if t.kind == Kind::Drifted {
            continue;
        }
        let scope = format!("{}.>", t.prefix());
        let mut status = json!({});
        if let Some(jwt) = &t.jwt {
            let exp = crate::nats::jwt::decode(jwt).ok().map(|c| c.std().expires).unwrap_or(0);
            status = json!({"phase": "Active", "userPublicKey": t.key.public_key(), "accountPublicKey": world.app.public_key(),
                            "jwt": jwt, "expires": exp, "approvedBy": "sandbox", "approvedAt": rfc3339(now - 86_400)});
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
    k.set_spire_entries(entries);
    Ok(())
}
