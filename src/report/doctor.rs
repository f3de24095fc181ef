//! `warden doctor`: every finding of one snapshot, worst first.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::world::World;
use super::{Output, ReportContext, write_json};
use crate::app::format::printable;
use warden_core::doctor::sites::{Site, compare};
use warden_core::doctor::{self, Finding};

#[derive(Serialize)]
struct DoctorReport<'a> {
    findings: &'a [Finding],
    /// Sources that could not be read: their findings are missing.
    unavailable: &'a [String],
}

/// One site (`sites` empty), or every site: each examined on its own
/// (findings carry the site), then compared with the others.
pub async fn run(
    ctx: &ReportContext,
    sites: &[(String, ReportContext)],
    output: Output,
    out: &mut impl Write,
) -> Result<()> {
    let (findings, unavailable) = if sites.is_empty() {
        let world = World::fetch(ctx).await?;
        let facts = world.facts(ctx);
        (doctor::diagnose(&facts), facts.unavailable)
    } else {
        examine_sites(sites).await?
    };
    match output {
        Output::Json => write_json(out, &DoctorReport { findings: &findings, unavailable: &unavailable }),
        Output::Table => write_findings(out, &findings, &unavailable),
    }
}

async fn examine_sites(sites: &[(String, ReportContext)]) -> Result<(Vec<Finding>, Vec<String>)> {
    let worlds = futures::future::join_all(sites.iter().map(|(_, c)| World::fetch(c))).await;
    let mut facts = Vec::new();
    let mut unavailable = Vec::new();
    for ((name, c), w) in sites.iter().zip(worlds) {
        match w {
            Ok(w) => facts.push((name.as_str(), w.facts(c))),
            Err(e) => unavailable.push(format!("site {name}: {e:#}")),
        }
    }
    anyhow::ensure!(!facts.is_empty(), "no site could be examined: {}", unavailable.join("; "));
    let mut findings = Vec::new();
    for (name, f) in &facts {
        findings.extend(doctor::diagnose(f).into_iter().map(|mut x| {
            x.site = Some(name.to_string());
            x
        }));
        unavailable.extend(f.unavailable.iter().map(|u| format!("site {name}: {u}")));
    }
    let mut findings = merge_alike(findings);
    let sites: Vec<Site<'_>> = facts.iter().map(|(name, f)| Site { name, facts: f }).collect();
    findings.extend(compare(&sites));
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(b.code)).then(a.site.cmp(&b.site)));
    unavailable.dedup();
    Ok((findings, unavailable))
}

/// A finding several sites see alike (one supercluster seen from each) is
/// said once, naming every site that sees it.
fn merge_alike(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        let same = |o: &&mut Finding| {
            o.code == f.code && o.summary == f.summary && o.objects == f.objects && o.evidence == f.evidence
        };
        match out.iter_mut().find(same) {
            Some(o) => {
                if let (Some(sites), Some(site)) = (&mut o.site, &f.site) {
                    sites.push_str(", ");
                    sites.push_str(site);
                }
            }
            None => out.push(f),
        }
    }
    out
}

/// One block per finding (values can be long: a table would cut them).
pub fn write_findings(out: &mut impl Write, findings: &[Finding], unavailable: &[String]) -> Result<()> {
    if findings.is_empty() {
        writeln!(out, "no findings")?;
    }
    for f in findings {
        let site = f.site.as_ref().map(|s| format!("[{}] ", printable(s))).unwrap_or_default();
        writeln!(out, "{:<8} {site}{}  {}", f.severity.as_str().to_uppercase(), f.code, printable(&f.summary))?;
        writeln!(out, "         objects:  {}", printable(&f.objects.join(", ")))?;
        writeln!(out, "         evidence: {}", printable(&f.evidence))?;
        writeln!(out, "         fix:      {}", f.remediation)?;
    }
    for u in unavailable {
        writeln!(out, "not examined: {}", printable(u))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::doctor::codes;

    #[test]
    fn a_finding_every_site_sees_alike_is_said_once_naming_the_sites() {
        let at = |site: &str, evidence: &str| Finding {
            site: Some(site.into()),
            ..Finding::new(&codes::ACCOUNT_JWT_DRIFT, "account APP JWT differs", vec!["account APP".into()], evidence)
        };
        let merged = merge_alike(vec![
            at("east", "older JWT served by nats-south"),
            at("west", "older JWT served by nats-south"),
            at("south", "older JWT served by nats-south"),
            at("west", "something else"),
        ]);
        let sites: Vec<_> = merged.iter().map(|f| f.site.clone().unwrap()).collect();
        assert_eq!(sites, ["east, west, south", "west"]);
    }
}
