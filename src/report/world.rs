//! One snapshot of every source, fetched once, for `warden doctor`,
//! `warden check` and `warden trace`: the same fetches as the console's
//! views. A source that cannot be read is named, never guessed about.

use anyhow::Result;

use super::ReportContext;
use crate::app::accounts::{self, AccountRow};
use crate::app::conns::{self, ConnRow};
use crate::app::doctor_facts::{self, Sources};
use crate::app::doctor_nats::DoctorNats;
use crate::app::expiry::{self, ExpiryRow};
use crate::app::identities::{self, IdentityRow};
use crate::app::permissions;
use crate::app::servers::{self, ServerRow};
use warden_core::doctor::facts::Facts;
use warden_core::identity::kube_facts::KubeFacts;
use warden_core::identity::permissions::PermissionSet;
use warden_core::identity::record::IdentityRecord;
use warden_core::identity::spiffe_authz::AuthzDocument;
use warden_core::nats::connect;
use warden_core::nats::sys::SysClient;
use warden_core::spire::model::{Agent, Entry};

#[derive(Default)]
pub struct World {
    pub now: i64,
    pub servers: Vec<ServerRow>,
    pub conns: Vec<ConnRow>,
    pub accounts: Vec<AccountRow>,
    /// JetStream and the anonymous `INFO`.
    pub nats_extra: DoctorNats,
    pub permissions: Vec<PermissionSet>,
    pub records: Vec<IdentityRecord>,
    pub kube: KubeFacts,
    pub authz: Option<AuthzDocument>,
    pub entries: Vec<Entry>,
    pub agents: Vec<Agent>,
    pub identities: Vec<IdentityRow>,
    /// The user warden is connected as (an admin of the system account by definition).
    pub own_user: Option<String>,
    /// What could not be read, and why.
    pub unavailable: Vec<String>,
}

impl World {
    /// Fetches everything. Fails only when no source at all answered.
    pub async fn fetch(ctx: &ReportContext) -> Result<World> {
        let mut w = World { now: warden_core::nats::jwt::unix_now(), ..Default::default() };
        if ctx.kube_section.enabled {
            let (records, facts, missing) = super::kube_identity_facts(ctx, true).await;
            (w.records, w.kube) = (records, facts);
            w.unavailable.extend(missing);
            match super::authz_document(ctx).await {
                Ok(doc) => w.authz = doc,
                Err(e) => w.unavailable.push(format!("authorization ConfigMap: {e:#}")),
            }
            (w.entries, w.agents) = super::spire_facts(ctx, &mut w.unavailable).await;
        } else {
            w.unavailable.push("Kubernetes: not configured ([kubernetes] enabled = false)".into());
        }
        // After Kubernetes: the records' account keys are looked up too.
        match connect::connect(&ctx.nats, None).await {
            Ok(client) => w.fetch_nats(ctx, &SysClient::new(client)).await,
            Err(e) => {
                w.unavailable.push(format!("NATS: {e:#}"));
                w.nats_extra = DoctorNats::fetch(&ctx.nats.url, None).await;
            }
        }
        if let Some(doc) = &w.authz {
            w.permissions = permissions::merge_sets(
                std::mem::take(&mut w.permissions),
                permissions::sets_from_authz(&ctx.naming, doc),
            );
        }
        let ids = identities::build_with(
            &ctx.naming,
            &w.conns,
            &w.records,
            &w.accounts,
            &w.kube,
            w.now,
            ctx.ttl.expiring_within_secs(),
        );
        w.identities = ids;
        anyhow::ensure!(
            !(w.servers.is_empty() && w.records.is_empty() && w.kube.registrations.is_empty()),
            "nothing to examine: {}",
            w.unavailable.join("; ")
        );
        Ok(w)
    }

    async fn fetch_nats(&mut self, ctx: &ReportContext, sys: &SysClient) {
        match servers::fetch(sys).await {
            Ok(s) if !s.is_empty() => self.servers = s,
            Ok(_) => {
                self.unavailable.push(super::no_answer(sys).await);
                return;
            }
            Err(e) => {
                self.unavailable.push(format!("VARZ: {e:#}"));
                return;
            }
        }
        self.own_user = sys.whoami().await.ok().map(|u| u.user);
        match conns::fetch(sys).await {
            Ok((rows, errors)) => {
                self.conns = rows;
                self.unavailable.extend(errors.into_iter().map(|e| format!("CONNZ: {e}")));
            }
            Err(e) => self.unavailable.push(format!("CONNZ: {e:#}")),
        }
        // Account ids known from connections and records are looked up even
        // when no CLAIMS.LIST names them (an expired account is in none).
        let known: std::collections::BTreeSet<String> = self
            .conns
            .iter()
            .map(|c| c.info.account.to_string())
            .chain(self.records.iter().map(|r| r.status.account_public_key.clone()))
            .collect();
        match accounts::fetch_with(sys, &known).await {
            Ok((rows, errors)) => {
                self.accounts = rows;
                self.unavailable.extend(errors.into_iter().map(|e| format!("accounts: {e}")));
            }
            Err(e) => self.unavailable.push(format!("accounts: {e:#}")),
        }
        crate::app::derive::name_conns(&mut self.conns, &self.accounts);
        self.nats_extra = DoctorNats::fetch(&ctx.nats.url, Some(sys)).await;
        self.permissions = permissions::sets_from_conns(&ctx.naming, &self.conns, &self.accounts);
    }

    /// The doctor's snapshot of this world.
    pub fn facts(&self, ctx: &ReportContext) -> Facts {
        let mut policy = ctx.policy.clone();
        policy.admin_users.extend(self.own_user.clone());
        let sources = Sources {
            servers: &self.servers,
            conns: &self.conns,
            accounts: &self.accounts,
            permissions: &self.permissions,
            identities: &self.identities,
            records: &self.records,
            registrations: self.kube.registrations.clone(),
            authz: self.authz.as_ref(),
            entries: &self.entries,
            agents: &self.agents,
            violations: vec![],
            nats: Some(&self.nats_extra),
            creds_secrets: &self.kube.creds_secrets,
        };
        let mut f = doctor_facts::build(sources, &ctx.naming, policy, self.now);
        f.unavailable.extend(self.unavailable.iter().cloned());
        f.unavailable.push("violations: seen live only (the console's :doctor counts them)".into());
        f
    }

    /// The Expiry view's rows of this world.
    pub fn expiry(&self, ctx: &ReportContext) -> Vec<ExpiryRow> {
        let spire = expiry::SpireFacts { entries: &self.entries, agents: &self.agents };
        let th = expiry::Thresholds::from(&ctx.policy);
        expiry::build(&ctx.naming, &self.identities, &self.accounts, spire, &self.servers, self.now, th)
    }
}
