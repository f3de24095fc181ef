//! Many real NATS client connections from a few tasks: `warden sandbox
//! --connections N` and the fleet benchmark hold thousands of live
//! connections without a client library's per-connection machinery.
//!
//! Each is a plain TCP connection speaking the client protocol. The server
//! writes `INFO` first (in plaintext: the sandbox never sets
//! `handshake_first`, so `server/server.go` sends INFO before
//! `doTLSServerHandshake`); then, by the identity's kind:
//!
//! - JWT mode: `CONNECT` with the user JWT and the INFO `nonce` signed by the
//!   user key (`sig`, base64url without padding, as `server/auth.go`
//!   verifies it);
//! - SPIFFE mode: the TLS handshake with the X.509 SVID as client
//!   certificate (its URI SAN is the user, `verify_and_map`), then `CONNECT`
//!   with no credentials;
//!
//! then `PING`/`PONG`, and afterwards the one loop of [`hold`] answers the
//! server's `PING`s so it never closes them as stale.
//!
//! Memory per connection is kept small: a 512-byte read buffer (server
//! lines are short; a longer one is read in pieces), no split halves, and in
//! SPIFFE mode one rustls client config per identity shared by all of its
//! connections.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types};

use warden_core::nats::jwt::SigningKey;

/// Read buffer of one connection.
const READ_BUF: usize = 512;

/// A user a connection authenticates as.
#[derive(Clone)]
pub enum Identity {
    /// JWT mode: a user JWT and the user's key (signs the server's nonce).
    Jwt { jwt: String, key: Arc<SigningKey> },
    /// SPIFFE mode: an X.509 SVID, as a TLS client config carrying it as
    /// the client certificate (and the trust bundle as roots).
    Svid { spiffe_id: String, tls: Arc<rustls::ClientConfig> },
}

impl Identity {
    /// A JWT-mode identity.
    pub fn jwt(jwt: String, key: Arc<SigningKey>) -> Identity {
        Identity::Jwt { jwt, key }
    }

    /// The user's key, in JWT mode.
    pub fn user_key(&self) -> Option<&SigningKey> {
        match self {
            Identity::Jwt { key, .. } => Some(key),
            Identity::Svid { .. } => None,
        }
    }

    /// A SPIFFE-mode identity from an SVID's PEM files and the trust bundle.
    pub fn svid(spiffe_id: &str, cert: &Path, key: &Path, bundle: &Path) -> Result<Identity> {
        let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        use pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in pki_types::CertificateDer::pem_slice_iter(&read(bundle)?) {
            roots.add(c.context("the trust bundle")?)?;
        }
        let chain = pki_types::CertificateDer::pem_slice_iter(&read(cert)?)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("the SVID certificate {}", cert.display()))?;
        let key = pki_types::PrivateKeyDer::from_pem_slice(&read(key)?)
            .with_context(|| format!("the SVID key {}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(Identity::Svid { spiffe_id: spiffe_id.to_string(), tls: Arc::new(tls) })
    }
}

/// What a connection reads and writes: TCP, or TLS over it.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One open connection.
pub struct Conn {
    io: BufReader<Box<dyn Io>>,
}

/// Reads one protocol line into `line` (cleared first); false at the end.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R, line: &mut String) -> Result<bool> {
    line.clear();
    Ok(r.read_line(line).await? > 0)
}

/// Opens one connection to `addr` (`host:port`) as `id`, named `name`.
pub async fn open(addr: &str, id: &Identity, name: &str) -> Result<Conn> {
    let tcp = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    // INFO, in plaintext. Nothing follows it until the client speaks, so
    // the buffer holds nothing more and the socket can change hands.
    let mut r = BufReader::with_capacity(READ_BUF, tcp);
    let mut line = String::new();
    if !read_line(&mut r, &mut line).await? {
        bail!("closed before INFO");
    }
    let info: serde_json::Value =
        serde_json::from_str(line.trim().strip_prefix("INFO ").ok_or_else(|| anyhow!("no INFO: {line}"))?)?;
    if !r.buffer().is_empty() {
        bail!("the server wrote past INFO before the client spoke");
    }
    let tcp = r.into_inner();
    let mut connect = serde_json::json!({
        "verbose": false, "pedantic": false, "name": name,
        "lang": "sandbox", "version": "1", "protocol": 1, "headers": true, "no_responders": true,
    });
    let stream: Box<dyn Io> = match id {
        Identity::Jwt { jwt, key } => {
            let nonce = info.get("nonce").and_then(|n| n.as_str()).unwrap_or_default();
            connect["jwt"] = jwt.as_str().into();
            connect["sig"] = data_encoding::BASE64URL_NOPAD.encode(&key.sign(nonce.as_bytes())).into();
            Box::new(tcp)
        }
        Identity::Svid { tls, .. } => {
            if info.get("tls_required").and_then(|t| t.as_bool()) != Some(true) {
                bail!("the server does not ask for TLS: an SVID cannot authenticate");
            }
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']']);
            let server_name = pki_types::ServerName::try_from(host.to_string())?;
            let stream = TlsConnector::from(tls.clone())
                .connect(server_name, tcp)
                .await
                .with_context(|| format!("TLS handshake with {addr}"))?;
            connect["tls_required"] = true.into();
            Box::new(stream)
        }
    };
    let mut io = BufReader::with_capacity(READ_BUF, stream);
    io.write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes()).await?;
    io.flush().await?;
    loop {
        if !read_line(&mut io, &mut line).await? {
            bail!("closed while connecting");
        }
        match line.trim() {
            "PONG" => break,
            l if l.starts_with("-ERR") => bail!("refused: {l}"),
            _ => {}
        }
    }
    Ok(Conn { io })
}

/// Holds `conns` until `stop` turns true, answering the server's PINGs; the
/// connections are closed when this returns. One task for them all.
pub async fn hold(conns: Vec<Conn>, mut stop: watch::Receiver<bool>) {
    async fn next(mut c: Conn) -> Option<Conn> {
        let mut line = String::new();
        match read_line(&mut c.io, &mut line).await {
            Ok(false) | Err(_) => None,
            Ok(true) => {
                if line.starts_with("PING")
                    && (c.io.write_all(b"PONG\r\n").await.is_err() || c.io.flush().await.is_err())
                {
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
        #[allow(clippy::unnecessary_cast)] // rlim_t is narrower than u64 on some targets
        let cur = l.rlim_cur as u64;
        cur
    }
}
