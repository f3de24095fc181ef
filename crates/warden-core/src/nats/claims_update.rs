//! `$SYS.REQ.CLAIMS.UPDATE`: push an account JWT to every server (the full
//! resolver stores it and applies it, e.g. new revocations) and collect each
//! server's answer.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use serde::Deserialize;

/// The subject servers answer an account JWT update on (system account).
pub const CLAIMS_UPDATE_SUBJECT: &str = "$SYS.REQ.CLAIMS.UPDATE";

/// One reply to a `$SYS.REQ.CLAIMS.UPDATE` request (nats-server
/// `ServerAPIClaimUpdateResponse`): `{"server":{...},"data":{"account",
/// "code":200,"message"}}` or `{"server":{...},"error":{"account","code",
/// "description"}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimUpdateReply {
    #[serde(default)]
    pub server: ServerRef,
    #[serde(default)]
    pub data: Option<ClaimUpdateStatus>,
    #[serde(default)]
    pub error: Option<ClaimUpdateError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerRef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClaimUpdateStatus {
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClaimUpdateError {
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub description: String,
}

impl ClaimUpdateReply {
    pub fn is_ok(&self) -> bool {
        self.error.is_none() && self.data.as_ref().is_some_and(|d| d.code == 200)
    }
}

/// Sends an account JWT to `$SYS.REQ.CLAIMS.UPDATE` (the client must be a
/// system-account user) and collects every server's reply: until `quiet`
/// passes with no new reply after the first, or `limit` overall.
pub async fn push_account_jwt(
    client: &async_nats::Client,
    account_jwt: &str,
    quiet: Duration,
    limit: Duration,
) -> Result<Vec<ClaimUpdateReply>> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    client.publish_with_reply(CLAIMS_UPDATE_SUBJECT, inbox, account_jwt.as_bytes().to_vec().into()).await?;
    crate::nats::sys::flush_within(client, limit).await?;
    let deadline = tokio::time::Instant::now() + limit;
    let mut replies = Vec::new();
    loop {
        let wait = if replies.is_empty() {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        } else {
            quiet.min(deadline.saturating_duration_since(tokio::time::Instant::now()))
        };
        match tokio::time::timeout(wait, sub.next()).await {
            Ok(Some(msg)) => {
                let r: ClaimUpdateReply = serde_json::from_slice(&msg.payload)
                    .with_context(|| "claims update reply is not the expected JSON")?;
                replies.push(r);
            }
            Ok(None) | Err(_) => break,
        }
    }
    if replies.is_empty() {
        bail!("no server answered {CLAIMS_UPDATE_SUBJECT} within {limit:?}");
    }
    Ok(replies)
}
