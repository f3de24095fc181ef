//! Simulated workloads: real NATS clients with real credentials, so every
//! view of the sandbox shows live traffic, violations, expiries and the
//! effect of the operator's actions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::debug;

use warden_core::nats::jwt::SigningKey;

#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Publishes on its own subjects and listens on them.
    Steady,
    /// Also keeps publishing to (and once subscribing on) a subject it may not.
    Violator { forbidden: String },
    /// Listens on a subject it may not, and keeps subscribing again after
    /// each refusal (each one a Subscription Violation in the server log):
    /// a client that ignores the error and stays deaf.
    Deaf { forbidden: String },
}

/// What a workload connects with: the factory of its connect options.
#[derive(Clone)]
pub enum Credentials {
    /// JWT mode: a user JWT and the workload's own key (its seed never leaves it).
    Jwt { jwt: String, key: Arc<SigningKey> },
    /// SPIFFE mode: an X.509 SVID (client certificate and key) and the trust bundle.
    Svid { cert: PathBuf, key: PathBuf, bundle: PathBuf },
}

impl Credentials {
    /// The user JWT, in JWT mode.
    pub fn jwt(&self) -> Option<&str> {
        match self {
            Credentials::Jwt { jwt, .. } => Some(jwt),
            Credentials::Svid { .. } => None,
        }
    }

    /// Connect options carrying these credentials (no reconnect policy).
    pub fn options(&self, name: &str) -> ConnectOptions {
        let base = ConnectOptions::new().name(name);
        match self {
            Credentials::Jwt { jwt, key } => {
                let key = key.clone();
                base.jwt(jwt.clone(), move |nonce| {
                    let key = key.clone();
                    async move { Ok(key.sign(&nonce)) }
                })
            }
            Credentials::Svid { cert, key, bundle } => base
                .add_root_certificates(bundle.clone())
                .add_client_certificate(cert.clone(), key.clone())
                .require_tls(true),
        }
    }
}

/// One simulated tentacle.
#[derive(Clone)]
pub struct Workload {
    /// `namespace/workload`, for logs.
    pub name: String,
    /// e.g. `tentacular.tent-dev.hn-digest`.
    pub prefix: String,
    pub behaviour: Behaviour,
    /// The current credentials; `None` while it has none (a JWT-mode
    /// pending request). A new value (approval, renewal) makes the workload
    /// reconnect with it. SPIFFE mode: the SVID from the start; the client
    /// retries until the server authorizes it.
    pub credentials: watch::Receiver<Option<Credentials>>,
    /// Time between messages.
    pub every: Duration,
}

fn options(name: &str, creds: &Credentials) -> ConnectOptions {
    creds
        .options(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|n| Duration::from_millis((500 * n as u64).min(5000)))
}

/// Runs the workload until the sandbox stops it (abort the handle).
pub fn spawn(url: String, w: Workload) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut rx = w.credentials.clone();
        loop {
            let creds = rx.borrow_and_update().clone();
            let Some(creds) = creds else {
                if rx.changed().await.is_err() {
                    return;
                }
                continue;
            };
            tokio::select! {
                _ = run_with(&url, &w, creds) => {}
                r = rx.changed() => if r.is_err() { return },
            }
        }
    })
}

async fn run_with(url: &str, w: &Workload, creds: Credentials) {
    let client = match options(&w.name, &creds).connect(url).await {
        Ok(c) => c,
        Err(e) => {
            debug!(workload = %w.name, "connect: {e}");
            std::future::pending::<()>().await;
            return;
        }
    };
    let mut own = client.subscribe(format!("{}.>", w.prefix)).await.ok();
    if let Behaviour::Violator { forbidden } = &w.behaviour {
        // A forbidden subscription: the server logs a Subscription Violation.
        let _ = client.subscribe(forbidden.clone()).await;
    }
    let mut tick = tokio::time::interval(w.every);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            m = async { match own.as_mut() { Some(s) => s.next().await, None => std::future::pending().await } } => {
                if m.is_none() { own = None; }
                continue;
            }
        }
        n += 1;
        let _ = client.publish(format!("{}.events", w.prefix), format!("event {n}").into()).await;
        match &w.behaviour {
            Behaviour::Violator { forbidden } => {
                let _ = client.publish(forbidden.clone(), format!("attempt {n}").into()).await;
            }
            Behaviour::Deaf { forbidden } => {
                let _ = client.subscribe(forbidden.clone()).await;
            }
            Behaviour::Steady => {}
        }
    }
}

/// A workload holding revoked (or otherwise refused) credentials that keeps
/// trying to connect: each attempt is an authentication failure event.
pub fn spawn_refused(url: String, name: String, creds: Credentials, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let opts = creds.options(&name);
            if let Ok(c) = opts.connect(url.as_str()).await {
                // Accepted after all (e.g. un-revoked): stay quiet and connected.
                let _ = c.flush().await;
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// Keeps the workloads' credential senders alive (a workload stops when its
/// sender goes): the credentials never change here (SPIRE would rotate
/// them; not simulated). Ends when aborted with the other tasks.
pub fn keep_credentials<T: Send + Sync + 'static>(senders: Vec<tokio::sync::watch::Sender<T>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _senders = senders;
        std::future::pending::<()>().await
    })
}
