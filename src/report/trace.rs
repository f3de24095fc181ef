//! `warden trace NAMESPACE/WORKLOAD`: one identity's chain across
//! Kubernetes, SPIRE and NATS, and the first broken link.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::world::World;
use super::{Output, ReportContext, write_json};
use warden_core::doctor::facts::PodFacts;
use warden_core::doctor::trace::{LinkState, trace};

/// Prints the trace; the exit status says whether a link is broken.
pub async fn run(ctx: &ReportContext, target: &str, output: Output, out: &mut impl Write) -> Result<bool> {
    let (ns, wl) = target.split_once('/').ok_or_else(|| anyhow!("expected NAMESPACE/WORKLOAD, got {target:?}"))?;
    let world = World::fetch(ctx).await?;
    let mut facts = world.facts(ctx);
    match pods_of(ctx, ns, wl).await {
        Ok(pods) => facts.pods = pods,
        Err(e) => facts.unavailable.push(format!("pods: {}", warden_core::error_chain::chain(&e))),
    }
    let t = trace(&facts, ns, wl);
    match output {
        Output::Json => write_json(out, &t)?,
        Output::Table => write!(out, "{}", crate::app::trace_text::text(&t))?,
    }
    Ok(t.links.iter().all(|l| l.state != LinkState::Broken))
}

/// The workload's pods (`[kubernetes] workload_label` = WORKLOAD in the
/// namespace), as the ClusterSPIFFEID's pod selector picks them; `None`
/// without Kubernetes.
async fn pods_of(ctx: &ReportContext, ns: &str, wl: &str) -> Result<Option<Vec<PodFacts>>> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    if !ctx.kube_section.enabled {
        return Ok(None);
    }
    let client = match warden_core::kube::client::connect(&ctx.kube).await? {
        Ok(c) => c.client,
        Err(_) => return Ok(None),
    };
    let selector = format!("{}={wl}", ctx.kube_section.workload_label);
    let pods = Api::<Pod>::namespaced(client, ns).list(&ListParams::default().labels(&selector)).await?;
    Ok(Some(
        pods.items
            .into_iter()
            .map(|p| PodFacts {
                name: p.metadata.name.unwrap_or_default(),
                phase: p.status.and_then(|s| s.phase).unwrap_or_default(),
                node: p.spec.and_then(|s| s.node_name).unwrap_or_default(),
            })
            .collect(),
    ))
}
