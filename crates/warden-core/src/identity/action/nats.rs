//! The NATS side every action may need: closing one connection.

use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::json;

use crate::nats::sys::{SysClient, decode_api};

/// `$SYS.REQ.SERVER.<id>.KICK {"cid":N}` (nats-server 2.10+).
pub async fn kick(sys: &SysClient, server_id: &str, cid: u64) -> Result<()> {
    let msg = tokio::time::timeout(
        Duration::from_secs(3),
        sys.client().request(format!("$SYS.REQ.SERVER.{server_id}.KICK"), json!({ "cid": cid }).to_string().into()),
    )
    .await
    .map_err(|_| anyhow!("no reply from {server_id}"))??;
    let reply = decode_api::<serde_json::Value>(&msg.payload);
    match reply.result {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("without data") => Ok(()),
        Err(e) => Err(e),
    }
}
