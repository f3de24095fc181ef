//! Non-interactive reports (`warden report ...`) for scripts and one-shot SSH
//! use. They fetch through the same code as the console's views and print
//! the same columns (table) or the rows themselves (JSON).

use std::io::Write;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::app::table::{Clock, Column};
use crate::app::{accounts, conns, expiry, format, identities, servers};
use warden_core::config::NatsSettings;
use warden_core::config::file::KubeSection;
use warden_core::kube::client::KubeSettings;

pub mod check;
pub mod doctor;
pub mod spire;
pub mod trace;
pub mod violations;
pub mod world;
use warden_core::nats::connect;
use warden_core::nats::sys::SysClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Servers,
    Conns,
    Accounts,
    Identities,
    Expiry,
    /// SPIRE entries, ClusterSPIFFEIDs and agents (Kubernetes + pods/exec)
    Spire,
    /// Authorization violations seen live for a while (--duration) or
    /// followed (--follow): system events, --server-log files, NATS pod logs
    Violations,
    /// Every identity's rules with their source: user JWTs of live
    /// connections, and the SPIFFE-mode authorization ConfigMap
    Permissions,
}

/// Everything a report may need to connect to.
#[derive(Clone)]
pub struct ReportContext {
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub kube_section: KubeSection,
    /// Naming templates (`[naming]`).
    pub naming: warden_core::identity::naming::Naming,
    /// TTLs and the "Expiring" threshold (`[identity]`).
    pub ttl: warden_core::identity::ttl::TtlPolicy,
    /// `[doctor]` and `[policy]`: thresholds and exceptions of the doctor and checks.
    pub policy: warden_core::doctor::facts::Policy,
}

/// Writes rows as an aligned table with the console's column titles.
pub fn write_table<R>(out: &mut impl Write, columns: &[Column<R>], rows: &[R], clock: &Clock) -> Result<()> {
    // A column that only some setups fill (SITE without `[[sites]]`) is left
    // out when no row has a value, so the table starts as it always did.
    let shown = |c: &&Column<R>| {
        !crate::app::table::OMITTED_WHEN_EMPTY.contains(&c.title) || rows.iter().any(|r| !(c.cell)(r, clock).is_empty())
    };
    let columns: Vec<&Column<R>> = columns.iter().filter(shown).collect();
    // Cells hold wire data: shown, never interpreted by the terminal.
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| format::printable(&(c.cell)(r, clock)).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| format::display_width(c.title)).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(format::display_width(c));
        }
    }
    let line = |items: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, (item, w)) in items.iter().zip(&widths).enumerate() {
            s.push_str(item);
            if i + 1 < items.len() {
                s.push_str(&" ".repeat(w.saturating_sub(format::display_width(item)) + 2));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(columns.iter().map(|c| c.title).collect()))?;
    for row in &cells {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

pub fn write_json<T: Serialize>(out: &mut impl Write, rows: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, rows)?;
    writeln!(out)?;
    Ok(())
}

/// Connects, fetches one report, prints it. Errors say plainly why nothing
/// could be shown (e.g. not the system account).
pub async fn run(ctx: &ReportContext, kind: Kind, output: Output, out: &mut impl Write) -> Result<()> {
    if kind == Kind::Spire {
        return spire::run(&ctx.kube, &ctx.kube_section, output, out).await;
    }
    if kind == Kind::Violations {
        let opts = violations::Options::new(&violations::ViolationsFlags::default(), vec![])?;
        return violations::run(ctx, opts, output, out).await;
    }
    if kind == Kind::Permissions {
        return permissions_report(ctx, output, out).await;
    }
    let client = connect::connect(&ctx.nats, None).await?;
    let sys = SysClient::new(client);
    let clock = Clock::system();
    match kind {
        Kind::Servers => {
            let rows = servers::fetch(&sys).await?;
            if rows.is_empty() {
                bail!("{}", no_answer(&sys).await);
            }
            match output {
                Output::Table => write_table(out, &servers::columns(), &rows, &clock)?,
                Output::Json => write_json(out, &rows)?,
            }
        }
        Kind::Spire | Kind::Violations | Kind::Permissions => unreachable!("handled above"),
        Kind::Conns => {
            let (rows, errors) = conns::fetch(&sys).await?;
            if rows.is_empty() && errors.is_empty() && servers::fetch(&sys).await?.is_empty() {
                bail!("{}", no_answer(&sys).await);
            }
            match output {
                Output::Table => write_table(out, &conns::open_columns(), &rows, &clock)?,
                Output::Json => write_json(out, &rows)?,
            }
            for e in errors {
                eprintln!("warning: {e}");
            }
        }
        Kind::Accounts | Kind::Identities | Kind::Expiry => jwt_reports(ctx, &sys, kind, output, out, &clock).await?,
    }
    Ok(())
}

/// Rules from both places: the user JWTs of live connections (NATS) and the
/// authorization ConfigMap (Kubernetes). Either source may be missing (a
/// warning says why); with neither it is an error.
async fn permissions_report(ctx: &ReportContext, output: Output, out: &mut impl Write) -> Result<()> {
    use crate::app::permissions;
    let clock = Clock::system();
    let mut problems = Vec::new();
    let from_conns = match connect::connect(&ctx.nats, None).await {
        Ok(client) => {
            let sys = SysClient::new(client);
            match conns::fetch(&sys).await {
                Ok((rows, errors)) => {
                    for e in errors {
                        eprintln!("warning: {e}");
                    }
                    if rows.is_empty() && servers::fetch(&sys).await.map(|s| s.is_empty()).unwrap_or(true) {
                        problems.push(no_answer(&sys).await);
                        None
                    } else {
                        // The accounts' JWTs: scoped keys, defaults, mappings (none in SPIFFE mode).
                        let accs = accounts::fetch(&sys).await.map(|(a, _)| a).unwrap_or_default();
                        Some(permissions::sets_from_conns(&ctx.naming, &rows, &accs))
                    }
                }
                Err(e) => {
                    problems.push(format!("connections: {e:#}"));
                    None
                }
            }
        }
        Err(e) => {
            problems.push(format!("NATS: {e:#}"));
            None
        }
    };
    let from_authz = match authz_document(ctx).await {
        Ok(Some(doc)) => Some(permissions::sets_from_authz(&ctx.naming, &doc)),
        Ok(None) => None,
        Err(e) => {
            problems.push(format!("authorization ConfigMap: {e:#}"));
            None
        }
    };
    if from_conns.is_none() && from_authz.is_none() {
        bail!("no permissions to show: {}", problems.join("; "));
    }
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let sets = permissions::merge_sets(from_conns.unwrap_or_default(), from_authz.unwrap_or_default());
    let rows = permissions::rows(&sets);
    match output {
        Output::Table => {
            write_table(out, &<permissions::PermRow as crate::app::table::TableRow>::columns(), &rows, &clock)
        }
        Output::Json => write_json(out, &rows),
    }
}

/// The SPIFFE-mode document from `[kubernetes] authz_configmap` /
/// `authz_key`; `None` when Kubernetes is off, or the ConfigMap or key is absent.
async fn authz_document(ctx: &ReportContext) -> Result<Option<warden_core::identity::spiffe_authz::AuthzDocument>> {
    if !ctx.kube_section.enabled {
        return Ok(None);
    }
    let conn = match warden_core::kube::client::connect(&ctx.kube).await? {
        Ok(c) => c,
        Err(_) => return Ok(None),
    };
    let (ns, name) = warden_core::identity::spiffe_actions::configmap_ref(&ctx.kube_section.authz_configmap)?;
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(conn.client, &ns);
    let Some(cm) = api.get_opt(&name).await.map_err(|e| anyhow::anyhow!("{ns}/{name}: {e}"))? else {
        return Ok(None);
    };
    let Some(text) = cm.data.as_ref().and_then(|d| d.get(&ctx.kube_section.authz_key)) else { return Ok(None) };
    Ok(Some(warden_core::identity::spiffe_authz::AuthzDocument::parse(text)?))
}

async fn no_answer(sys: &SysClient) -> String {
    match sys.whoami().await {
        Ok(u) => format!("connected as account {}; server views need the system account", u.account),
        Err(_) => "no server answered $SYS.REQ.SERVER.PING: server views need system account credentials".into(),
    }
}

/// The JWT-mode reports: accounts, identities (live users), expiry.
async fn jwt_reports(
    ctx: &ReportContext,
    sys: &SysClient,
    kind: Kind,
    output: Output,
    out: &mut impl Write,
    clock: &Clock,
) -> Result<()> {
    let naming = &ctx.naming;
    let (accs, errors) = accounts::fetch(sys).await?;
    if accs.is_empty() && errors.is_empty() && servers::fetch(sys).await?.is_empty() {
        bail!("{}", no_answer(sys).await);
    }
    for e in &errors {
        eprintln!("warning: {e}");
    }
    if kind == Kind::Accounts {
        return match output {
            Output::Table => write_table(out, &accounts::columns(), &accs, clock),
            Output::Json => write_json(out, &accs),
        };
    }
    let (conns, errors) = conns::fetch(sys).await?;
    for e in errors {
        eprintln!("warning: {e}");
    }
    let (records, facts, mut missing) = kube_identity_facts(ctx, false).await;
    let ids =
        identities::build_with(naming, &conns, &records, &accs, &facts, clock.now_unix, ctx.ttl.expiring_within_secs());
    if kind == Kind::Identities {
        match output {
            Output::Table => write_table(out, &identities::columns(), &ids, clock)?,
            Output::Json => write_json(out, &ids)?,
        }
        return partial(&missing);
    }
    // SPIFFE identities: their SPIRE entries' and the agents' SVIDs too.
    let spiffe = ids.iter().any(|i| i.user_key.is_empty() && warden_core::identity::join::is_spiffe_id(&i.user));
    let (entries, agents) = if spiffe { spire_facts(ctx, &mut missing).await } else { (vec![], vec![]) };
    let spire = expiry::SpireFacts { entries: &entries, agents: &agents };
    let servers = servers::fetch(sys).await.unwrap_or_default();
    let th = expiry::Thresholds::from(&ctx.policy);
    let rows = expiry::build(naming, &ids, &accs, spire, &servers, clock.now_unix, th);
    match output {
        Output::Table => write_table(out, &expiry::columns(), &rows, clock)?,
        Output::Json => write_json(out, &rows)?,
    }
    partial(&missing)
}

/// A report printed what it had, but a source it needs could not be read
/// (records Kubernetes keeps, such as Pending, Denied and Revoked ones,
/// are then missing): it says which, and exits non-zero.
fn partial(missing: &[String]) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    bail!("partial report: {}", missing.join("; "))
}

/// SPIRE entries and agents through `spire-server` in its pod, when
/// Kubernetes is configured; what fails is a warning on stderr.
async fn spire_facts(
    ctx: &ReportContext,
    missing: &mut Vec<String>,
) -> (Vec<warden_core::spire::model::Entry>, Vec<warden_core::spire::model::Agent>) {
    use warden_core::error_chain::chain;
    use warden_core::spire::exec;
    if !ctx.kube_section.enabled {
        return (vec![], vec![]);
    }
    let client = match warden_core::kube::client::connect(&ctx.kube).await {
        Ok(Ok(c)) => c.client,
        Ok(Err(_)) => return (vec![], vec![]),
        Err(e) => {
            missing.push(format!("Kubernetes (SPIRE): {}", chain(&e)));
            return (vec![], vec![]);
        }
    };
    let pod = crate::app::kube_worker::spire_pod(&ctx.kube_section);
    let entries = exec::entries(&client, &pod).await.unwrap_or_else(|e| {
        missing.push(format!("SPIRE entries: {}", chain(&e)));
        vec![]
    });
    let agents = exec::agents(&client, &pod).await.unwrap_or_else(|e| {
        missing.push(format!("SPIRE agents: {}", chain(&e)));
        vec![]
    });
    (entries, agents)
}

/// NatsIdentity records and SPIRE registrations, when Kubernetes is configured
/// (`--kubeconfig`, the config file, KUBECONFIG, in-cluster). What cannot be
/// read is returned (the report then exits non-zero); the NATS side is
/// reported anyway.
/// `with_creds`: also list the creds Secrets (only `warden doctor` does,
/// in JWT mode: the other reports need no Secret).
async fn kube_identity_facts(
    ctx: &ReportContext,
    with_creds: bool,
) -> (Vec<warden_core::identity::record::IdentityRecord>, warden_core::identity::kube_facts::KubeFacts, Vec<String>) {
    use kube::api::{Api, DynamicObject, ListParams};

    use warden_core::kube::resources::Watched;
    let mut facts = warden_core::identity::kube_facts::KubeFacts::default();
    if !ctx.kube_section.enabled {
        return (vec![], facts, vec![]);
    }
    let client = match warden_core::kube::client::connect(&ctx.kube).await {
        Ok(Ok(c)) => c.client,
        Ok(Err(_)) => return (vec![], facts, vec![]), // no Kubernetes configured: NATS only
        Err(e) => {
            let why = format!("Kubernetes: {} (NatsIdentity records not read)", warden_core::error_chain::chain(&e));
            return (vec![], facts, vec![why]);
        }
    };
    let missing = std::sync::Mutex::new(Vec::new());
    let list = |what: Watched, lp: ListParams| {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &what.api_resource());
        let missing = &missing;
        async move {
            match api.list(&lp).await {
                Ok(l) => l.items,
                Err(e) => {
                    let why = warden_core::kube::errors::describe(&e, "list", &what.resource_name());
                    missing.lock().unwrap_or_else(|p| p.into_inner()).push(why);
                    vec![]
                }
            }
        }
    };
    let records = list(Watched::NatsIdentities, ListParams::default())
        .await
        .iter()
        .map(warden_core::identity::record::IdentityRecord::from_object)
        .collect();
    facts.registrations = list(Watched::ClusterSpiffeIds, ListParams::default())
        .await
        .iter()
        .filter_map(|o| {
            let k = &ctx.kube_section;
            warden_core::identity::kube_facts::SpireRegistration::from_object(o, &k.workload_label, &k.spire)
        })
        .collect();
    let mut missing = missing.into_inner().unwrap_or_else(|p| p.into_inner());
    if with_creds && !ctx.policy.spiffe_mode {
        match creds_secrets(&client, &ctx.kube_section.creds_label).await {
            Ok(s) => facts.creds_secrets = s,
            Err(why) => missing.push(why),
        }
    }
    (records, facts, missing)
}

/// The creds Secrets, listed once by the creds label (its key: any value),
/// each reduced to the id of the user JWT it holds. A refusal (warden's
/// role has no `list secrets`: see `deploy/rbac/warden-creds-check.yaml`)
/// is a source not read, in words.
async fn creds_secrets(
    client: &kube::Client,
    label: &str,
) -> Result<Vec<warden_core::identity::creds_secret::CredsSecretFacts>, String> {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, ListParams};
    let key = label.split('=').next().unwrap_or(label);
    let api: Api<Secret> = Api::all(client.clone());
    match api.list(&ListParams::default().labels(key)).await {
        Ok(l) => Ok(l.items.into_iter().map(|s| warden_core::identity::creds_secret::facts_of(s, key)).collect()),
        Err(e) => Err(format!("creds Secrets: {}", warden_core::kube::errors::describe(&e, "list", "secrets"))),
    }
}
