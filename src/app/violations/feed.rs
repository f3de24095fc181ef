//! The live violations feed: one IO task per source (system events on the
//! NATS client, nats-server log files, NATS pod logs through the Kubernetes
//! API) feeding one batcher that parses off the render path and hands over
//! `Vec<Violation>` at most every [`FLUSH`], so a storm costs the console a
//! few messages per second instead of one per event.
//!
//! The console wraps each [`Batch`] into `Msg::Violations`; `warden report
//! violations` consumes the same batches (same sources, same parser).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::app::table::Clock;
use warden_core::violations::Violation;
use warden_core::violations::auth_diagnosis::CauseKind;
use warden_core::violations::auth_events::{self, ACCOUNT_AUTH_ERR};
use warden_core::violations::auth_facts::FactsCache;
use warden_core::violations::bounded_lines;
use warden_core::violations::events::{AUTH_ERR_WILDCARD, DISCONNECT_WILDCARD};
use warden_core::violations::follow_file::{FollowOptions, Follower};
use warden_core::violations::pipeline::{self, Input};

/// Longest time a parsed violation waits before it is handed over.
pub const FLUSH: Duration = Duration::from_millis(100);
/// Most violations in one batch (a bigger backlog goes in several): about
/// 5 ms of `update`, so one batch never costs a frame.
pub const MAX_BATCH: usize = 1024;
/// Facts younger than this are not looked up again to confirm a diagnosis.
const RECHECK_AFTER: Duration = Duration::from_millis(250);
/// System events queued between their subscription and the batcher.
const EVENT_QUEUE: usize = 1024;
/// Raw inputs queued between the sources and the batcher.
const RAW_QUEUE: usize = 8192;

/// How one source is doing, for the Violations view's title and the report's stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    /// `events`, `file /var/log/nats.log`, `pod nats/nats-0/nats`.
    pub name: String,
    /// `Ok(what)` following; `Err(why)` failing (it retries).
    pub state: Result<String, String>,
}

/// What the feed hands over.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// When the batch was flushed.
    pub at: Option<Clock>,
    pub violations: Vec<Violation>,
    /// Sources whose state changed since the previous batch.
    pub sources: Vec<SourceState>,
    /// Held until the console has applied the batch (dropped with it): at
    /// most [`CONSOLE_IN_FLIGHT`] batches wait in the console's channel, so
    /// a storm the console cannot keep up with waits in the sources (a log
    /// file's lines stay on disk) instead of in memory, and never queues
    /// in front of a key press.
    pub ticket: Option<Arc<tokio::sync::OwnedSemaphorePermit>>,
}

/// Batches on their way to, or waiting in, the console's channel.
pub const CONSOLE_IN_FLIGHT: usize = 2;

/// Where the NATS pods are and which containers to follow.
#[derive(Clone)]
pub struct PodLogs {
    pub client: kube::Client,
    /// Label selector (`config.kubernetes.nats_pods`).
    pub selector: String,
    pub containers: Vec<String>,
    /// How often a follower whose log stream ended is started again when
    /// its pod has not changed meanwhile (no API call but the log).
    pub retry: Duration,
    /// Read the logs of the pods running at start from their beginning
    /// (default: only new lines; pods that appear later are read whole).
    pub from_start: bool,
    /// The console's Kubernetes context ([`crate::app::kube_target`]): on a
    /// switch the pods watch and every follower stop, and start again on
    /// the new cluster. `None`: `client` for good.
    pub target: Option<tokio::sync::watch::Receiver<warden_core::kube::client::KubeSettings>>,
}

/// The NATS pod logs to follow, when Kubernetes is configured and reachable
/// by config (the connection itself is tried by the follower, which says
/// why it fails in the Violations view).
pub async fn pod_logs(
    settings: &warden_core::kube::client::KubeSettings,
    section: &warden_core::config::file::KubeSection,
) -> Option<PodLogs> {
    if !section.enabled || section.nats_pods.is_empty() {
        return None;
    }
    match warden_core::kube::client::connect(settings).await {
        Ok(Ok(c)) => Some(PodLogs {
            client: c.client,
            selector: section.nats_pods.clone(),
            containers: section.nats_containers.clone(),
            retry: Duration::from_secs(5),
            from_start: false,
            target: None,
        }),
        _ => None,
    }
}

/// The NATS client to subscribe on: given now, or later (the console's
/// worker shares its client once connected).
pub enum NatsSource {
    Now(async_nats::Client),
    Later(oneshot::Receiver<async_nats::Client>),
}

#[derive(Default)]
pub struct Sources {
    pub nats: Option<NatsSource>,
    pub files: Vec<PathBuf>,
    /// Read the log files from their start (default: only new lines).
    pub files_from_start: bool,
    pub pods: Option<PodLogs>,
}

enum Raw {
    Line {
        source: Arc<str>,
        line: String,
    },
    Event {
        subject: String,
        payload: bytes::Bytes,
    },
    /// Already parsed (and diagnosed) by its source.
    Parsed(Box<Violation>),
    Source(SourceState),
}

/// The running feed; dropping it stops every source.
pub struct Feed {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts every source and the batcher; batches go to `out`.
pub fn start(sources: Sources, out: mpsc::Sender<Batch>) -> Feed {
    let (raw_tx, raw_rx) = mpsc::channel(RAW_QUEUE);
    // Events have a queue of their own, read first: a storm of log lines
    // never holds them back (they would wait in async-nats' buffers).
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
    let mut tasks = vec![tokio::spawn(batcher(Inputs { raw: Some(raw_rx), events: Some(ev_rx) }, out))];
    if let Some(n) = sources.nats {
        tasks.push(tokio::spawn(events_source(n, ev_tx)));
    }
    for path in sources.files {
        tasks.push(tokio::spawn(file_source(path, sources.files_from_start, raw_tx.clone())));
    }
    if let Some(p) = sources.pods {
        tasks.push(tokio::spawn(pods_source(p, raw_tx.clone())));
    }
    Feed { tasks }
}

/// Console flavour: each batch becomes the console's message (`Msg::Violations`).
pub fn spawn_console<M: From<Batch> + Send + 'static>(sources: Sources, tx: mpsc::Sender<M>) -> Feed {
    let (btx, mut brx) = mpsc::channel::<Batch>(2);
    let mut feed = start(sources, btx);
    let tickets = Arc::new(tokio::sync::Semaphore::new(CONSOLE_IN_FLIGHT));
    feed.tasks.push(tokio::spawn(async move {
        while let Some(mut b) = brx.recv().await {
            let Ok(t) = tickets.clone().acquire_owned().await else { break };
            b.ticket = Some(Arc::new(t));
            if tx.send(M::from(b)).await.is_err() {
                break;
            }
        }
    }));
    feed
}

/// Parses inputs as they come; flushes at most [`FLUSH`] after the first
/// unflushed one (or at [`MAX_BATCH`]). Awaiting `out` is the back-pressure.
/// The batcher's inputs: events (read first) and everything else.
struct Inputs {
    raw: Option<mpsc::Receiver<Raw>>,
    events: Option<mpsc::Receiver<Raw>>,
}

impl Inputs {
    /// The next input, an event first; None once every source is gone.
    async fn recv(&mut self) -> Option<Raw> {
        loop {
            match (self.events.as_mut(), self.raw.as_mut()) {
                (None, None) => return None,
                (Some(e), None) => return e.recv().await,
                (None, Some(r)) => return r.recv().await,
                (Some(e), Some(r)) => tokio::select! {
                    biased;
                    got = e.recv() => match got {
                        Some(x) => return Some(x),
                        None => self.events = None,
                    },
                    got = r.recv() => match got {
                        Some(x) => return Some(x),
                        None => self.raw = None,
                    },
                },
            }
        }
    }
}

async fn batcher(mut rx: Inputs, out: mpsc::Sender<Batch>) {
    let mut batch = Batch::default();
    let mut deadline: Option<Instant> = None;
    loop {
        let raw = match deadline {
            Some(d) => tokio::select! {
                r = rx.recv() => r,
                _ = tokio::time::sleep_until(d) => {
                    if flush(&mut batch, &out).await.is_err() { return; }
                    deadline = None;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(raw) = raw else {
            let _ = flush(&mut batch, &out).await;
            return;
        };
        match raw {
            Raw::Line { source, line } => {
                if let Some(v) = pipeline::parse(Input::LogLine { source: Some(&source), line: &line }) {
                    batch.violations.push(v);
                }
            }
            Raw::Event { subject, payload } => {
                if let Some(v) = pipeline::parse(Input::Event { subject: &subject, payload: &payload }) {
                    batch.violations.push(v);
                }
            }
            Raw::Parsed(v) => batch.violations.push(*v),
            Raw::Source(s) => {
                batch.sources.retain(|o| o.name != s.name);
                batch.sources.push(s);
            }
        }
        let pending = !batch.violations.is_empty() || !batch.sources.is_empty();
        if batch.violations.len() >= MAX_BATCH {
            if flush(&mut batch, &out).await.is_err() {
                return;
            }
            deadline = None;
        } else if pending && deadline.is_none() {
            deadline = Some(Instant::now() + FLUSH);
        }
    }
}

async fn flush(batch: &mut Batch, out: &mpsc::Sender<Batch>) -> Result<(), ()> {
    if batch.violations.is_empty() && batch.sources.is_empty() {
        return Ok(());
    }
    let mut b = std::mem::take(batch);
    b.at = Some(Clock::system());
    out.send(b).await.map_err(|_| ())
}

async fn say(tx: &mpsc::Sender<Raw>, name: &str, state: Result<String, String>) -> bool {
    tx.send(Raw::Source(SourceState { name: name.to_string(), state })).await.is_ok()
}

/// `$SYS.SERVER.*.CLIENT.AUTH.ERR` and `$SYS.ACCOUNT.*.DISCONNECT` on the
/// system-account client; async-nats resubscribes after a reconnect.
async fn events_source(n: NatsSource, tx: mpsc::Sender<Raw>) {
    let name = "events";
    let client = match n {
        NatsSource::Now(c) => c,
        NatsSource::Later(rx) => match rx.await {
            Ok(c) => c,
            Err(_) => return,
        },
    };
    let subs = async {
        let a = client.subscribe(AUTH_ERR_WILDCARD).await.map_err(|e| e.to_string())?;
        let d = client.subscribe(DISCONNECT_WILDCARD).await.map_err(|e| e.to_string())?;
        let c = client.subscribe(ACCOUNT_AUTH_ERR).await.map_err(|e| e.to_string())?;
        // The subscriptions are registered once the server has them.
        client.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((a, d, c))
    };
    let (mut auth, mut disc, mut callout) = match subs.await {
        Ok(s) => s,
        Err(e) => {
            warn!("violations: subscribing to system events: {e}");
            say(&tx, name, Err(format!("subscribe: {e}"))).await;
            return;
        }
    };
    if !say(&tx, name, Ok(format!("{AUTH_ERR_WILDCARD}, {DISCONNECT_WILDCARD}, {ACCOUNT_AUTH_ERR}"))).await {
        return;
    }
    // Auth failures are diagnosed here, off the UI loop, with the facts
    // of the account the presented JWT names (looked up, cached briefly).
    let mut facts = FactsCache::new(warden_core::nats::sys::SysClient::new(client.clone()));
    loop {
        let m = tokio::select! {
            Some(m) = auth.next() => m,
            Some(m) = disc.next() => m,
            Some(m) = callout.next() => m,
            else => break,
        };
        let raw = match auth_events::parse(m.subject.as_str(), &m.payload) {
            Some(p) => {
                let account = p.account_needed();
                let f = facts.facts_for(account.as_deref()).await;
                let mut v = p.clone().diagnose(&f, warden_core::nats::jwt::unix_now());
                // "The JWT looks valid" from cached facts may be an account
                // JWT changed within the cache's second (a revocation just
                // pushed): ask the resolver again before saying so, unless
                // it was asked moments ago (a storm of failed logins costs
                // a few lookups a second, not one each).
                if let Some(a) = &account
                    && v.cause.as_ref().is_some_and(|c| c.kind == CauseKind::NonceMismatch)
                    && facts.age(a).is_none_or(|age| age >= RECHECK_AFTER)
                {
                    facts.forget(a);
                    let f = facts.facts_for(Some(a)).await;
                    v = p.diagnose(&f, warden_core::nats::jwt::unix_now());
                }
                Raw::Parsed(Box::new(v))
            }
            None => Raw::Event { subject: m.subject.to_string(), payload: m.payload },
        };
        if tx.send(raw).await.is_err() {
            return;
        }
    }
}

/// One log file, through rotation and truncation; retries on errors.
async fn file_source(path: PathBuf, from_start: bool, tx: mpsc::Sender<Raw>) {
    let name = format!("file {}", path.display());
    let label: Arc<str> = Arc::from(path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
    let mut opts = FollowOptions { from_start, poll_interval: Duration::from_millis(50), ..Default::default() };
    let mut attempt = 0u32;
    loop {
        let mut f = match Follower::open(&path, opts.clone()).await {
            Ok(f) => f,
            Err(e) => {
                attempt += 1;
                if attempt == 1 && !say(&tx, &name, Err(e.to_string())).await {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if !say(&tx, &name, Ok("following".into())).await {
            return;
        }
        attempt = 0;
        // A file opened again after an error (replaced, refused, unreadable
        // for a while) is read whole: what was written to it meanwhile is new.
        opts.from_start = true;
        loop {
            match f.next_line().await {
                Ok(l) => {
                    if tx.send(Raw::Line { source: label.clone(), line: l.text }).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    warn!("violations: reading {}: {e}", path.display());
                    if !say(&tx, &name, Err(e.to_string())).await {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

/// Follows the pods of the current cluster ([`follow_pods`]) and moves to
/// the new one on each context switch.
async fn pods_source(mut p: PodLogs, tx: mpsc::Sender<Raw>) {
    let mut target = p.target.take();
    let mut client = Some(p.client.clone());
    loop {
        let switch = async {
            match &mut target {
                Some(t) => crate::app::kube_target::next(t).await,
                None => std::future::pending().await,
            }
        };
        let follow = async {
            match &client {
                Some(c) => follow_pods(PodLogs { client: c.clone(), target: None, ..p.clone() }, tx.clone()).await,
                None => std::future::pending().await,
            }
        };
        let settings = tokio::select! {
            _ = follow => return,
            s = switch => s,
        };
        // The old cluster's watch and followers were dropped (aborted) above.
        client = match warden_core::kube::client::connect(&settings).await {
            Ok(Ok(c)) => Some(c.client),
            Ok(Err(off)) => {
                say(&tx, "pods", Err(off.0)).await;
                None
            }
            Err(e) => {
                say(&tx, "pods", Err(warden_core::error_chain::chain(&e))).await;
                None
            }
        };
        if tx.is_closed() {
            return;
        }
    }
}

/// The log followers of one cluster, aborted when it is left (or the feed stops).
#[derive(Default)]
struct Followers(HashMap<(String, String, String), JoinHandle<()>>);

impl Drop for Followers {
    fn drop(&mut self) {
        for h in self.0.values() {
            h.abort();
        }
    }
}

impl std::ops::Deref for Followers {
    type Target = HashMap<(String, String, String), JoinHandle<()>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Followers {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Watches the NATS pods (one watch, with the label selector: no listing
/// on a timer) and keeps one log follower per (pod, container) of a Running
/// pod: a pod that appears is followed, a deleted one is dropped, and a
/// follower whose stream ended (restart, eviction, a broken connection) is
/// started again, from where it stopped, on the pod's next change or at the
/// next `retry` tick (which asks the API nothing but the log).
async fn follow_pods(p: PodLogs, tx: mpsc::Sender<Raw>) {
    let api: Api<Pod> = Api::all(p.client.clone());
    let mut pods: HashMap<(String, String), Pod> = HashMap::new();
    let mut initial: Vec<Pod> = Vec::new();
    let mut running = Followers::default();
    // Last log timestamp seen per (namespace, pod, container): a reconnect
    // asks from there and skips what it already had.
    let last_seen: Seen = Arc::default();
    let mut synced_once = false;
    let mut watching: Option<bool> = None;
    let mut events = watcher(api, watcher::Config::default().labels(&p.selector)).default_backoff().boxed();
    let mut retry = tokio::time::interval(p.retry);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let key_of =
        |pod: &Pod| (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
    loop {
        // Pods present at the first listing are read from now on (unless
        // asked from the start); pods that appear later are read whole.
        let mut at_end = false;
        tokio::select! {
            ev = events.next() => match ev {
                None => break,
                Some(Ok(watcher::Event::Init)) => initial.clear(),
                Some(Ok(watcher::Event::InitApply(pod))) => initial.push(pod),
                Some(Ok(watcher::Event::InitDone)) => {
                    pods = initial.drain(..).map(|pod| (key_of(&pod), pod)).collect();
                    running.retain(|(ns, name, _), h| {
                        let keep = pods.contains_key(&(ns.clone(), name.clone()));
                        if !keep {
                            h.abort();
                        }
                        keep
                    });
                    at_end = !synced_once && !p.from_start;
                    synced_once = true;
                    if watching != Some(true) {
                        watching = Some(true);
                        say(&tx, "pods", Ok(format!("pods {}", p.selector))).await;
                    }
                }
                Some(Ok(watcher::Event::Apply(pod))) => {
                    pods.insert(key_of(&pod), pod);
                }
                Some(Ok(watcher::Event::Delete(pod))) => {
                    let (ns, name) = key_of(&pod);
                    pods.remove(&(ns.clone(), name.clone()));
                    running.retain(|(n, p, _), h| {
                        let gone = *n == ns && *p == name;
                        if gone {
                            h.abort();
                        }
                        !gone
                    });
                }
                Some(Err(e)) => {
                    if watching != Some(false) {
                        watching = Some(false);
                        say(&tx, "pods", Err(warden_core::kube::errors::describe_watch(&e, "pods"))).await;
                    }
                }
            },
            _ = retry.tick() => {}
        }
        running.retain(|_, h| !h.is_finished());
        if tx.is_closed() {
            break;
        }
        for pod in pods.values() {
            if pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") {
                continue;
            }
            let (ns, name) = key_of(pod);
            let containers = pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
            for c in containers.iter().filter(|c| p.containers.is_empty() || p.containers.contains(&c.name)) {
                let key = (ns.clone(), name.clone(), c.name.clone());
                if running.contains_key(&key) {
                    continue;
                }
                let h = tokio::spawn(follow_pod(p.client.clone(), key.clone(), last_seen.clone(), at_end, tx.clone()));
                running.insert(key, h);
            }
        }
    }
    drop(running);
}

type Seen = Arc<std::sync::Mutex<HashMap<(String, String, String), chrono::DateTime<chrono::Utc>>>>;

/// Follows one container's log. `at_end`: only lines from now on (the
/// pods running when warden started). A reconnect asks from the last line
/// it saw and skips what it already had; a restarted container's log is new.
async fn follow_pod(
    client: kube::Client,
    key: (String, String, String),
    seen: Seen,
    at_end: bool,
    tx: mpsc::Sender<Raw>,
) {
    let (ns, pod, container) = &key;
    let name = format!("pod {ns}/{pod}/{container}");
    let label: Arc<str> = Arc::from(pod.as_str());
    let api: Api<Pod> = Api::namespaced(client, ns);
    let since = {
        let mut m = match seen.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        match m.get(&key).copied() {
            Some(t) => Some(t),
            // Lines older than now were before warden: skipped below.
            None if at_end => {
                m.insert(key.clone(), chrono::Utc::now());
                None
            }
            None => None,
        }
    };
    let lp = LogParams {
        container: Some(container.clone()),
        follow: true,
        timestamps: true,
        since_seconds: since.map(|t| (chrono::Utc::now() - t).num_seconds().max(0) + 1),
        tail_lines: (at_end && since.is_none()).then_some(0),
        ..Default::default()
    };
    let stream = match api.log_stream(pod, &lp).await {
        Ok(s) => s,
        Err(e) => {
            say(&tx, &name, Err(warden_core::kube::errors::describe(&e, "get", "pods/log"))).await;
            return;
        }
    };
    say(&tx, &name, Ok("following".into())).await;
    let mut stream = std::pin::pin!(stream);
    loop {
        // Bounded: a line of megabytes is cut, never buffered whole.
        let line = match bounded_lines::next_line(&mut stream, bounded_lines::MAX_LINE).await {
            Ok(Some((l, _cut))) => l,
            Ok(None) => break,
            Err(e) => {
                debug!("violations: {name}: {e}");
                break;
            }
        };
        let (ts, text) = split_timestamp(&line);
        if let Some(ts) = ts {
            let mut m = match seen.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            match m.get(&key) {
                Some(last) if ts <= *last => continue,
                _ => {
                    m.insert(key.clone(), ts);
                }
            }
        }
        if tx.send(Raw::Line { source: label.clone(), line: text.to_string() }).await.is_err() {
            return;
        }
    }
    say(&tx, &name, Err("log stream ended (pod restarted or gone); reconnecting".into())).await;
}

/// `2026-11-23T09:08:33.763031123Z rest` (the API's `timestamps=true`).
fn split_timestamp(line: &str) -> (Option<chrono::DateTime<chrono::Utc>>, &str) {
    if let Some((ts, rest)) = line.split_once(' ')
        && let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts)
    {
        return (Some(t.with_timezone(&chrono::Utc)), rest);
    }
    (None, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_split_off() {
        let (t, rest) = split_timestamp("2026-11-23T09:08:33.76Z [1] [ERR] x");
        assert!(t.is_some());
        assert_eq!(rest, "[1] [ERR] x");
        assert_eq!(split_timestamp("[1] [ERR] x").1, "[1] [ERR] x");
    }

    #[tokio::test]
    async fn a_storm_is_batched() {
        let (tx, mut rx) = mpsc::channel(16);
        let (raw_tx, raw_rx) = mpsc::channel(RAW_QUEUE);
        tokio::spawn(batcher(Inputs { raw: Some(raw_rx), events: None }, tx));
        let line = r#"[1] 2026/11/23 09:08:33.763031 [ERR] 127.0.0.1:51318 - cid:8 - "v2.16.0:python3:app" - "APP/user:tent" - Publish Violation - Subject "x.y""#;
        for _ in 0..10_000 {
            raw_tx.send(Raw::Line { source: Arc::from("n1"), line: line.to_string() }).await.unwrap();
        }
        drop(raw_tx);
        let mut n = 0;
        let mut batches = 0;
        while let Some(b) = rx.recv().await {
            n += b.violations.len();
            batches += 1;
            assert!(b.violations.len() <= MAX_BATCH);
        }
        assert_eq!(n, 10_000);
        assert!(batches <= 20, "{batches} batches");
    }
}
