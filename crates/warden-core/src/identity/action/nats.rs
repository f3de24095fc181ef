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

/// Close one client connection, as the console's Connections view asks
/// (`ctrl-k` on a row): bound to the server, the cid and who the operator
/// saw on it.
#[derive(Debug, Clone, PartialEq)]
pub struct KickRequest {
    pub server_id: String,
    /// The server's name, for the report.
    pub server: String,
    pub cid: u64,
    /// The connection's user as shown (its key, SPIFFE ID or name).
    pub user: String,
    /// The mode warden runs in when asked (kicking works the same in both).
    pub mode: crate::config::file::Mode,
}

impl super::request::ActionRequest for KickRequest {
    fn verb(&self) -> &'static str {
        "kick"
    }
    fn target(&self) -> String {
        format!("connection {} on {} ({})", self.cid, self.server, self.user)
    }
    fn is_destructive(&self) -> bool {
        true
    }
}

/// Checks that the connection is still the one shown (a cid is never reused
/// while a server runs, but the operator confirmed *that* user), then kicks.
pub async fn run_kick(
    sys: &SysClient,
    req: &KickRequest,
    mut progress: impl FnMut(&super::report::Step),
) -> super::report::ActionReport {
    use super::report::{ActionReport, Step};
    use super::request::ActionRequest;
    let mut r = ActionReport::new(req.verb(), &req.target());
    let mut step = |st: Step, r: &mut ActionReport| {
        progress(&st);
        r.steps.push(st);
    };
    match sys.server_connz_cid(&req.server_id, req.cid).await {
        Ok(Some(c)) if c.authorized_user == req.user => {
            step(Step::ok("check", format!("cid {} on {} is still {}", req.cid, req.server, req.user)), &mut r)
        }
        Ok(Some(c)) => {
            let st = Step::err(
                "check",
                format!(
                    "cid {} on {} is now {}, not {}: refused (ask again)",
                    req.cid, req.server, c.authorized_user, req.user
                ),
            );
            step(st, &mut r);
            return r;
        }
        Ok(None) => {
            step(Step::err("check", format!("cid {} on {} is already closed", req.cid, req.server)), &mut r);
            return r;
        }
        Err(e) => {
            step(Step::err("check", format!("{e:#}")), &mut r);
            return r;
        }
    }
    let name = format!("kick cid {} on {}", req.cid, req.server);
    match kick(sys, &req.server_id, req.cid).await {
        Ok(()) => step(Step::ok(&name, "kicked"), &mut r),
        Err(e) => step(Step::err(&name, format!("{e:#} (KICK needs nats-server 2.10 or later)")), &mut r),
    }
    r
}
