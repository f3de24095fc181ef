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

    /// `$SYS.REQ.SERVER.PING.JSZ` with every account's streams and their
    /// configuration (`server/monitor.go` `JSzOptions`), from every server.
    pub async fn jsz(&self) -> Result<Vec<Reply<Jsz>>> {
        self.ping("JSZ", json!({ "accounts": true, "streams": true, "config": true })).await
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

    /// [`Self::connz_all`] with pages of `page` connections: each server's
    /// pages gathered into one answer (a connection listed on two pages
    /// once).
    pub async fn connz_all_paged(&self, page: i64) -> Result<Vec<Reply<Connz>>> {
        let mut out: Vec<Reply<Connz>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.connz_pages(page, |p| {
            let at = match out.iter().position(|r| r.server.id == p.server.id && !p.server.id.is_empty()) {
                Some(at) => at,
                None => {
                    out.push(Reply { server: p.server.clone(), result: Ok(Connz::default()) });
                    out.len() - 1
                }
            };
            let r = &mut out[at];
            match (p.result, &mut r.result) {
                (Ok(more), Ok(all)) => {
                    let first = all.connections.is_empty();
                    all.connections.extend(more.connections.into_iter().filter(|c| seen.insert((at, c.cid))));
                    if first {
                        all.server_id = more.server_id;
                        all.now = more.now;
                    }
                    all.num_connections = all.connections.len() as i64;
                    all.total = all.connections.len() as i64;
                }
                (Err(e), _) => r.result = Err(e),
                (Ok(_), Err(_)) => {}
            }
        })
        .await?;
        Ok(out)
    }

    /// The most recently closed connections of every server (CONNZ
    /// `state: closed`, newest first, one page each: the server keeps a
    /// bounded ring of them), with their close reasons.
    pub async fn connz_closed(&self) -> Result<Vec<Reply<Connz>>> {
        self.connz_closed_paged(CONNZ_SWEEP_PAGE).await
    }

    /// [`Self::connz_closed`] with pages of `page`: every closed connection
    /// each server still remembers (its ring holds `max_closed_clients`,
    /// 10,000 by default: `server/opts.go`), following `offset` per server.
    pub async fn connz_closed_paged(&self, page: i64) -> Result<Vec<Reply<Connz>>> {
        // `state` is nats-server's ConnState: 0 open, 1 closed, 2 all.
        let req = |offset: i64| json!({ "auth": true, "state": 1, "sort": "stop", "offset": offset, "limit": page });
        let mut out = self.ping::<Connz>("CONNZ", req(0)).await?;
        for reply in &mut out {
            let Ok(first) = &mut reply.result else { continue };
            let mut offset = first.connections.len() as i64;
            while offset < first.total && !first.connections.is_empty() {
                let subject = format!("$SYS.REQ.SERVER.{}.CONNZ", reply.server.id);
                let msg = timeout(self.gather.total, self.client.request(subject, req(offset).to_string().into()))
                    .await
                    .map_err(|_| anyhow!("closed CONNZ page from {} timed out", reply.server.name))??;
                let next = decode_api::<Connz>(&msg.payload).result?;
                if next.connections.is_empty() {
                    break;
                }
                offset += next.connections.len() as i64;
                first.connections.extend(next.connections);
            }
        }
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

    /// Every server's connections, page by page: each page handed to
    /// `each` as it arrives (the console shows it at once), a server's next
    /// page requested once its previous one is in, so one page per server
    /// is in memory. The gather still listens for other servers meanwhile.
    pub async fn connz_pages(&self, page: i64, mut each: impl FnMut(ConnzPage)) -> Result<()> {
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await?;
        let payload = connz_request(0, page).to_string();
        self.client.publish_with_reply("$SYS.REQ.SERVER.PING.CONNZ".to_string(), inbox, payload.into()).await?;
        flush_within(&self.client, self.gather.total).await?;
        let deadline = Instant::now() + self.gather.total.max(CONNZ_WAIT);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ConnzPage>();
        let mut following = futures::stream::FuturesUnordered::new();
        // Until the first reply, then until `quiet` after the latest.
        let mut until = (Instant::now() + self.gather.first.max(CONNZ_WAIT)).min(deadline);
        let mut listening = true;
        while listening || !following.is_empty() {
            tokio::select! {
                m = tokio::time::timeout_at(until, sub.next()), if listening => match m {
                    Ok(Some(msg)) if msg.status.is_some_and(|s| s == async_nats::StatusCode::NO_RESPONDERS) => {
                        listening = false;
                    }
                    Ok(Some(msg)) => {
                        until = (Instant::now() + self.gather.quiet).min(deadline);
                        let first = decode_api::<Connz>(&msg.payload);
                        drop(msg);
                        let tx = tx.clone();
                        following.push(async move {
                            self.follow_pages(first, page, &mut |p| drop(tx.send(p))).await;
                        });
                    }
                    Ok(None) | Err(_) => listening = false,
                },
                Some(()) = following.next(), if !following.is_empty() => {}
                Some(p) = rx.recv() => each(p),
            }
        }
        let _ = sub.unsubscribe().await;
        drop(tx);
        while let Some(p) = rx.recv().await {
            each(p);
        }
        Ok(())
    }

    /// One server's connections page by page (the reconciling sweep).
    pub async fn connz_server_pages(&self, server: &ServerInfo, page: i64, each: &mut (dyn FnMut(ConnzPage) + Send)) {
        let result = self.server_connz_page(&server.id, 0, page).await;
        self.follow_pages(Reply { server: server.clone(), result }, page, each).await;
    }

    /// Hands over a server's page, then requests and hands over the next
    /// ones until its total. Pages overlap by [`PAGE_OVERLAP`] connections:
    /// the list is in cid order, so a connection closing between two
    /// requests shifts later ones back by one, which the overlap catches
    /// (a connection listed twice is one row to the receiver).
    async fn follow_pages(&self, first: Reply<Connz>, page: i64, each: &mut (dyn FnMut(ConnzPage) + Send)) {
        let Reply { server, mut result } = first;
        loop {
            let next = match &mut result {
                Ok(p) => {
                    let got = p.connections.len() as i64;
                    let end = p.offset + got;
                    // The one masking point for CONNZ: older servers put a
                    // token user's raw token in `authorized_user`.
                    for c in &mut p.connections {
                        let user = std::mem::take(&mut c.authorized_user);
                        c.authorized_user = crate::secret::mask_user_field(&server.ver, &c.account, user);
                    }
                    (end < p.total && got > 0 && !server.id.is_empty()).then(|| end - PAGE_OVERLAP.min(got / 2))
                }
                Err(_) => None,
            };
            each(ConnzPage { server: server.clone(), result, last: next.is_none() });
            let Some(offset) = next else { return };
            result = self.server_connz_page(&server.id, offset, page).await;
        }
    }

    /// One page of one server's CONNZ.
    pub async fn server_connz(&self, server_id: &str, offset: i64) -> Result<Connz> {
        self.server_connz_page(server_id, offset, CONNZ_SWEEP_PAGE).await
    }

    /// One page of `page` connections of one server's CONNZ from `offset`.
    pub async fn server_connz_page(&self, server_id: &str, offset: i64, page: i64) -> Result<Connz> {
        let subject = format!("$SYS.REQ.SERVER.{server_id}.CONNZ");
        let wait = self.gather.total.max(CONNZ_WAIT);
        let msg = timeout(wait, self.client.request(subject, connz_request(offset, page).to_string().into()))
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

    /// The whole CONNZ record of one connection, open or recently closed
    /// (`server/monitor.go`: a `cid` filter with `state` 2, `ConnAll`, looks
    /// in the open ones, then in the closed ring), masked like every CONNZ
    /// answer; None when the server no longer knows it.
    pub async fn server_connz_record(
        &self,
        server: &ServerInfo,
        cid: u64,
    ) -> Result<Option<crate::nats::types::ConnInfo>> {
        let subject = format!("$SYS.REQ.SERVER.{}.CONNZ", server.id);
        let body = json!({ "auth": true, "cid": cid, "state": 2 }).to_string();
        let msg = timeout(self.gather.total, self.client.request(subject, body.into()))
            .await
            .map_err(|_| anyhow!("CONNZ from {} timed out", server.id))??;
        let page = decode_api::<Connz>(&msg.payload).result?;
        Ok(page.connections.into_iter().find(|c| c.cid == cid).map(|mut c| {
            let user = std::mem::take(&mut c.authorized_user);
            c.authorized_user = crate::secret::mask_user_field(&server.ver, &c.account, user);
            c
        }))
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

/// Longest wait for one CONNZ page: a page of thousands of connections
/// (megabytes of JSON with their JWTs) takes a busy server seconds to build,
/// more than the other requests' gather allows.
pub const CONNZ_WAIT: Duration = Duration::from_secs(15);

/// How many connections a sweep's pages overlap by ([`SysClient::connz_pages`]).
pub const PAGE_OVERLAP: i64 = 64;

/// One page of one server's CONNZ, as a sweep hands them over.
#[derive(Debug)]
pub struct ConnzPage {
    pub server: ServerInfo,
    pub result: Result<Connz>,
    /// The server's last page: every open connection has been listed (or
    /// the sweep of this server failed: `result` says why).
    pub last: bool,
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
