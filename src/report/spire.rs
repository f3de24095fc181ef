//! `warden report spire`: entries and agents through the spire-server CLI,
//! ClusterSPIFFEIDs from the API; each part reported even if another fails.

use std::io::Write;

use anyhow::{Result, anyhow, bail};
use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;

use super::{Output, write_json, write_table};
use crate::app::kube_worker::spire_pod;
use crate::app::spire_objects::{SpiffeIdRow, StaticEntryRow};
use crate::app::spire_views::{AgentRow, EntryRow};
use crate::app::table::{Clock, TableRow};
use warden_core::config::file::KubeSection;
use warden_core::kube::client::{self, KubeSettings};
use warden_core::kube::errors::describe;
use warden_core::kube::resources::Watched;
use warden_core::spire::exec;

/// One record of the JSON output: what it is (`entry`, `clusterspiffeid`,
/// `clusterstaticentry`, `agent`: the tables' words) and its fields; the
/// report is an array of these, like every other report.
#[derive(Serialize)]
struct Record<'a, T: Serialize> {
    kind: &'static str,
    #[serde(flatten)]
    row: &'a T,
}

fn records(r: &SpireReport) -> Vec<serde_json::Value> {
    fn all<'a, T: Serialize>(kind: &'static str, rows: &'a [T]) -> impl Iterator<Item = serde_json::Value> + 'a {
        rows.iter().map(move |row| serde_json::to_value(Record { kind, row }).unwrap_or_default())
    }
    all("entry", &r.entries)
        .chain(all("clusterspiffeid", &r.cluster_spiffe_ids))
        .chain(all("clusterstaticentry", &r.cluster_static_entries))
        .chain(all("agent", &r.agents))
        .collect()
}

struct SpireReport {
    entries: Vec<EntryRow>,
    cluster_spiffe_ids: Vec<SpiffeIdRow>,
    cluster_static_entries: Vec<StaticEntryRow>,
    agents: Vec<AgentRow>,
    errors: Vec<String>,
}

pub async fn run(kube: &KubeSettings, section: &KubeSection, output: Output, out: &mut impl Write) -> Result<()> {
    let conn = client::connect(kube).await?.map_err(|no| anyhow!("{}", no.0))?;
    let pod = spire_pod(section);
    let mut errors = Vec::new();
    let entries = match exec::entries(&conn.client, &pod).await {
        Ok(e) => e.into_iter().map(EntryRow::new).collect(),
        Err(e) => {
            errors.push(format!("entries: {e:#}"));
            vec![]
        }
    };
    let agents = match exec::agents(&conn.client, &pod).await {
        Ok(a) => a.into_iter().map(AgentRow::new).collect(),
        Err(e) => {
            errors.push(format!("agents: {e:#}"));
            vec![]
        }
    };
    let api: Api<DynamicObject> = Api::all_with(conn.client.clone(), &Watched::ClusterSpiffeIds.api_resource());
    let cluster_spiffe_ids = match api.list(&ListParams::default()).await {
        Ok(l) => l.items.iter().map(|o| SpiffeIdRow::from_object(o, &section.spire)).collect(),
        Err(e) => {
            errors.push(describe(&e, "list", &Watched::ClusterSpiffeIds.resource_name()));
            vec![]
        }
    };
    let api: Api<DynamicObject> = Api::all_with(conn.client.clone(), &Watched::ClusterStaticEntries.api_resource());
    let cluster_static_entries = match api.list(&ListParams::default()).await {
        Ok(l) => l.items.iter().map(|o| StaticEntryRow::from_object(o, &section.spire)).collect(),
        Err(e) => {
            errors.push(describe(&e, "list", &Watched::ClusterStaticEntries.resource_name()));
            vec![]
        }
    };
    let report = SpireReport { entries, cluster_spiffe_ids, cluster_static_entries, agents, errors };
    match output {
        Output::Json => write_json(out, &records(&report))?,
        Output::Table => {
            let clock = Clock::system();
            writeln!(out, "ENTRIES ({})", report.entries.len())?;
            write_table(out, &EntryRow::columns(), &report.entries, &clock)?;
            writeln!(out, "\nCLUSTERSPIFFEIDS ({})", report.cluster_spiffe_ids.len())?;
            write_table(out, &SpiffeIdRow::columns(), &report.cluster_spiffe_ids, &clock)?;
            writeln!(out, "\nCLUSTERSTATICENTRIES ({})", report.cluster_static_entries.len())?;
            write_table(out, &StaticEntryRow::columns(), &report.cluster_static_entries, &clock)?;
            writeln!(out, "\nAGENTS ({})", report.agents.len())?;
            write_table(out, &AgentRow::columns(), &report.agents, &clock)?;
        }
    }
    if !report.errors.is_empty() {
        bail!("partial report: {}", report.errors.join("; "));
    }
    Ok(())
}
