//! `warden check doctor|expiry|connection`: monitoring checks in the style
//! of `nats server check` (natscli `cli/server_check_command.go`): one state,
//! a one-line summary with performance data, in Nagios plugin form (exit 0
//! OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), JSON, or Prometheus text
//! exposition format.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::ReportContext;
use super::world::World;
use crate::app::format::printable;
use warden_core::doctor::{self, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckKind {
    /// Every doctor finding: WARNING or CRITICAL as the worst finding is
    Doctor,
    /// The soonest expiry among JWTs, creds, SVIDs and server certificates
    Expiry,
    /// Connecting to NATS and a round trip
    Connection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Nagios,
    Json,
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// The process exit code of a Nagios plugin.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// One measured value: Nagios performance data and a Prometheus sample.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    pub help: &'static str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Seconds, shown with an `s` unit in Nagios perfdata.
    #[serde(skip)]
    pub seconds: bool,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub status: Status,
    pub status_code: u8,
    pub summary: String,
    /// One line per thing that is not OK (untrusted values shown escaped).
    pub details: Vec<String>,
    pub metrics: Vec<Metric>,
}

/// Thresholds from the command line (`--warn`, `--crit`), else the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct Thresholds {
    pub warn: Option<Duration>,
    pub crit: Option<Duration>,
}

/// UNKNOWN: the check could not run at all (bad config, ...).
pub fn unknown(kind: CheckKind, why: String) -> CheckResult {
    result(name_of(kind), Status::Unknown, why, vec![], vec![])
}

fn name_of(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Doctor => "doctor",
        CheckKind::Expiry => "expiry",
        CheckKind::Connection => "connection",
    }
}

pub async fn run(ctx: &ReportContext, kind: CheckKind, t: Thresholds) -> CheckResult {
    let r = match kind {
        CheckKind::Doctor => doctor_check(ctx, t).await,
        CheckKind::Expiry => expiry_check(ctx, t).await,
        CheckKind::Connection => Ok(connection_check(ctx, t).await),
    };
    r.unwrap_or_else(|e| result(name_of(kind), Status::Unknown, format!("{e:#}"), vec![], vec![]))
}

fn result(
    check: &'static str,
    status: Status,
    summary: String,
    details: Vec<String>,
    metrics: Vec<Metric>,
) -> CheckResult {
    CheckResult { check, status, status_code: status.code(), summary, details, metrics }
}

fn policy(ctx: &ReportContext, t: Thresholds) -> ReportContext {
    let mut c = ctx.clone();
    if let Some(w) = t.warn {
        c.policy.warn_secs = w.as_secs() as i64;
    }
    if let Some(w) = t.crit {
        c.policy.critical_secs = w.as_secs() as i64;
    }
    c
}

async fn doctor_check(ctx: &ReportContext, t: Thresholds) -> Result<CheckResult> {
    let ctx = policy(ctx, t);
    let world = World::fetch(&ctx).await?;
    let findings = doctor::diagnose(&world.facts(&ctx));
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (crit, warn, info) = (count(Severity::Critical), count(Severity::Warning), count(Severity::Info));
    let status = match doctor::worst(&findings) {
        Some(Severity::Critical) => Status::Critical,
        Some(Severity::Warning) => Status::Warning,
        _ => Status::Ok,
    };
    let mut metrics = vec![];
    for (sev, n) in [("critical", crit), ("warning", warn), ("info", info)] {
        metrics.push(metric("warden_doctor_findings", "Doctor findings by severity.", &[("severity", sev)], n as f64));
    }
    let mut by_code = std::collections::BTreeMap::<(&str, &str), usize>::new();
    for f in &findings {
        *by_code.entry((f.code, f.severity.as_str())).or_default() += 1;
    }
    for ((code, sev), n) in by_code {
        metrics.push(metric(
            "warden_doctor_finding",
            "Doctor findings by code.",
            &[("code", code), ("severity", sev)],
            n as f64,
        ));
    }
    let details = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| format!("{} {}: {}", f.severity.as_str(), f.code, printable(&f.summary)))
        .collect();
    let summary = format!("{crit} critical, {warn} warning, {info} info finding(s)");
    Ok(result("doctor", status, summary, details, metrics))
}

async fn expiry_check(ctx: &ReportContext, t: Thresholds) -> Result<CheckResult> {
    let ctx = policy(ctx, t);
    let (warn, crit) = (ctx.policy.warn_secs, ctx.policy.critical_secs);
    let world = World::fetch(&ctx).await?;
    let mut items: Vec<(String, String, i64)> =
        world.expiry(&ctx).into_iter().filter_map(|r| r.expires.map(|e| (r.kind.to_string(), r.name, e))).collect();
    // The radar's rows: user, account and operator JWTs, SPIRE entries and
    // agent SVIDs, server certificates.
    items.sort_by_key(|(_, _, e)| *e);
    let now = world.now;
    let state = |left: i64| {
        if left < crit {
            Status::Critical
        } else if left < warn {
            Status::Warning
        } else {
            Status::Ok
        }
    };
    let status = items.first().map(|(_, _, e)| state(e - now)).unwrap_or(Status::Ok);
    let details = items
        .iter()
        .filter(|(_, _, e)| state(e - now) != Status::Ok)
        .map(|(k, n, e)| format!("{k} {} {}", printable(n), doctor::when(now, *e)))
        .collect();
    let mut metrics: Vec<Metric> = items
        .iter()
        .map(|(k, n, e)| {
            metric(
                "warden_expiry_seconds",
                "Seconds until expiry (negative: expired).",
                &[("kind", k), ("name", n)],
                (e - now) as f64,
            )
        })
        .collect();
    let soonest = items.first().map(|(_, _, e)| (e - now) as f64);
    let summary = match items.first() {
        Some((k, n, e)) => format!(
            "{} expiring item(s); soonest {k} {} {}",
            items.iter().filter(|(_, _, x)| x - now < warn).count(),
            printable(n),
            doctor::when(now, *e)
        ),
        None => "nothing with an expiry".into(),
    };
    if let Some(s) = soonest {
        let mut m = metric("warden_expiry_soonest_seconds", "Seconds until the soonest expiry.", &[], s);
        (m.seconds, m.warn, m.crit) = (true, Some(warn as f64), Some(crit as f64));
        metrics.insert(0, m);
    }
    Ok(result("expiry", status, summary, details, metrics))
}

/// natscli's defaults: connect warning 500 ms, critical 1 s.
async fn connection_check(ctx: &ReportContext, t: Thresholds) -> CheckResult {
    let warn = t.warn.unwrap_or(Duration::from_millis(500));
    let crit = t.crit.unwrap_or(Duration::from_secs(1));
    let start = Instant::now();
    let client = match warden_core::nats::connect::connect(&ctx.nats, None).await {
        Ok(c) => c,
        Err(e) => return result("connection", Status::Critical, format!("connecting failed: {e:#}"), vec![], vec![]),
    };
    let connect = start.elapsed();
    let t0 = Instant::now();
    let rtt = match client.flush().await {
        Ok(()) => t0.elapsed(),
        Err(e) => return result("connection", Status::Critical, format!("round trip failed: {e}"), vec![], vec![]),
    };
    let grade = |d: Duration| {
        if d >= crit {
            Status::Critical
        } else if d >= warn {
            Status::Warning
        } else {
            Status::Ok
        }
    };
    let status = grade(connect).max(grade(rtt));
    let mut metrics = vec![];
    for (name, help, d) in [
        ("warden_connection_connect_seconds", "Time to connect to NATS.", connect),
        ("warden_connection_rtt_seconds", "Round trip to the server (PING/PONG).", rtt),
    ] {
        let mut m = metric(name, help, &[], d.as_secs_f64());
        (m.seconds, m.warn, m.crit) = (true, Some(warn.as_secs_f64()), Some(crit.as_secs_f64()));
        metrics.push(m);
    }
    let server = client.server_info().server_name.clone();
    let summary =
        format!("connected to {} in {:.3}s, rtt {:.3}s", printable(&server), connect.as_secs_f64(), rtt.as_secs_f64());
    result("connection", status, summary, vec![], metrics)
}

fn metric(name: &str, help: &'static str, labels: &[(&str, &str)], value: f64) -> Metric {
    Metric {
        name: name.into(),
        help,
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        value,
        seconds: false,
        warn: None,
        crit: None,
    }
}

pub fn write(out: &mut impl Write, r: &CheckResult, format: CheckFormat) -> Result<()> {
    match format {
        CheckFormat::Json => super::write_json(out, r),
        CheckFormat::Nagios => write_nagios(out, r),
        CheckFormat::Prometheus => write_prometheus(out, r),
    }
}

/// `WARDEN DOCTOR CRITICAL: summary | perfdata`, then one line per detail
/// (Nagios plugin guidelines: the first line is the status, the rest long output).
fn write_nagios(out: &mut impl Write, r: &CheckResult) -> Result<()> {
    let perf: Vec<String> = r
        .metrics
        .iter()
        .filter(|m| m.labels.is_empty() || m.name == "warden_doctor_findings")
        .map(|m| {
            let label = m
                .labels
                .first()
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| m.name.trim_start_matches("warden_").to_string());
            let unit = if m.seconds { "s" } else { "" };
            let th = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
            format!("{}={}{unit};{};{}", label, m.value, th(m.warn), th(m.crit))
        })
        .collect();
    write!(out, "WARDEN {} {}: {}", r.check.to_uppercase(), r.status.word(), printable(&r.summary))?;
    if !perf.is_empty() {
        write!(out, " | {}", perf.join(" "))?;
    }
    writeln!(out)?;
    for d in &r.details {
        writeln!(out, "{d}")?;
    }
    Ok(())
}

/// Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` once per
/// metric name, label values escaped (`\\`, `\"`, `\n`).
fn write_prometheus(out: &mut impl Write, r: &CheckResult) -> Result<()> {
    writeln!(out, "# HELP warden_check_status Check state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")?;
    writeln!(out, "# TYPE warden_check_status gauge")?;
    writeln!(out, "warden_check_status{{check=\"{}\"}} {}", r.check, r.status_code)?;
    let mut last = "";
    for m in &r.metrics {
        if m.name != last {
            writeln!(out, "# HELP {} {}", m.name, m.help)?;
            writeln!(out, "# TYPE {} gauge", m.name)?;
            last = &m.name;
        }
        let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
        if labels.is_empty() {
            writeln!(out, "{} {}", m.name, m.value)?;
        } else {
            writeln!(out, "{}{{{}}} {}", m.name, labels.join(","), m.value)?;
        }
    }
    Ok(())
}

fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => s.push_str(&format!("\\\\x{:02x}", c as u32)),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_labels_are_escaped_and_help_printed_once() {
        let mut r = result("expiry", Status::Warning, "x".into(), vec![], vec![]);
        for n in ["a\"b", "c\\d\ne"] {
            r.metrics.push(metric("warden_expiry_seconds", "h.", &[("name", n)], 5.0));
        }
        let mut out = vec![];
        write(&mut out, &r, CheckFormat::Prometheus).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("# HELP warden_expiry_seconds").count(), 1, "{text}");
        assert!(text.contains(r#"warden_expiry_seconds{name="a\"b"} 5"#), "{text}");
        assert!(text.contains(r#"warden_expiry_seconds{name="c\\d\ne"} 5"#), "{text}");
        assert!(text.contains("warden_check_status{check=\"expiry\"} 1"));
    }

    #[test]
    fn nagios_first_line_has_state_summary_and_perfdata() {
        let mut r = result("connection", Status::Ok, "connected".into(), vec![], vec![]);
        let mut m = metric("warden_connection_connect_seconds", "h.", &[], 0.25);
        (m.seconds, m.warn, m.crit) = (true, Some(0.5), Some(1.0));
        r.metrics.push(m);
        let mut out = vec![];
        write(&mut out, &r, CheckFormat::Nagios).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "WARDEN CONNECTION OK: connected | connection_connect_seconds=0.25s;0.5;1\n"
        );
    }
}
