//! The child process: an operator-mode world, one nats-server, N live JWT
//! connections over a few hundred identities, ~10 connections a second
//! coming and going, and on demand a violation storm: permission-violation
//! lines appended to a log file at a fixed rate (the file warden follows)
//! and real clients failing authentication (the server publishes
//! `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` for each, `server/events.go`).
//!
//! Protocol on stdout: `READY <url> <sys creds> <server pid> <log file>`;
//! on stdin: `STORM` starts the storm, `CALM` stops it and answers
//! `STORMED <lines written> <failed logins>`; end of input ends the child.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use warden_core::nats::jwt::{KeyKind, SigningKey};
use warden_sandbox::connections::{Identity, hold, open, open_many};
use warden_sandbox::operator_mode::{OperatorWorld, UserSpec};

/// Log lines a second during a storm (`FLEET_STORM_LINES`).
fn line_rate() -> u64 {
    std::env::var("FLEET_STORM_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

/// Failed logins a second attempted during a storm (`FLEET_STORM_AUTH`).
fn auth_rate() -> u64 {
    std::env::var("FLEET_STORM_AUTH").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
}

pub async fn run(n: usize, ids: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let world = OperatorWorld::generate(dir.path())?;
    let server = warden_sandbox::nats_server::NatsServer::start(dir.path(), "n1", world.config_body())?;
    let users: Vec<Identity> = (0..ids)
        .map(|i| {
            let u = world.mint_user(&UserSpec::tentacle("fleet", &format!("wl{i}")))?;
            Ok(Identity::jwt(u.jwt, Arc::new(u.key.expect("generated key"))))
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
    let log = dir.path().join("nats-server.log");
    std::fs::write(&log, "")?;
    let lines = violation_lines(&world, &users);
    println!(
        "READY {} {} {} {}",
        server.url(),
        world.sys_creds_path.display(),
        server.pid().unwrap_or(0),
        log.display()
    );
    std::io::stdout().flush()?;

    let storming = Arc::new(AtomicBool::new(false));
    let (written, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    {
        let (log, storming, written) = (log.clone(), storming.clone(), written.clone());
        std::thread::spawn(move || write_lines(&log, &lines, &storming, &written));
    }
    // Each failing client presents a real user JWT signed for by another
    // key: the nonce signature does not verify (an authorization violation).
    let tasks = 4u64;
    for t in 0..tasks {
        let (addr, storming, failed) = (addr.clone(), storming.clone(), failed.clone());
        let Identity::Jwt { jwt, .. } = &users[t as usize % users.len()] else { unreachable!("JWT users") };
        let wrong = Identity::jwt(jwt.clone(), Arc::new(SigningKey::generate(KeyKind::User)));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(tasks as f64 / auth_rate().max(1) as f64));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                if storming.load(Ordering::Relaxed) {
                    let _ = open(&addr, &wrong, "intruder").await;
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let stdin = tokio::task::spawn_blocking(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match line.trim() {
                "STORM" => {
                    written.store(0, Ordering::Relaxed);
                    failed.store(0, Ordering::Relaxed);
                    storming.store(true, Ordering::Relaxed);
                }
                "CALM" => {
                    storming.store(false, Ordering::Relaxed);
                    println!("STORMED {} {}", written.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
                    let _ = std::io::stdout().flush();
                }
                _ => {}
            }
        }
    });
    stdin.await?;
    let _ = stop_tx.send(true);
    drop(server);
    Ok(())
}

/// Permission violations as nats-server 2.15 logs them in operator mode
/// (`server/client.go` `pubPermissionViolation` / `subPermissionViolation`
/// behind the client's log prefix), over the fleet's users and 50 subjects.
fn violation_lines(world: &OperatorWorld, users: &[Identity]) -> Vec<String> {
    let acc = world.app.public_key();
    (0..10_000usize)
        .map(|i| {
            let user = users[i % users.len()].user_key().expect("JWT users").public_key();
            let (kind, tail) = if i % 3 == 0 {
                ("Subscription", format!("Subject \"fleet.other{}.x\", SID {}", i % 50, i % 7 + 1))
            } else {
                ("Publish", format!("Subject \"fleet.other{}.x\"", i % 50))
            };
            format!(
                "[1] 2026/11/23 10:14:47.{:06} [ERR] 127.0.0.1:{} - cid:{} - \"v0.51.0:rust:fleet/wl{}\" - \"{acc}/APP/jwt:{user}\" - {kind} Violation - {tail}\n",
                i % 1_000_000,
                20_000 + i % 40_000,
                100 + i,
                i % users.len()
            )
        })
        .collect()
}

/// Appends `lines` round robin at [`line_rate`] while `storming`, in
/// batches every 10 ms, as a busy server's log grows.
fn write_lines(path: &std::path::Path, lines: &[String], storming: &AtomicBool, written: &AtomicU64) {
    let mut f = match std::fs::OpenOptions::new().append(true).open(path) {
        Ok(f) => f,
        Err(e) => return eprintln!("load: {}: {e}", path.display()),
    };
    let per_tick = (line_rate() / 100).max(1) as usize;
    let mut next = 0usize;
    let mut buf = String::new();
    let start = Instant::now();
    let mut ticks = 0u64;
    loop {
        ticks += 1;
        let due = start + Duration::from_millis(10 * ticks);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if !storming.load(Ordering::Relaxed) {
            continue;
        }
        buf.clear();
        for _ in 0..per_tick {
            buf.push_str(&lines[next % lines.len()]);
            next += 1;
        }
        if f.write_all(buf.as_bytes()).is_err() {
            return;
        }
        written.fetch_add(per_tick as u64, Ordering::Relaxed);
    }
}
