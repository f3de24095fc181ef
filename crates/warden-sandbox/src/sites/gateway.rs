//! The supercluster: one nats-server per site, joined by gateways named
//! after the sites, and the wait until every gateway is connected.
//!
//! Config syntax and rules from nats-server `server/opts.go` (`parseGateway`:
//! `name`, `listen`, `gateways: [{name, urls}]`) and `server/gateway.go`
//! (`validateGatewayOptions`: a name without spaces and a port; a remote
//! named like this server is skipped, so every server can list them all)
//! and `server/server.go` (the cluster name becomes the gateway name). The
//! system account crosses gateways in interest-only mode, so one system
//! connection reaches every server.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Deserialize;
use warden_core::nats::sys::{Gather, SysClient, decode_api};

/// Where one site's server listens.
#[derive(Debug, Clone)]
pub struct Ports {
    pub site: String,
    pub client: u16,
    pub gateway: u16,
}

/// The `gateway {}` block of `own`'s server: every site listed, itself
/// included (nats-server skips its own name).
pub fn block(own: &str, all: &[Ports]) -> String {
    let remotes: Vec<String> = all
        .iter()
        .map(|p| format!("    {{ name: {}, urls: [\"nats://127.0.0.1:{}\"] }}", quote(&p.site), p.gateway))
        .collect();
    let port = all.iter().find(|p| p.site == own).map(|p| p.gateway).unwrap_or_default();
    format!(
        "gateway {{\n  name: {}\n  listen: \"127.0.0.1:{port}\"\n  gateways: [\n{}\n  ]\n}}\n",
        quote(own),
        remotes.join(",\n")
    )
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `server/monitor.go` `Gatewayz`, the parts the wait reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Gatewayz {
    name: String,
    outbound_gateways: BTreeMap<String, Remote>,
    inbound_gateways: BTreeMap<String, Vec<Remote>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Remote {
    connection: Option<serde_json::Value>,
}

/// What is still missing for `sites` to form one supercluster, given each
/// server's GATEWAYZ (empty: connected both ways everywhere).
fn missing(sites: &[String], replies: &[Gatewayz]) -> Vec<String> {
    let mut out = Vec::new();
    for site in sites {
        let Some(z) = replies.iter().find(|z| &z.name == site) else {
            out.push(format!("{site}: no GATEWAYZ reply"));
            continue;
        };
        for other in sites.iter().filter(|o| *o != site) {
            if z.outbound_gateways.get(other).is_none_or(|r| r.connection.is_none()) {
                out.push(format!("{site}: no outbound gateway to {other}"));
            }
            if z.inbound_gateways.get(other).is_none_or(|v| v.is_empty()) {
                out.push(format!("{site}: no inbound gateway from {other}"));
            }
        }
    }
    out
}

/// Polls `$SYS.REQ.SERVER.PING.GATEWAYZ` until every site's server has an
/// outbound and an inbound gateway to every other site, or fails at
/// `limit` saying what is missing.
pub async fn wait_connected(client: async_nats::Client, sites: &[String], limit: Duration) -> Result<()> {
    let gather =
        Gather { first: Duration::from_secs(1), quiet: Duration::from_millis(200), total: Duration::from_secs(2) };
    let sys = SysClient::new(client).with_gather(gather);
    let deadline = tokio::time::Instant::now() + limit;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let replies: Vec<Gatewayz> = match sys.scatter("$SYS.REQ.SERVER.PING.GATEWAYZ", serde_json::json!({})).await {
            Ok(msgs) => msgs.iter().filter_map(|m| decode_api::<Gatewayz>(&m.payload).result.ok()).collect(),
            Err(_) => vec![],
        };
        let gaps = missing(sites, &replies);
        if gaps.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the gateways did not connect within {limit:?}: {}", gaps.join("; "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> Vec<Ports> {
        ["east", "west"]
            .iter()
            .enumerate()
            .map(|(i, s)| Ports { site: s.to_string(), client: 4000 + i as u16, gateway: 7000 + i as u16 })
            .collect()
    }

    #[test]
    fn the_block_names_this_site_and_lists_every_site() {
        let b = block("west", &ports());
        assert!(b.contains("name: \"west\"\n  listen: \"127.0.0.1:7001\""), "{b}");
        assert!(b.contains("{ name: \"east\", urls: [\"nats://127.0.0.1:7000\"] }"), "{b}");
        assert!(b.contains("{ name: \"west\", urls: [\"nats://127.0.0.1:7001\"] }"), "{b}");
    }

    #[test]
    fn connected_only_when_every_pair_is_connected_both_ways() {
        let sites = vec!["east".to_string(), "west".to_string()];
        let z = |name: &str, other: &str, out: bool, inb: bool| -> Gatewayz {
            serde_json::from_value(serde_json::json!({
                "name": name,
                "outbound_gateways": if out { serde_json::json!({other: {"configured": true, "connection": {"cid": 1}}}) }
                                     else { serde_json::json!({other: {"configured": true}}) },
                "inbound_gateways": if inb { serde_json::json!({other: [{"connection": {"cid": 2}}]}) } else { serde_json::json!({}) },
            }))
            .unwrap()
        };
        assert_eq!(missing(&sites, &[z("east", "west", true, true)]), vec!["west: no GATEWAYZ reply"]);
        let gaps = missing(&sites, &[z("east", "west", true, false), z("west", "east", false, true)]);
        assert_eq!(gaps, vec!["east: no inbound gateway from west", "west: no outbound gateway to east"]);
        assert!(missing(&sites, &[z("east", "west", true, true), z("west", "east", true, true)]).is_empty());
    }
}
