//! Requests to the system account: scatter-gather pings, paged CONNZ.
//!
//! A `$SYS.REQ.SERVER.PING.*` request is answered by every server in the
//! cluster/supercluster, so one request/reply is not enough: replies are
//! collected on an inbox until the stream goes quiet (~300 ms after the last,
//! like natscli), bounded by an overall deadline.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::time::{Instant, timeout};

use super::types::*;

/// How long a scatter-gather waits.
#[derive(Debug, Clone, Copy)]
pub struct Gather {
    /// Wait this long for the first reply.
    pub first: Duration,
    /// Stop this long after the latest reply.
    pub quiet: Duration,
    /// Never wait longer than this in total.
    pub total: Duration,
}

impl Default for Gather {
    fn default() -> Self {
        Gather { first: Duration::from_secs(2), quiet: Duration::from_millis(300), total: Duration::from_secs(5) }
    }
}

/// nats-server's default CONNZ page (`server/monitor.go` `DefaultConnListSize`).
pub const CONNZ_PAGE: i64 = 1024;

/// The page warden asks for. `server/monitor.go` (`Connz`) caps nothing
/// above: a `limit` <= 0 becomes `DefaultConnListSize`, any other is kept,
/// and the reply is per server (CONNZ never crosses routes or gateways).
/// Measured on 10,000 JWT connections (issue 13): pages of 4096 cost the
/// server 0.28x of a 1024-page sweep; larger pages gain little and make one
/// reply (and the memory behind it) bigger.
pub const CONNZ_SWEEP_PAGE: i64 = 4096;

/// Per-account connect / disconnect advisories (`server/events.go`
/// `connectEventSubj` `$SYS.ACCOUNT.%s.CONNECT`, `disconnectEventSubj`
/// `$SYS.ACCOUNT.%s.DISCONNECT`). One subscription for both keeps their
/// order (a quick connect + disconnect never arrives reversed); no other
/// `$SYS.ACCOUNT.` subject has four tokens (`CLAIMS.UPDATE`, `SERVER.CONNS`,
/// `LEAFNODE.CONNECT` have five, `CLIENT.AUTH.ERR` too).
pub const CLIENT_EVENTS: &str = "$SYS.ACCOUNT.*.*";

/// The system account's view of the deployment, through one client.
#[derive(Clone)]
pub struct SysClient {
    client: async_nats::Client,
    gather: Gather,
}

/// Flushes within `limit`. async-nats holds a flush until it is connected
/// again, without end: a server gone in the middle of an action would hold
/// the action (and the console's action worker) forever, where the step
/// must fail and say so.
pub async fn flush_within(client: &async_nats::Client, limit: Duration) -> Result<()> {
    match timeout(limit, client.flush()).await {
        Ok(r) => Ok(r?),
        Err(_) => anyhow::bail!(
            "the NATS server did not answer within {limit:?} (connection {:?})",
            client.connection_state()
        ),
    }
}

impl SysClient {
    pub fn new(client: async_nats::Client) -> SysClient {
        SysClient { client, gather: Gather::default() }
    }

    pub fn with_gather(mut self, gather: Gather) -> SysClient {
        self.gather = gather;
        self
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Publishes `payload` to `subject` and collects every reply.
    pub async fn scatter(&self, subject: &str, payload: serde_json::Value) -> Result<Vec<async_nats::Message>> {
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await?;
        self.client.publish_with_reply(subject.to_string(), inbox, payload.to_string().into()).await?;
        flush_within(&self.client, self.gather.total).await?;
        let deadline = Instant::now() + self.gather.total;
        let mut out = Vec::new();
        loop {
            let wait = if out.is_empty() { self.gather.first } else { self.gather.quiet };
            let wait = wait.min(deadline.saturating_duration_since(Instant::now()));
            match timeout(wait, sub.next()).await {
                // "No responders" (status 503, empty body): nobody in this
                // account serves the subject, i.e. not the system account.
                Ok(Some(msg)) if msg.status.is_some_and(|s| s == async_nats::StatusCode::NO_RESPONDERS) => {
                    break;
                }
                Ok(Some(msg)) => out.push(msg),
                Ok(None) | Err(_) => break,
            }
        }
        let _ = sub.unsubscribe().await;
        Ok(out)
    }

    /// Scatter-gather decoding each reply as an [`ApiResponse`]; replies that
    /// do not parse are reported as errors, not dropped silently.
    async fn ping<T: DeserializeOwned>(&self, what: &str, payload: serde_json::Value) -> Result<Vec<Reply<T>>> {
        let msgs = self.scatter(&format!("$SYS.REQ.SERVER.PING.{what}"), payload).await?;
        Ok(msgs.into_iter().map(|m| decode_api::<T>(&m.payload)).collect())
    }

    /// `$SYS.REQ.SERVER.PING.VARZ` from every server.
    pub async fn varz(&self) -> Result<Vec<Reply<Varz>>> {
        self.ping("VARZ", json!({})).await
    }

    /// `$SYS.REQ.SERVER.PING.STATSZ` from every server (bare `ServerStatsMsg`).
    pub async fn statsz(&self) -> Result<Vec<StatszMsg>> {
        let msgs = self.scatter("$SYS.REQ.SERVER.PING.STATSZ", json!({})).await?;
        Ok(msgs.iter().filter_map(|m| serde_json::from_slice::<StatszMsg>(&m.payload).ok()).collect())
    }

    /// Every connection of every server (`auth: true`), following pages of
    /// [`CONNZ_SWEEP_PAGE`] per server until each server's total is reached.
    pub async fn connz_all(&self) -> Result<Vec<Reply<Connz>>> {
        self.connz_all_paged(CONNZ_SWEEP_PAGE).await
    }

    /// [`Self::connz_all`] with pages of `page` connections. A server's
    /// further pages are fetched while the other servers' answers are still
    /// awaited, and all at once (their offsets are known from the first).
    pub async fn connz_all_paged(&self, page: i64) -> Result<Vec<Reply<Connz>>> {
        let mut out = Vec::new();
        self.connz_each(page, |r| out.push(r)).await?;
        Ok(out)
    }

    /// The most recently closed connections of every server (CONNZ
    /// `state: closed`, newest first, one page each: the server keeps a
    /// bounded ring of them), with their close reasons.
    pub async fn connz_closed(&self) -> Result<Vec<Reply<Connz>>> {
        // `state` is nats-server's ConnState: 0 open, 1 closed, 2 all.
        let req = json!({ "auth": true, "state": 1, "sort": "stop", "limit": CONNZ_PAGE });
        let mut out = self.ping::<Connz>("CONNZ", req).await?;
        for reply in &mut out {
            if let Ok(page) = &mut reply.result {
                // The same masking point as for open connections.
                for c in &mut page.connections {
                    let user = std::mem::take(&mut c.authorized_user);
                    c.authorized_user = crate::secret::mask_user_field(&reply.server.ver, &c.account, user);
                }
            }
        }
        Ok(out)
    }

    /// Like [`Self::connz_all_paged`], handing each server's complete answer
    /// to `each` as soon as it is complete (the console shows it at once).
    /// A server's further pages are fetched while the gather still listens
    /// for other servers, so the quiet period and the pages overlap.
    pub async fn connz_each(&self, page: i64, mut each: impl FnMut(Reply<Connz>)) -> Result<()> {
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await?;
        let payload = connz_request(0, page).to_string();
        self.client.publish_with_reply("$SYS.REQ.SERVER.PING.CONNZ".to_string(), inbox, payload.into()).await?;
        flush_within(&self.client, self.gather.total).await?;
        let deadline = Instant::now() + self.gather.total;
        let mut completing = futures::stream::FuturesUnordered::new();
        // Until the first reply, then until `quiet` after the latest.
        let mut until = (Instant::now() + self.gather.first).min(deadline);
        let mut listening = true;
        while listening || !completing.is_empty() {
            tokio::select! {
                m = tokio::time::timeout_at(until, sub.next()), if listening => match m {
                    Ok(Some(msg)) if msg.status.is_some_and(|s| s == async_nats::StatusCode::NO_RESPONDERS) => {
                        listening = false;
                    }
                    Ok(Some(msg)) => {
                        until = (Instant::now() + self.gather.quiet).min(deadline);
                        completing.push(self.complete_connz(decode_api::<Connz>(&msg.payload), page));
                    }
                    Ok(None) | Err(_) => listening = false,
                },
                Some(done) = completing.next(), if !completing.is_empty() => each(done?),
            }
        }
        let _ = sub.unsubscribe().await;
        Ok(())
    }

    /// Every connection of one server (the reconciling sweep).
    pub async fn connz_server(&self, server: &ServerInfo, page: i64) -> Result<Reply<Connz>> {
        let first = self.server_connz_page(&server.id, 0, page).await?;
        self.complete_connz(Reply { server: server.clone(), result: Ok(first) }, page).await
    }

    /// Follows a server's first page to its total (the remaining pages
    /// requested together), then masks.
    async fn complete_connz(&self, mut reply: Reply<Connz>, page_size: i64) -> Result<Reply<Connz>> {
        if let Ok(page) = &mut reply.result {
            let start = page.offset + page.connections.len() as i64;
            if start < page.total && !reply.server.id.is_empty() && !page.connections.is_empty() {
                let step = page.connections.len() as i64;
                let offsets: Vec<i64> = (0..).map(|i| start + i * step).take_while(|o| *o < page.total).collect();
                let id = reply.server.id.clone();
                let pages =
                    futures::future::join_all(offsets.into_iter().map(|o| self.server_connz_page(&id, o, page_size)));
                for more in pages.await {
                    page.connections.extend(more?.connections);
                }
                // Connections that came and went between pages: one row each.
                let mut seen = std::collections::HashSet::new();
                page.connections.retain(|c| seen.insert(c.cid));
            }
            // The one masking point for CONNZ: older servers put a token
            // user's raw token in `authorized_user`.
            for c in &mut page.connections {
                let user = std::mem::take(&mut c.authorized_user);
                c.authorized_user = crate::secret::mask_user_field(&reply.server.ver, &c.account, user);
            }
        }
        Ok(reply)
    }

    /// One page of one server's CONNZ.
    pub async fn server_connz(&self, server_id: &str, offset: i64) -> Result<Connz> {
        self.server_connz_page(server_id, offset, CONNZ_SWEEP_PAGE).await
    }

    /// One page of `page` connections of one server's CONNZ from `offset`.
    pub async fn server_connz_page(&self, server_id: &str, offset: i64, page: i64) -> Result<Connz> {
        let subject = format!("$SYS.REQ.SERVER.{server_id}.CONNZ");
        let msg =
            timeout(self.gather.total, self.client.request(subject, connz_request(offset, page).to_string().into()))
                .await
                .map_err(|_| anyhow!("CONNZ page from {server_id} timed out"))??;
        decode_api::<Connz>(&msg.payload).result
    }

    /// One open connection of one server by its cid (CONNZ `cid` filter), or
    /// None when the server no longer has it open.
    pub async fn server_connz_cid(&self, server_id: &str, cid: u64) -> Result<Option<crate::nats::types::ConnInfo>> {
        let subject = format!("$SYS.REQ.SERVER.{server_id}.CONNZ");
        let body = json!({ "auth": true, "cid": cid }).to_string();
        let msg = timeout(self.gather.total, self.client.request(subject, body.into()))
            .await
            .map_err(|_| anyhow!("CONNZ from {server_id} timed out"))??;
        let page = decode_api::<Connz>(&msg.payload).result?;
        Ok(page.connections.into_iter().find(|c| c.cid == cid))
    }

    /// `$SYS.REQ.USER.INFO`: the account and user this connection is, which
    /// every account can ask (the server imports it into each account).
    pub async fn whoami(&self) -> Result<UserInfo> {
        let msg = timeout(self.gather.first, self.client.request("$SYS.REQ.USER.INFO", "".into()))
            .await
            .map_err(|_| anyhow!("$SYS.REQ.USER.INFO timed out"))?
            .context("$SYS.REQ.USER.INFO")?;
        let r: UserInfoResponse = serde_json::from_slice(&msg.payload).context("decoding USER.INFO")?;
        if let Some(e) = r.error {
            return Err(anyhow!("USER.INFO: {} ({})", e.description, e.code));
        }
        Ok(r.data)
    }
}

fn connz_request(offset: i64, limit: i64) -> serde_json::Value {
    json!({ "auth": true, "offset": offset, "limit": limit })
}

/// One server's answer (or why it could not be used).
#[derive(Debug)]
pub struct Reply<T> {
    pub server: ServerInfo,
    pub result: Result<T, anyhow::Error>,
}

impl<T> Reply<T> {
    pub fn ok(&self) -> Option<&T> {
        self.result.as_ref().ok()
    }
}

/// Decodes a system API reply; never panics on garbage.
pub fn decode_api<T: DeserializeOwned>(payload: &[u8]) -> Reply<T> {
    match serde_json::from_slice::<ApiResponse<T>>(payload) {
        Ok(r) => {
            let result = match (r.data, r.error) {
                (_, Some(e)) => Err(anyhow!("{} ({})", e.description, e.code)),
                (Some(d), None) => Ok(d),
                (None, None) => Err(anyhow!("reply without data")),
            };
            Reply { server: r.server, result }
        }
        Err(e) => Reply { server: ServerInfo::default(), result: Err(anyhow!("undecodable reply: {e}")) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_api_handles_data_error_and_garbage() {
        let ok: Reply<Varz> =
            decode_api(br#"{"server":{"name":"n1","id":"NID"},"data":{"server_name":"n1","connections":3}}"#);
        assert_eq!(ok.server.name, "n1");
        assert_eq!(ok.ok().unwrap().connections, 3);
        let err: Reply<Varz> =
            decode_api(br#"{"server":{"name":"n1"},"error":{"code":403,"description":"forbidden"}}"#);
        assert!(format!("{:#}", err.result.unwrap_err()).contains("forbidden (403)"));
        let junk: Reply<Varz> = decode_api(b"\xff\x00not json");
        assert!(junk.result.is_err());
    }
}
