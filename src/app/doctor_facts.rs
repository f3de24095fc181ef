//! The doctor's snapshot ([`Facts`]) from what the console (or a report)
//! already holds: server, connection, account and permission rows, the
//! identity join, Kubernetes objects, SPIRE data and the violation store.

use super::accounts::AccountRow;
use super::conns::ConnRow;
use super::doctor_nats::DoctorNats;
use super::identities::IdentityRow;
use super::servers::ServerRow;
use warden_core::doctor::facts::{
    AccountFacts, AuthzEntryFacts, ConnFacts, Facts, Policy, RegistrationFacts, ServedJwt, ViolationCount,
};
use warden_core::identity::kube_facts::SpireRegistration;
use warden_core::identity::naming::{IdentityName, Naming};
use warden_core::identity::permissions::PermissionSet;
use warden_core::identity::record::IdentityRecord;
use warden_core::identity::spiffe_authz::AuthzDocument;
use warden_core::nats::subject::Direction;
use warden_core::spire::model::{Agent, Entry};

/// Borrowed sources; whatever is missing stays empty and is named in
/// `unavailable` by the caller.
#[derive(Default)]
pub struct Sources<'a> {
    pub servers: &'a [ServerRow],
    pub conns: &'a [ConnRow],
    pub accounts: &'a [AccountRow],
    pub permissions: &'a [PermissionSet],
    pub identities: &'a [IdentityRow],
    pub records: &'a [IdentityRecord],
    /// ClusterSPIFFEIDs attributed to workloads.
    pub registrations: Vec<SpireRegistration>,
    pub authz: Option<&'a AuthzDocument>,
    pub entries: &'a [Entry],
    pub agents: &'a [Agent],
    pub violations: Vec<ViolationCount>,
    /// JetStream and the anonymous `INFO`, once fetched.
    pub nats: Option<&'a DoctorNats>,
    /// Creds Secrets (`warden doctor` in JWT mode; the console reads none).
    pub creds_secrets: &'a [warden_core::identity::creds_secret::CredsSecretFacts],
}

pub fn build(src: Sources<'_>, naming: &Naming, policy: Policy, now: i64) -> Facts {
    let extra = src.nats.cloned().unwrap_or_default();
    let mut f = Facts {
        now,
        policy,
        servers: src.servers.iter().filter(|s| s.error.is_none()).map(ServerRow::doctor_facts).collect(),
        conns: src.conns.iter().map(conn).collect(),
        own_conns: vec![],
        accounts: src.accounts.iter().map(account).collect(),
        jetstream_servers: extra.jetstream_servers,
        streams: extra.streams,
        permissions: src.permissions.to_vec(),
        identities: src.identities.iter().map(|i| i.identity.clone()).collect(),
        records: src.records.to_vec(),
        creds_secrets: src.creds_secrets.to_vec(),
        naming: naming.clone(),
        violations: src.violations,
        registrations: src
            .registrations
            .into_iter()
            .map(|r| RegistrationFacts {
                spiffe_id: naming
                    .spiffe_id(&IdentityName { namespace: r.namespace.clone(), workload: r.workload.clone() }),
                name: r.name,
                namespace: r.namespace,
                workload: r.workload,
                problem: r.problem,
            })
            .collect(),
        authz_entries: src
            .authz
            .map(|d| {
                d.entries()
                    .map(|e| AuthzEntryFacts {
                        user: e.user.clone(),
                        publish: e.effective_allow(Direction::Publish),
                        subscribe: e.effective_allow(Direction::Subscribe),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        entries: src.entries.to_vec(),
        pods: None,
        agents: src.agents.to_vec(),
        unavailable: extra.unavailable,
    };
    // VARZ says auth is required even with a no_auth_user; the INFO an
    // anonymous client gets tells the truth.
    if let Some(info) = &extra.anonymous_info {
        for s in f.servers.iter_mut().filter(|s| s.id == info.server_id) {
            s.anonymous_allowed = Some(!info.auth_required);
        }
    }
    f
}

fn conn(c: &ConnRow) -> ConnFacts {
    ConnFacts {
        server: c.server.to_string(),
        cid: c.info.cid,
        account: c.info.account.to_string(),
        account_name: c.account_name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
        user: c.info.authorized_user.to_string(),
        name: c.info.name.to_string(),
        user_key: c.claims.as_ref().map(|cl| cl.std.subject.clone()).unwrap_or_default(),
        claims: c.claims.clone(),
    }
}

fn account(a: &AccountRow) -> AccountFacts {
    AccountFacts {
        key: a.key.clone(),
        name: a.name.clone(),
        expires: a.expires,
        jetstream_limits: a.jetstream,
        system: a.system,
        jti: a.claims.as_ref().map(|c| c.std.id.clone()).unwrap_or_default(),
        drift: a.drift.clone(),
        served: a
            .servers
            .iter()
            .map(|s| ServedJwt { server: s.server.clone(), cluster: s.cluster.clone(), jti: s.jti.clone() })
            .collect(),
    }
}
