//! `warden doctor`: every finding of one snapshot, worst first.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::world::World;
use super::{Output, ReportContext, write_json};
use crate::app::format::printable;
use warden_core::doctor::{self, Finding};

#[derive(Serialize)]
struct DoctorReport<'a> {
    findings: &'a [Finding],
    /// Sources that could not be read: their findings are missing.
    unavailable: &'a [String],
}

pub async fn run(ctx: &ReportContext, output: Output, out: &mut impl Write) -> Result<()> {
    let world = World::fetch(ctx).await?;
    let facts = world.facts(ctx);
    let findings = doctor::diagnose(&facts);
    match output {
        Output::Json => write_json(out, &DoctorReport { findings: &findings, unavailable: &facts.unavailable }),
        Output::Table => write_findings(out, &findings, &facts.unavailable),
    }
}

/// One block per finding (values can be long: a table would cut them).
pub fn write_findings(out: &mut impl Write, findings: &[Finding], unavailable: &[String]) -> Result<()> {
    if findings.is_empty() {
        writeln!(out, "no findings")?;
    }
    for f in findings {
        writeln!(out, "{:<8} {}  {}", f.severity.as_str().to_uppercase(), f.code, printable(&f.summary))?;
        writeln!(out, "         objects:  {}", printable(&f.objects.join(", ")))?;
        writeln!(out, "         evidence: {}", printable(&f.evidence))?;
        writeln!(out, "         fix:      {}", f.remediation)?;
    }
    for u in unavailable {
        writeln!(out, "not examined: {}", printable(u))?;
    }
    Ok(())
}
