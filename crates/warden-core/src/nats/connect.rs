//! Connecting to NATS from resolved settings, reporting connection state.

use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::{ConnectOptions, Event};
use tokio::sync::mpsc;

use crate::config::{NatsAuth, NatsSettings};

/// Connection state changes, as the banner shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    Connected,
    Disconnected,
    /// A reconnect attempt is about to be made (1-based count since the loss).
    Reconnecting(usize),
    Closed,
    /// A server or client error worth telling the operator (no secrets in it).
    Error(String),
    /// async-nats dropped messages of a subscription (its buffer was full):
    /// data fed by events is no longer complete.
    SlowConsumer,
}

/// Backoff between reconnect attempts: 250 ms doubling to 4 s.
pub fn reconnect_delay(attempt: usize) -> Duration {
    let ms = 250u64.saturating_mul(1 << attempt.min(4));
    Duration::from_millis(ms.min(4000))
}

/// Builds client options from the settings. `events` receives state changes
/// (ignored when the receiver is gone).
pub async fn options(
    settings: &NatsSettings,
    events: Option<mpsc::UnboundedSender<ConnEvent>>,
) -> Result<ConnectOptions> {
    let mut opts = match &settings.auth {
        NatsAuth::Creds(p) => ConnectOptions::with_credentials_file(p)
            .await
            .with_context(|| format!("reading credentials {}", p.display()))?,
        NatsAuth::NkeyFile(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading nkey {}", p.display()))?;
            let seed = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with('S') && l.len() > 50)
                .with_context(|| format!("no nkey seed in {}", p.display()))?;
            ConnectOptions::new().nkey(seed.to_string())
        }
        NatsAuth::UserPassword { user, password } => {
            ConnectOptions::new().user_and_password(user.clone(), password.expose().to_string())
        }
        NatsAuth::Token(t) => ConnectOptions::new().token(t.expose().to_string()),
        NatsAuth::None => ConnectOptions::new(),
    };
    if let Some(ca) = &settings.ca {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    match (&settings.cert, &settings.key) {
        (Some(c), Some(k)) => opts = opts.add_client_certificate(c.clone(), k.clone()).require_tls(true),
        (None, None) => {}
        _ => anyhow::bail!("a TLS client certificate needs both --tlscert and --tlskey"),
    }
    opts = opts
        .name("warden")
        .connection_timeout(Duration::from_secs(5))
        .ping_interval(Duration::from_secs(20))
        .max_reconnects(None);
    // async-nats asks the delay callback before *every* attempt, the first
    // connection included (connector.rs `try_connect`: `attempts += 1`, then
    // `reconnect_delay_callback(attempts)`), so the first call is the first
    // connection: no delay and no "reconnecting" (that was 500 ms and a
    // "connection lost" before the console had ever connected).
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    if let Some(tx) = events {
        let tx2 = tx.clone();
        opts = opts
            .reconnect_delay_callback(move |attempt| {
                if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                    return Duration::ZERO;
                }
                let _ = tx2.send(ConnEvent::Reconnecting(attempt.max(1)));
                reconnect_delay(attempt)
            })
            .event_callback(move |ev| {
                let tx = tx.clone();
                async move {
                    let msg = match ev {
                        Event::Connected => ConnEvent::Connected,
                        Event::Disconnected => ConnEvent::Disconnected,
                        Event::Closed => ConnEvent::Closed,
                        Event::ServerError(e) => ConnEvent::Error(format!("server error: {e}")),
                        Event::ClientError(e) => ConnEvent::Error(format!("client error: {e}")),
                        Event::SlowConsumer(_) => ConnEvent::SlowConsumer,
                        Event::LameDuckMode | Event::Draining => return,
                    };
                    let _ = tx.send(msg);
                }
            });
    } else {
        opts = opts.reconnect_delay_callback(move |attempt| {
            if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                Duration::ZERO
            } else {
                reconnect_delay(attempt)
            }
        });
    }
    Ok(opts)
}

/// Connects once (no retry of the first connection: a CLI report should fail
/// fast; the console retries through its own loop).
pub async fn connect(
    settings: &NatsSettings,
    events: Option<mpsc::UnboundedSender<ConnEvent>>,
) -> Result<async_nats::Client> {
    let opts = options(settings, events).await?;
    opts.connect(settings.url.as_str()).await.with_context(|| format!("connecting to {}", redact_url(&settings.url)))
}

/// A server URL with any `user:password@` replaced, for the screen and logs.
pub fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|u| match (u.find("://"), u.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}***@{}", &u[..s + 3], &u[at + 1..]),
            (None, Some(at)) => format!("***@{}", &u[at + 1..]),
            _ => u.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_userinfo() {
        assert_eq!(redact_url("nats://a:b@h:4222,tls://h2:1"), "nats://***@h:4222,tls://h2:1");
        assert_eq!(redact_url("tok@h:4222"), "***@h:4222");
        assert_eq!(redact_url("nats://h:4222"), "nats://h:4222");
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(reconnect_delay(0), Duration::from_millis(250));
        assert!(reconnect_delay(2) > reconnect_delay(1));
        assert_eq!(reconnect_delay(100), Duration::from_secs(4));
    }
}
