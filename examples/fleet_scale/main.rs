//! Fleet scale: warden's console against a real nats-server holding N live
//! JWT connections (issue 13).
//!
//! cargo run --release --example fleet_scale [-- <connections> [<identities>]]
//!
//! A child process (this binary with `--load`, `load.rs`) generates an
//! operator-mode world, starts nats-server, opens N connections over a few
//! hundred user identities and keeps ~10 connections a second coming and
//! going, so connect/disconnect events flow; on demand it raises a violation
//! storm. This process runs only warden: the real NATS worker, the real
//! violations feed and the real console loop (`ui::console::run_loop`) on
//! crossterm's backend writing into a byte-counting sink.
//!
//! Printed as one table: first frame, first frame with every connection,
//! key-to-frame latency while data refreshes and during a storm, terminal
//! bytes per second idle and in a storm, resident memory (and the heap as
//! the allocator counts it), nats-server CPU while warden runs minus while
//! it does not (`/proc/<pid>/stat`), the storm's ingest against a plain
//! async-nats subscriber's receive rate, and `report conns` (warden's
//! report code) against a plain 1024-page CONNZ sweep.

mod alloc;
mod backend;
mod load;
mod procfs;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tokio::sync::mpsc;

use backend::{Frames, Screen};
use procfs::{cpu_share, status_kib};
use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::view_id::ViewId;
use warden::app::violations::feed::{self, NatsSource, Sources};
use warden::app::{conns, worker};
use warden::ui::console::run_loop;
use warden::ui::theme::Theme;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::nats::sys::SysClient;
use warden_core::violations::ViolationKind;
use warden_core::violations::events::AUTH_ERR_WILDCARD;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Seconds of a phase, from the environment or a default: `FLEET_WINDOW`
/// (65: keys while data refreshes, one reconciling sweep included),
/// `FLEET_BASELINE` (20), `FLEET_IDLE` (10), `FLEET_STORM` (30).
fn secs(var: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

fn main() -> anyhow::Result<()> {
    // As warden's `main` does.
    warden::app::memory::tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nofile = warden_sandbox::connections::raise_nofile();
    let runtime = || tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    if args.first().map(String::as_str) == Some("--load") {
        return runtime()?.block_on(load::run(args[1].parse()?, args[2].parse()?));
    }
    let n: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let ids: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(200);
    eprintln!("open files limit {nofile}; starting {n} connections over {ids} identities");
    runtime()?.block_on(measure(n, ids))
}

/// A plain sweep as natscli and warden before issue 13 did it: ping, gather
/// until quiet, then each server's further pages of 1024, one by one.
async fn plain_sweep(sys: &SysClient) -> anyhow::Result<usize> {
    use warden_core::nats::sys::{CONNZ_PAGE, decode_api};
    use warden_core::nats::types::Connz;
    let req = serde_json::json!({ "auth": true, "offset": 0, "limit": CONNZ_PAGE });
    let mut n = 0;
    for m in sys.scatter("$SYS.REQ.SERVER.PING.CONNZ", req).await? {
        let r = decode_api::<Connz>(&m.payload);
        let Ok(page) = r.result else { continue };
        let mut offset = page.connections.len() as i64;
        n += page.connections.len();
        while offset < page.total {
            let more = sys.server_connz_page(&r.server.id, offset, CONNZ_PAGE).await?;
            if more.connections.is_empty() {
                break;
            }
            offset += more.connections.len() as i64;
            n += more.connections.len();
        }
    }
    Ok(n)
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Presses j/k every 50 ms for `d`; each key's time to the next frame (ms).
async fn keys_to_frames(tx: &mpsc::Sender<Msg>, frames: &Frames, d: Duration) -> anyhow::Result<Vec<f64>> {
    let mut lat = Vec::new();
    let end = Instant::now() + d;
    let mut down = true;
    while Instant::now() < end {
        let sent = Instant::now();
        let k = if down { KeyCode::Char('j') } else { KeyCode::Char('k') };
        down = !down;
        tx.send(Msg::Key(KeyEvent::from(k))).await?;
        let got = loop {
            if let Some(f) = frames.lock().unwrap().iter().rev().find(|f| f.at >= sent) {
                break Some(f.at);
            }
            if sent.elapsed() > Duration::from_secs(5) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        lat.push(got.map(|at| (at - sent).as_secs_f64() * 1e3).unwrap_or(5000.0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(lat)
}

/// Terminal bytes per second over `d` with no key pressed.
async fn bytes_per_sec(bytes: &AtomicU64, d: Duration) -> f64 {
    let a = bytes.load(Ordering::Relaxed);
    tokio::time::sleep(d).await;
    (bytes.load(Ordering::Relaxed) - a) as f64 / d.as_secs_f64()
}

/// What the violations feed handed the console: auth failures (from the
/// AUTH.ERR events) and log-line violations.
#[derive(Default)]
struct Ingest {
    auth: AtomicU64,
    lines: AtomicU64,
}

/// The feed's messages, counted on their way into the console's channel
/// (a full channel holds the feed back, so this is the console's pace).
fn counted_feed(sources: Sources, tx: mpsc::Sender<Msg>, ingest: Arc<Ingest>) -> feed::Feed {
    let (ftx, mut frx) = mpsc::channel::<Msg>(16);
    let f = feed::spawn_console(sources, ftx);
    tokio::spawn(async move {
        let mut twins = std::collections::HashSet::<(String, u64)>::new();
        while let Some(m) = frx.recv().await {
            if twins.len() > 100_000 {
                twins.clear();
            }
            if let Msg::Violations(b) = &m {
                // A failed login arrives twice (AUTH.ERR and its DISCONNECT
                // twin; the pipeline counts it once): counted once here too.
                let auth = b
                    .violations
                    .iter()
                    .filter(|v| v.kind == ViolationKind::AuthFailed)
                    .filter(|v| {
                        let key = (v.server_id.clone().unwrap_or_default(), v.cid.unwrap_or_default());
                        !twins.remove(&key) && twins.insert(key)
                    })
                    .count() as u64;
                ingest.auth.fetch_add(auth, Ordering::Relaxed);
                let lines = b
                    .violations
                    .iter()
                    .filter(|v| matches!(v.kind, ViolationKind::PublishDenied | ViolationKind::SubscribeDenied))
                    .count() as u64;
                ingest.lines.fetch_add(lines, Ordering::Relaxed);
            }
            if tx.send(m).await.is_err() {
                break;
            }
        }
    });
    f
}

async fn measure(n: usize, ids: usize) -> anyhow::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--load", &n.to_string(), &ids.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut to_child = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    anyhow::ensure!(f.first() == Some(&"READY") && f.len() == 5, "load generator failed: {line}");
    let (url, creds, pid, log) = (f[1].to_string(), f[2].into(), f[3].parse::<u32>()?, std::path::PathBuf::from(f[4]));
    let settings =
        NatsSettings { url, auth: NatsAuth::Creds(creds), ca: None, cert: None, key: None, source: "bench".into() };

    // nats-server's CPU with the load but without warden.
    let base = cpu_share(pid, secs("FLEET_BASELINE", 20)).await;
    let window = secs("FLEET_WINDOW", 65);

    // warden: the real worker, the real feed and the real console loop.
    let frames: Frames = Arc::new(Mutex::new(Vec::new()));
    let bytes = Arc::new(AtomicU64::new(0));
    let ingest = Arc::new(Ingest::default());
    let (tx, rx) = mpsc::channel(1024);
    let t0 = Instant::now();
    let (share_tx, share_rx) = tokio::sync::oneshot::channel();
    let opts = worker::WorkerOptions::new(Duration::from_secs(5));
    let cmds = worker::spawn_with(settings.clone(), opts, tx.clone(), Some(share_tx));
    let sources = Sources { nats: Some(NatsSource::Later(share_rx)), files: vec![log], ..Default::default() };
    let _feed = counted_feed(sources, tx.clone(), ingest.clone());
    let mut state = AppState::new(settings.url.clone(), "bench".into(), Clock::system());
    state.size = (160, 48);
    state.view = ViewId::Conns;
    let mut term = Terminal::new(Screen::new(160, 48, bytes.clone(), frames.clone()))?;
    let theme = Theme::builtin("default").ok_or_else(|| anyhow::anyhow!("no default theme"))?;
    // As `console::run` does.
    let _trimmer = warden::app::memory::spawn_trimmer();
    // The loop on a thread of its own, as warden's `main` runs it (the
    // console is the future `Runtime::block_on` drives on the main thread;
    // the workers are tasks on the runtime's worker threads).
    let handle = tokio::runtime::Handle::current();
    let ui = std::thread::spawn(move || {
        let _ = handle.block_on(run_loop(&mut term, rx, |c| drop(cmds.send(c)), state, &theme));
    });
    // The first frame with (nearly) every connection: churn moves the count.
    let deadline = Instant::now() + Duration::from_secs(120);
    let full = loop {
        if let Some(f) = frames.lock().unwrap().iter().find(|f| f.conns.is_some_and(|c| c >= n)) {
            break Some(f.at);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let first = frames.lock().unwrap().first().map(|f| f.at - t0);

    // Keys while events (and, once a minute, the reconciling sweep)
    // refresh the data; nats-server's CPU meanwhile.
    let cpu = tokio::spawn(cpu_share(pid, window));
    let lat = keys_to_frames(&tx, &frames, window).await?;
    let with = cpu.await?;
    let idle_bytes = bytes_per_sec(&bytes, secs("FLEET_IDLE", 10)).await;
    let (rss, hwm) = (status_kib("VmRSS:"), status_kib("VmHWM:"));
    let heap = alloc::heap();

    // The storm, on the Violations view: a plain subscriber counts the
    // AUTH.ERR events as async-nats receives them, beside warden's feed.
    tx.send(Msg::Key(KeyEvent::from(KeyCode::Char('0')))).await?;
    let raw_client = warden_core::nats::connect::connect(&settings, None).await?;
    let mut raw_sub = raw_client.subscribe(AUTH_ERR_WILDCARD).await?;
    raw_client.flush().await?;
    let raw = Arc::new(AtomicU64::new(0));
    let raw_count = raw.clone();
    let raw_task = tokio::spawn(async move {
        while raw_sub.next().await.is_some() {
            raw_count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let storm = secs("FLEET_STORM", 30);
    let quiet_part = storm / 3;
    let (auth0, lines0) = (ingest.auth.load(Ordering::Relaxed), ingest.lines.load(Ordering::Relaxed));
    let raw0 = raw.load(Ordering::Relaxed);
    let storm_start = Instant::now();
    writeln!(to_child, "STORM")?;
    let storm_bytes = bytes_per_sec(&bytes, quiet_part).await;
    let storm_lat = keys_to_frames(&tx, &frames, storm - quiet_part).await?;
    writeln!(to_child, "CALM")?;
    let storm_secs = storm_start.elapsed().as_secs_f64();
    line.clear();
    out.read_line(&mut line)?;
    let s: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let (written, failed) = (s.first().copied().unwrap_or(0), s.get(1).copied().unwrap_or(0));
    let raw_n = raw.load(Ordering::Relaxed) - raw0;
    // What was received by the end of the storm, handled within 2 s more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let auth_n = ingest.auth.load(Ordering::Relaxed) - auth0;
    let lines_n = ingest.lines.load(Ordering::Relaxed) - lines0;
    raw_task.abort();
    let (rss_storm, hwm_storm) = (status_kib("VmRSS:"), status_kib("VmHWM:"));
    // Once the trimmer has run (it hands back what the storm freed).
    tokio::time::sleep(warden::app::memory::TRIM_EVERY + Duration::from_secs(2)).await;
    let rss_settled = status_kib("VmRSS:");
    let heap_settled = alloc::heap().0;

    // `warden report conns` (its code) vs a plain 1024-page sweep.
    let client = warden_core::nats::connect::connect(&settings, None).await?;
    let sys = SysClient::new(client);
    let time = |d: Duration| d.as_secs_f64() * 1e3;
    let (mut plain, mut report) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        plain_sweep(&sys).await?;
        plain.push(time(t.elapsed()));
        let t = Instant::now();
        let _ = conns::fetch(&sys).await?;
        report.push(time(t.elapsed()));
    }
    let (plain, report) = (pct(&plain, 0.5), pct(&report, 0.5));

    drop(tx);
    // The loop ends once every sender is gone (the workers with it).
    drop(ui);
    drop(to_child);
    let _ = child.wait();

    let ms = |d: Option<Duration>| d.map(|d| format!("{:.1} ms", time(d))).unwrap_or_else(|| "never".into());
    let mib = |kib: u64| kib as f64 / 1024.0;
    let dist = |v: &[f64]| format!("{:.1} / {:.1} / {:.1} ms", pct(v, 0.5), pct(v, 0.99), pct(v, 1.0));
    println!("\nfleet_scale: {n} live JWT connections over {ids} identities, one nats-server, ~10 conn/s churn");
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!("| first frame | {} | <= 50 ms |", ms(first));
    println!("| first frame with all {n} connections | {} | |", ms(full.map(|f| f - t0)));
    println!(
        "| key-to-frame p50 / p99 / max, Connections ({} keys over {window:?}, refreshes) | {} | p99 <= 50 ms |",
        lat.len(),
        dist(&lat)
    );
    println!("| RSS now / peak (after the refresh window) | {:.1} / {:.1} MiB | <= 40 MiB |", mib(rss), mib(hwm));
    println!(
        "| heap in use / peak, counted at the allocator | {:.1} / {:.1} MiB | |",
        heap.0 as f64 / 1048576.0,
        heap.1 as f64 / 1048576.0
    );
    println!(
        "| nats-server CPU: with warden {:.2} % - without {:.2} % | {:.2} % of a core | <= 5 % |",
        with * 100.0,
        base * 100.0,
        (with - base) * 100.0
    );
    println!("| terminal bytes/s, idle (Connections, churn only) | {idle_bytes:.0} B/s | |");
    println!(
        "| storm offered: log lines / failed logins | {:.0}/s / {:.0}/s | 100k lines/s |",
        written as f64 / storm_secs,
        failed as f64 / storm_secs
    );
    println!("| terminal bytes/s, storm (Violations view, no key) | {storm_bytes:.0} B/s | |");
    println!(
        "| key-to-frame p50 / p99 / max, Violations in the storm ({} keys) | {} | p99 <= 50 ms |",
        storm_lat.len(),
        dist(&storm_lat)
    );
    println!(
        "| AUTH.ERR events: raw async-nats receive {:.0}/s, warden ingest {:.0}/s | {:.0} % | >= 70 % |",
        raw_n as f64 / storm_secs,
        auth_n as f64 / storm_secs,
        100.0 * auth_n as f64 / raw_n.max(1) as f64
    );
    println!(
        "| log lines: written {:.0}/s, warden ingest {:.0}/s | {:.0} % | |",
        written as f64 / storm_secs,
        lines_n as f64 / storm_secs,
        100.0 * lines_n as f64 / written.max(1) as f64
    );
    println!("| RSS now / peak (after the storm) | {:.1} / {:.1} MiB | <= 40 MiB |", mib(rss_storm), mib(hwm_storm));
    println!(
        "| RSS / heap in use {}s after the storm | {:.1} / {:.1} MiB | <= 40 MiB |",
        warden::app::memory::TRIM_EVERY.as_secs() + 2,
        mib(rss_settled),
        heap_settled as f64 / 1048576.0
    );
    println!(
        "| report conns {report:.0} ms vs plain 1024-page sweep {plain:.0} ms | {:.2}x | <= 0.5x |",
        report / plain
    );
    Ok(())
}
