//! Many real NATS client connections from a few tasks: `warden sandbox
//! --connections N` and the fleet benchmark hold thousands of live JWT
//! connections without a client library's per-connection machinery.
//!
//! Each is a plain TCP connection speaking the client protocol: `INFO` (with
//! the server's `nonce`), `CONNECT` with the user JWT and the nonce signed by
//! the user key (`sig`, base64url without padding, as `server/auth.go`
//! verifies it), `PING`/`PONG`, and afterwards answering the server's `PING`s
//! so it never closes them as stale.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use warden_core::nats::jwt::SigningKey;

/// A user a connection authenticates as.
#[derive(Clone)]
pub struct Identity {
    pub jwt: String,
    pub key: Arc<SigningKey>,
}

/// One open connection.
pub struct Conn {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

/// Opens one connection to `addr` (`host:port`) as `id`, named `name`.
pub async fn open(addr: &str, id: &Identity, name: &str) -> Result<Conn> {
    let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (r, mut write) = stream.into_split();
    let mut read = BufReader::new(r);
    let mut line = String::new();
    read.read_line(&mut line).await?;
    let info: serde_json::Value =
        serde_json::from_str(line.trim().strip_prefix("INFO ").ok_or_else(|| anyhow!("no INFO: {line}"))?)?;
    let nonce = info.get("nonce").and_then(|n| n.as_str()).unwrap_or_default();
    let sig = data_encoding::BASE64URL_NOPAD.encode(&id.key.sign(nonce.as_bytes()));
    let connect = serde_json::json!({
        "verbose": false, "pedantic": false, "jwt": id.jwt, "sig": sig, "name": name,
        "lang": "sandbox", "version": "1", "protocol": 1, "headers": true, "no_responders": true,
    });
    write.write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes()).await?;
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            bail!("closed while connecting");
        }
        match line.trim() {
            "PONG" => break,
            l if l.starts_with("-ERR") => bail!("refused: {l}"),
            _ => {}
        }
    }
    Ok(Conn { read, write })
}

/// Holds `conns` until `stop` turns true, answering the server's PINGs; the
/// connections are closed when this returns. One task for them all.
pub async fn hold(conns: Vec<Conn>, mut stop: watch::Receiver<bool>) {
    async fn next(mut c: Conn) -> Option<Conn> {
        let mut line = String::new();
        match c.read.read_line(&mut line).await {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                if line.starts_with("PING") && c.write.write_all(b"PONG\r\n").await.is_err() {
                    return None;
                }
                Some(c)
            }
        }
    }
    let mut live: FuturesUnordered<_> = conns.into_iter().map(next).collect();
    loop {
        tokio::select! {
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
            c = live.next() => match c {
                Some(Some(c)) => live.push(next(c)),
                Some(None) => {}
                None => return,
            },
        }
    }
}

/// Opens `n` connections round robin over `ids` with `tasks` tasks
/// connecting in parallel; returns them (hand them to [`hold`]).
pub async fn open_many(addr: &str, ids: &[Identity], n: usize, tasks: usize) -> Result<Vec<Conn>> {
    if ids.is_empty() {
        bail!("no identity to connect as");
    }
    let tasks = tasks.clamp(1, n.max(1));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (addr, ids) = (addr.to_string(), ids.to_vec());
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (t..n).step_by(tasks) {
                let id = &ids[i % ids.len()];
                let mut tries = 0;
                loop {
                    match open(&addr, id, &format!("fleet-{i}")).await {
                        Ok(c) => break out.push(c),
                        Err(e) if tries < 5 => {
                            tries += 1;
                            tracing::debug!("connection {i}: {e:#}; retrying");
                            tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                        }
                        Err(e) => return Err(e.context(format!("connection {i}"))),
                    }
                }
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for h in handles {
        all.extend(h.await??);
    }
    Ok(all)
}

/// Raises this process's open-file limit to its hard limit (10,000
/// connections need more than the usual 1024); returns the new soft limit.
pub fn raise_nofile() -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 0;
        }
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur as u64
    }
}
