//! What a server tells a client that has not authenticated: the `INFO`
//! line it sends first on every connection (`server/server.go` `Info`,
//! `copyInfo`). With `no_auth_user` set, `auth_required` is false there
//! while VARZ still says true, so this is how the doctor learns that
//! anonymous clients get in.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

/// The fields of the `INFO` line the doctor reads.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct InfoLine {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub auth_required: bool,
    pub tls_required: bool,
    pub tls_verify: bool,
}

/// The longest `INFO` line read (`max_control_line` defaults to 4 KiB; a
/// server with many connect URLs sends more).
const MAX_INFO: usize = 64 * 1024;

/// Parses the first line a server sends; never panics on garbage.
pub fn parse_info(line: &[u8]) -> Result<InfoLine> {
    let line = line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n")).unwrap_or(line);
    let json = line.strip_prefix(b"INFO ").ok_or_else(|| anyhow!("not an INFO line"))?;
    serde_json::from_slice(json).context("INFO is not JSON")
}

/// Opens a TCP connection to `url` (`nats://host:port`, first of a comma
/// list), reads the `INFO` line and closes without sending anything.
pub async fn probe(url: &str, limit: Duration) -> Result<InfoLine> {
    let first = url.split(',').next().unwrap_or("").trim();
    let hostport = first.split_once("://").map(|(_, r)| r).unwrap_or(first);
    let hostport = hostport.rsplit_once('@').map(|(_, h)| h).unwrap_or(hostport);
    let hostport = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:4222") };
    let read = async {
        let mut s = tokio::net::TcpStream::connect(&hostport).await.with_context(|| format!("connect {hostport}"))?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        while !buf.contains(&b'\n') && buf.len() < MAX_INFO {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let end = buf.iter().position(|b| *b == b'\n').map(|i| i + 1).unwrap_or(buf.len());
        parse_info(&buf[..end])
    };
    tokio::time::timeout(limit, read).await.map_err(|_| anyhow!("no INFO from {hostport} within {limit:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_info_line_and_refuses_garbage() {
        let i = parse_info(
            b"INFO {\"server_id\":\"N1\",\"server_name\":\"n1\",\"auth_required\":true,\"max_payload\":1048576}\r\n",
        )
        .unwrap();
        assert_eq!((i.server_name.as_str(), i.auth_required), ("n1", true));
        assert!(parse_info(b"-ERR 'x'\r\n").is_err());
        assert!(parse_info(b"INFO {\xff\r\n").is_err());
        assert!(parse_info(b"").is_err());
    }
}
