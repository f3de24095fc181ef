//! The NATS side of an action: every server, reloads, live connections.

use super::prelude::*;

/// A server that answered `$SYS.REQ.SERVER.PING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    pub id: String,
    pub name: String,
}

impl ServerRef {
    pub fn label(&self) -> &str {
        if self.name.is_empty() { &self.id } else { &self.name }
    }
}

/// Every server of the deployment.
pub async fn servers(sys: &SysClient) -> Result<Vec<ServerRef>> {
    let mut out: Vec<ServerRef> = Vec::new();
    for m in sys.scatter("$SYS.REQ.SERVER.PING", json!({})).await? {
        let Ok(v) = serde_json::from_slice::<Value>(&m.payload) else { continue };
        let id = v["server"]["id"].as_str().unwrap_or_default().to_string();
        if !id.is_empty() && !out.iter().any(|s| s.id == id) {
            out.push(ServerRef { id, name: v["server"]["name"].as_str().unwrap_or_default().to_string() });
        }
    }
    Ok(out)
}

/// `$SYS.REQ.SERVER.<id>.RELOAD`: `Ok` when the server reloaded, `Err`
/// with its reason (e.g. the include file does not parse: it keeps the old
/// configuration).
pub async fn reload(sys: &SysClient, server_id: &str) -> Result<(), String> {
    let msg = tokio::time::timeout(
        Duration::from_secs(5),
        sys.client().request(format!("$SYS.REQ.SERVER.{server_id}.RELOAD"), "".into()),
    )
    .await
    .map_err(|_| "no reply within 5s".to_string())?
    .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&msg.payload).map_err(|e| format!("undecodable reply: {e}"))?;
    match v.get("error") {
        Some(e) => Err(format!(
            "{} ({})",
            e["description"].as_str().unwrap_or("error"),
            e["code"].as_i64().unwrap_or_default()
        )),
        None => Ok(()),
    }
}

/// Live connections authenticated as `user` (CONNZ `authorized_user`):
/// (server name, server id, cid).
pub async fn live_conns(sys: &SysClient, user: &str) -> Result<Vec<(String, String, u64)>> {
    let mut out = Vec::new();
    for reply in sys.connz_all().await? {
        if let Ok(page) = &reply.result {
            for c in page.connections.iter().filter(|c| c.authorized_user == user) {
                let label = if reply.server.name.is_empty() { &reply.server.id } else { &reply.server.name };
                out.push((label.clone(), reply.server.id.clone(), c.cid));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Running an action.
