//! `warden report violations`: the console's feed and pipeline without the
//! terminal. The same sources (system events, `--server-log` files, NATS pod
//! logs), the same batches, the same `update` (attribution refreshed from
//! the connections and accounts it fetched), then either the collected
//! violations at the end of `--duration` or, with `--follow`, one line per
//! violation as it arrives (JSON lines with `-o json`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::sync::mpsc;

use super::{Output, ReportContext, write_json, write_table};
use crate::app::format;
use crate::app::msg::Msg;
use crate::app::state::AppState;
use crate::app::table::Clock;
use crate::app::table::Column;
use crate::app::update::update;
use crate::app::violations::feed::{self, NatsSource, Sources};
use crate::app::violations::rows::{ViolationRow, live_columns};
use warden_core::nats::connect;
use warden_core::nats::sys::SysClient;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ViolationsFlags {
    /// violations: print each violation as it arrives (JSON lines with -o json)
    #[arg(long)]
    pub follow: bool,
    /// violations: how long to watch (default 30s; with --follow: until interrupted)
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// violations: read the --server-log files and the NATS pod logs from their start, not only new lines
    #[arg(long)]
    pub from_start: bool,
}

pub struct Options {
    pub follow: bool,
    pub duration: Option<Duration>,
    pub from_start: bool,
    pub server_logs: Vec<PathBuf>,
}

impl Options {
    pub fn new(f: &ViolationsFlags, server_logs: Vec<PathBuf>) -> Result<Options> {
        let duration = match (f.follow, f.duration) {
            (_, Some(d)) => Some(d),
            (false, None) => Some(Duration::from_secs(30)),
            (true, None) => None,
        };
        Ok(Options { follow: f.follow, duration, from_start: f.from_start, server_logs })
    }
}

/// How often the identities used for attribution are fetched again.
const IDENTITY_REFRESH: Duration = Duration::from_secs(30);

pub async fn run(ctx: &ReportContext, opts: Options, output: Output, out: &mut impl Write) -> Result<()> {
    let mut state = AppState::new(connect::redact_url(&ctx.nats.url), ctx.nats.source.clone(), Clock::system());
    // Attribution names users and SPIFFE IDs by the configured templates.
    state.naming = ctx.naming.clone();
    let pods =
        feed::pod_logs(&ctx.kube, &ctx.kube_section).await.map(|p| feed::PodLogs { from_start: opts.from_start, ..p });
    let sys = match connect::connect(&ctx.nats, None).await {
        Ok(c) => Some(SysClient::new(c)),
        // Logs alone still show permission violations.
        Err(e) if !opts.server_logs.is_empty() || pods.is_some() => {
            eprintln!("warning: no NATS connection ({e:#}): only logs are read");
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(sys) = &sys {
        refresh_identities(sys, &mut state).await;
    }
    let sources = Sources {
        nats: sys.as_ref().map(|s| NatsSource::Now(s.client().clone())),
        files: opts.server_logs.clone(),
        files_from_start: opts.from_start,
        pods,
    };
    let (tx, mut rx) = mpsc::channel(16);
    let _feed = feed::start(sources, tx);

    let deadline = opts.duration.map(|d| tokio::time::Instant::now() + d);
    let sleep_until = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep_until);
    let mut refresh = tokio::time::interval(IDENTITY_REFRESH);
    refresh.tick().await;
    let mut printed_seq: u64 = 0;
    if opts.follow && output == Output::Table {
        writeln!(out, "{}", follow_header(&live_columns()))?;
        out.flush()?;
    }
    let mut any_source_ok = false;
    loop {
        tokio::select! {
            _ = &mut sleep_until => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = refresh.tick() => {
                if let Some(sys) = &sys {
                    refresh_identities(sys, &mut state).await;
                }
            }
            b = rx.recv() => {
                let Some(b) = b else { break };
                for st in &b.sources {
                    match &st.state {
                        Ok(what) => {
                            any_source_ok = true;
                            eprintln!("watching {}: {what}", st.name);
                        }
                        Err(why) => eprintln!("warning: {}: {why}", st.name),
                    }
                }
                update(&mut state, Msg::Violations(b));
                if opts.follow {
                    let mut new: Vec<&ViolationRow> =
                        state.violations.live.newest().take_while(|r| r.seq >= printed_seq).collect();
                    new.reverse();
                    for r in new {
                        printed_seq = r.seq + 1;
                        print_one(out, r, output)?;
                    }
                    out.flush()?;
                }
            }
        }
    }
    if !any_source_ok && state.violations.pipeline.store.totals().ingested == 0 {
        bail!("no violation source could be read (system events need the system account; see --server-log)");
    }
    if opts.follow {
        return Ok(());
    }
    let mut rows: Vec<ViolationRow> = state.violations.live.newest().cloned().collect();
    rows.reverse();
    let totals = state.violations.pipeline.store.totals();
    if totals.ingested as usize > rows.len() {
        eprintln!("warning: {} violations seen, the newest {} are listed", totals.ingested, rows.len());
    }
    match output {
        Output::Table => write_table(out, &live_columns(), &rows, &Clock::system())?,
        Output::Json => write_json(out, &rows)?,
    }
    Ok(())
}

fn print_one(out: &mut impl Write, r: &ViolationRow, output: Output) -> Result<()> {
    match output {
        Output::Json => {
            serde_json::to_writer(&mut *out, r)?;
            writeln!(out)?;
        }
        Output::Table => writeln!(out, "{}", follow_line(&live_columns(), r, &Clock::system()))?,
    }
    Ok(())
}

/// `--follow` in table form: a header first, then one line per violation
/// in fixed columns (each cell fitted to its column's width, cut with `…`
/// where it is too long), so the columns line up whatever the values.
pub fn follow_header(cols: &[Column<ViolationRow>]) -> String {
    let titles: Vec<String> = cols.iter().map(|c| pad(c.title, c.width as usize)).collect();
    titles.join(" ").trim_end().to_string()
}

pub fn follow_line(cols: &[Column<ViolationRow>], r: &ViolationRow, clock: &Clock) -> String {
    let cells: Vec<String> = cols
        .iter()
        .map(|c| {
            let text = format::printable(&(c.cell)(r, clock)).into_owned();
            pad(&format::fit(&text, c.width as usize, c.cut), c.width as usize)
        })
        .collect();
    cells.join(" ").trim_end().to_string()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(format::display_width(s))))
}

/// Connections and accounts through `update`, which refreshes the attributor.
async fn refresh_identities(sys: &SysClient, state: &mut AppState) {
    for v in [crate::app::view_id::ViewId::Conns, crate::app::view_id::ViewId::Accounts] {
        let msg = crate::app::worker::fetch(sys, v).await;
        update(state, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::violations::{Violation, ViolationKind};

    #[test]
    fn follow_lines_keep_fixed_columns_under_a_header() {
        let cols = live_columns();
        let clock = Clock { now_unix: 1_795_420_800 };
        let v = |identity: &str, subject: &str| {
            let violation = Violation {
                at: None,
                server: Some("nats-0".into()),
                server_id: None,
                kind: ViolationKind::PublishDenied,
                account: Some("APP".into()),
                account_name: None,
                user: None,
                client_name: None,
                client_addr: None,
                cid: None,
                subject: Some(subject.into()),
                queue: None,
                reason: None,
                cause: None,
            };
            ViolationRow::new(0, clock.now_unix, identity.into(), violation)
        };
        let long = v("payments/ledger-commands-settlement-eu-west-1", "tentacular.payments.ledger.commands.settle.x");
        let short = v("a/b", "x.y");
        let lines = [follow_header(&cols), follow_line(&cols, &long, &clock), follow_line(&cols, &short, &clock)];
        assert!(lines[0].starts_with("TIME"), "{lines:?}");
        let at = |l: &str, what: &str| {
            let byte = l.find(what).unwrap_or_else(|| panic!("{what} in {l}"));
            l[..byte].chars().count()
        };
        let server = at(&lines[0], "SERVER");
        assert_eq!(at(&lines[1], "nats-0"), server, "{lines:#?}");
        assert_eq!(at(&lines[2], "nats-0"), server, "{lines:#?}");
        // The long values are cut, marked.
        assert!(lines[1].contains('…'), "{lines:#?}");
    }
}
