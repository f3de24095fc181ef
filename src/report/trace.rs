//! `warden trace NAMESPACE/WORKLOAD`: one identity's chain across
//! Kubernetes, SPIRE and NATS, and the first broken link.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::world::World;
use super::{Output, ReportContext, write_json};
use warden_core::doctor::trace::{LinkState, trace};

/// Prints the trace; the exit status says whether a link is broken.
pub async fn run(ctx: &ReportContext, target: &str, output: Output, out: &mut impl Write) -> Result<bool> {
    let (ns, wl) = target.split_once('/').ok_or_else(|| anyhow!("expected NAMESPACE/WORKLOAD, got {target:?}"))?;
    let world = World::fetch(ctx).await?;
    let facts = world.facts(ctx);
    let t = trace(&facts, ns, wl);
    match output {
        Output::Json => write_json(out, &t)?,
        Output::Table => write!(out, "{}", crate::app::trace_text::text(&t))?,
    }
    Ok(t.links.iter().all(|l| l.state != LinkState::Broken))
}
