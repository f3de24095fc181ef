//! Fleet scale: warden's console against a real nats-server holding N live
//! JWT connections (issue 13).
//!
//! cargo run --release --example fleet_scale [-- <connections> [<identities>]]
//!
//! A child process (this binary with `--load`) generates an operator-mode
//! world, starts nats-server, opens N connections over a few hundred user
//! identities (raw client protocol, a few tasks) and keeps ~10 connections a
//! second coming and going, so connect/disconnect events flow. This process
//! runs only warden: the real NATS worker and the real console loop
//! (`ui::console::run_loop`) on a `TestBackend` whose flushes are timed.
//! Printed: first frame, first frame with every connection, key-to-frame
//! latency while data refreshes (p50/p99), RSS, nats-server CPU while warden
//! runs minus while it does not (`/proc/<pid>/stat`), and `report conns`
//! (warden's report code) against a plain 1024-page CONNZ sweep.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Position, Size};
use tokio::sync::mpsc;

use warden::app::msg::Msg;
use warden::app::state::AppState;
use warden::app::table::Clock;
use warden::app::view_id::ViewId;
use warden::app::{conns, worker};
use warden::ui::console::run_loop;
use warden::ui::theme::Theme;
use warden_core::config::{NatsAuth, NatsSettings};
use warden_core::nats::sys::SysClient;

/// Seconds of the measured window (`FLEET_WINDOW`, default 65: it includes
/// one reconciling sweep) and of the baseline (`FLEET_BASELINE`, default 20).
fn secs(var: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nofile = warden_sandbox::connections::raise_nofile();
    if args.first().map(String::as_str) == Some("--load") {
        let n: usize = args[1].parse()?;
        let ids: usize = args[2].parse()?;
        return tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(load(n, ids));
    }
    let n: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let ids: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(200);
    eprintln!("open files limit {nofile}; starting {n} connections over {ids} identities");
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?.block_on(measure(n, ids))
}

/// The child: world, server, connections, churn. Prints `READY <url> <sys
/// creds> <server pid>` and runs until its stdin closes.
async fn load(n: usize, ids: usize) -> anyhow::Result<()> {
    use warden_sandbox::connections::{Identity, hold, open, open_many};
    use warden_sandbox::operator_mode::{OperatorWorld, UserSpec};
    let dir = tempfile::tempdir()?;
    let world = OperatorWorld::generate(dir.path())?;
    let server = warden_sandbox::nats_server::NatsServer::start(dir.path(), "n1", world.config_body())?;
    let users: Vec<Identity> = (0..ids)
        .map(|i| {
            let u = world.mint_user(&UserSpec::tentacle("fleet", &format!("wl{i}")))?;
            Ok(Identity { jwt: u.jwt, key: Arc::new(u.key.expect("generated key")) })
        })
        .collect::<anyhow::Result<_>>()?;
    let addr = server.url().trim_start_matches("nats://").to_string();
    let t = Instant::now();
    let conns = open_many(&addr, &users, n, 8).await?;
    eprintln!("load: {} connections open in {:?}", conns.len(), t.elapsed());
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(hold(conns, stop.clone()));
    // Churn: ~10 connections a second come and go.
    let (churn_addr, churn_users) = (addr.clone(), users.clone());
    tokio::spawn(async move {
        let mut i = 0usize;
        loop {
            i += 1;
            if let Ok(c) = open(&churn_addr, &churn_users[i % churn_users.len()], &format!("churn-{i}")).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
                drop(c);
            }
        }
    });
    println!("READY {} {} {}", server.url(), world.sys_creds_path.display(), server.pid().unwrap_or(0));
    std::io::stdout().flush()?;
    // Until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    })
    .await?;
    let _ = stop_tx.send(true);
    drop(server);
    Ok(())
}

/// CPU time (user + system, in clock ticks) of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the comm field: state is [0], utime [11], stime [12].
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// A core's share used by `pid` over `d`.
async fn cpu_share(pid: u32, d: Duration) -> f64 {
    let a = cpu_ticks(pid);
    tokio::time::sleep(d).await;
    (cpu_ticks(pid) - a) as f64 / ticks_per_sec() / d.as_secs_f64()
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

/// A `TestBackend` whose flushes (one per drawn frame) are timed, with the
/// Connections title's row count at that frame.
struct Timed {
    inner: TestBackend,
    frames: Arc<Mutex<Vec<(Instant, Option<usize>)>>>,
}

impl Backend for Timed {
    type Error = <TestBackend as Backend>::Error;
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(&mut self, content: I) -> Result<(), Self::Error> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        let at = Instant::now();
        self.inner.flush()?;
        let buf = self.inner.buffer();
        let mut top = String::new();
        for y in 0..buf.area.height.min(6) {
            for x in 0..buf.area.width {
                top.push_str(buf[(x, y)].symbol());
            }
        }
        let count = top
            .split_once("Connections [")
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
        self.frames.lock().unwrap().push((at, count));
        Ok(())
    }
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

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(n: usize, ids: usize) -> anyhow::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--load", &n.to_string(), &ids.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    anyhow::ensure!(f.first() == Some(&"READY"), "load generator failed: {line}");
    let (url, creds, pid) = (f[1].to_string(), f[2].into(), f[3].parse::<u32>()?);
    let settings =
        NatsSettings { url, auth: NatsAuth::Creds(creds), ca: None, cert: None, key: None, source: "bench".into() };

    // nats-server's CPU with the load but without warden.
    let base = cpu_share(pid, secs("FLEET_BASELINE", 20)).await;
    let window = secs("FLEET_WINDOW", 65);

    // warden: the real worker and the real console loop.
    let frames = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel(1024);
    let t0 = Instant::now();
    let cmds = worker::spawn(settings.clone(), Duration::from_secs(5), tx.clone());
    let mut state = AppState::new(settings.url.clone(), "bench".into(), Clock::system());
    state.size = (160, 48);
    state.view = ViewId::Conns;
    let mut term = Terminal::new(Timed { inner: TestBackend::new(160, 48), frames: frames.clone() })?;
    let theme = Theme::builtin("default").ok_or_else(|| anyhow::anyhow!("no default theme"))?;
    let ui = tokio::spawn(async move {
        let _ = run_loop(&mut term, rx, |c| drop(cmds.send(c)), state, &theme).await;
    });
    // The first frame with (nearly) every connection: churn moves the count.
    let deadline = Instant::now() + Duration::from_secs(120);
    let full = loop {
        if let Some((at, _)) = frames.lock().unwrap().iter().find(|(_, c)| c.is_some_and(|c| c >= n)) {
            break Some(*at);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let first = frames.lock().unwrap().first().map(|(at, _)| *at - t0);

    // Keys every 50 ms for the window while events (and, once a minute, the
    // reconciling sweep) refresh the data; nats-server's CPU meanwhile.
    let cpu = tokio::spawn(cpu_share(pid, window));
    let mut lat = Vec::new();
    let end = Instant::now() + window;
    let mut down = true;
    while Instant::now() < end {
        let sent = Instant::now();
        let k = if down { KeyCode::Char('j') } else { KeyCode::Char('k') };
        down = !down;
        tx.send(Msg::Key(KeyEvent::from(k))).await?;
        let got = loop {
            if let Some((at, _)) = frames.lock().unwrap().iter().rev().find(|(at, _)| *at >= sent) {
                break Some(*at);
            }
            if sent.elapsed() > Duration::from_secs(5) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        lat.push(got.map(|at| (at - sent).as_secs_f64() * 1e3).unwrap_or(5000.0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let with = cpu.await?;
    let rss = status_kib("VmRSS:");
    let hwm = status_kib("VmHWM:");

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
    let (plain, report) = (pct(&mut plain, 0.5), pct(&mut report, 0.5));

    drop(tx);
    ui.abort();
    drop(child.stdin.take());
    let _ = child.wait();

    let ms = |d: Option<Duration>| d.map(|d| format!("{:.1} ms", time(d))).unwrap_or_else(|| "never".into());
    println!("\nfleet_scale: {n} live JWT connections over {ids} identities, one nats-server, ~10 conn/s churn");
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!("| first frame | {} | <= 50 ms |", ms(first));
    println!("| first frame with all {n} connections | {} | |", ms(full.map(|f| f - t0)));
    println!(
        "| key-to-frame p50 / p99 / max ({} keys over {:?}) | {:.1} / {:.1} / {:.1} ms | p99 <= 50 ms |",
        lat.len(),
        window,
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat.clone(), 0.99),
        pct(&mut lat, 1.0)
    );
    println!("| RSS now / peak | {:.1} / {:.1} MiB | <= 40 MiB |", rss as f64 / 1024.0, hwm as f64 / 1024.0);
    println!(
        "| nats-server CPU: with warden {:.2} % - without {:.2} % | {:.2} % of a core | <= 5 % |",
        with * 100.0,
        base * 100.0,
        (with - base) * 100.0
    );
    println!(
        "| report conns {report:.0} ms vs plain 1024-page sweep {plain:.0} ms | {:.2}x | <= 0.5x |",
        report / plain
    );
    Ok(())
}
