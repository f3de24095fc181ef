//! The NATS IO task: connects, keeps data fresh, turns replies into `Msg`s.
//! It owns the client; `update` never waits on the network.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};
use tracing::{info, warn};

use super::msg::{Cmd, Msg};
use super::table::Clock;
use super::view_id::ViewId;
use super::{conns, servers};

mod fleet;
use warden_core::config::NatsSettings;
use warden_core::nats::connect::{self, ConnEvent};
use warden_core::nats::sys::SysClient;
use warden_core::nats::types::StatszMsg;

/// How the worker keeps data fresh.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// The base tick: Accounts every 6th, VARZ every 12th (the Servers view
    /// stays live from STATSZ in between).
    pub refresh: Duration,
    /// Connections: every server is re-swept once per this period (one
    /// server at a time, spread over the period) to heal missed events.
    pub reconcile: Duration,
    /// CONNZ page size of the sweeps.
    pub page: i64,
    /// Connection changes are sent to the console at most this often.
    pub flush: Duration,
}

impl WorkerOptions {
    pub fn new(refresh: Duration) -> WorkerOptions {
        WorkerOptions {
            refresh,
            reconcile: Duration::from_secs(60),
            page: warden_core::nats::sys::CONNZ_SWEEP_PAGE,
            flush: Duration::from_millis(100),
        }
    }
}

/// Starts the worker; returns where to send it commands.
pub fn spawn(settings: NatsSettings, refresh: Duration, tx: mpsc::Sender<Msg>) -> mpsc::UnboundedSender<Cmd> {
    spawn_sharing(settings, refresh, tx, None)
}

/// Like [`spawn`]; once connected, the client is also handed to `share`
/// (the violations feed subscribes on it: one connection, not two).
pub fn spawn_sharing(
    settings: NatsSettings,
    refresh: Duration,
    tx: mpsc::Sender<Msg>,
    share: Option<tokio::sync::oneshot::Sender<async_nats::Client>>,
) -> mpsc::UnboundedSender<Cmd> {
    spawn_with(settings, WorkerOptions::new(refresh), tx, share)
}

/// [`spawn_sharing`] with every knob.
pub fn spawn_with(
    settings: NatsSettings,
    opts: WorkerOptions,
    tx: mpsc::Sender<Msg>,
    share: Option<tokio::sync::oneshot::Sender<async_nats::Client>>,
) -> mpsc::UnboundedSender<Cmd> {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(settings, opts, tx, cmd_rx, share));
    cmd_tx
}

async fn run(
    settings: NatsSettings,
    opts: WorkerOptions,
    tx: mpsc::Sender<Msg>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    share: Option<tokio::sync::oneshot::Sender<async_nats::Client>>,
) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<ConnEvent>();
    let (fleet_tx, fleet_rx) = mpsc::unbounded_channel::<FleetCtl>();
    let link_tx = tx.clone();
    let link_fleet = fleet_tx.clone();
    tokio::spawn(async move {
        while let Some(ev) = ev_rx.recv().await {
            info!(event = ?ev, "nats connection");
            if ev == ConnEvent::SlowConsumer {
                // Events were lost: count them, heal with a sweep.
                let _ = link_fleet.send(FleetCtl::Dropped);
                continue;
            }
            if link_tx.send(Msg::Link(ev)).await.is_err() {
                break;
            }
        }
    });

    // The first connection is retried here: async-nats retries only once connected.
    let mut attempt = 0;
    let client = loop {
        match connect::connect(&settings, Some(ev_tx.clone())).await {
            Ok(c) => break c,
            Err(e) => {
                attempt += 1;
                let why = warden_core::error_chain::chain(&e);
                warn!("connect attempt {attempt}: {why}");
                let _ = ev_tx.send(ConnEvent::Error(why));
                let _ = ev_tx.send(ConnEvent::Reconnecting(attempt));
                tokio::select! {
                    _ = tokio::time::sleep(connect::reconnect_delay(attempt)) => {}
                    c = cmds.recv() => if matches!(c, None | Some(Cmd::Quit)) { return },
                }
            }
        }
    };
    let _ = ev_tx.send(ConnEvent::Connected);
    let sys = SysClient::new(client.clone());

    // Connections first (the heaviest), then who we are, servers, STATSZ.
    tokio::spawn(fleet::run(sys.clone(), Some(settings.clone()), opts, tx.clone(), fleet_rx));
    {
        let (sys, tx) = (sys.clone(), tx.clone());
        tokio::spawn(async move {
            let who = sys.whoami().await.map_err(|e| warden_core::error_chain::chain(&e));
            let _ = tx.send(Msg::WhoAmI(who)).await;
        });
    }
    // Owned by this task: aborted when it returns (quit, closed channel).
    let _statsz = AbortOnDrop(spawn_statsz_feed(client.clone(), tx.clone()));
    if let Some(share) = share {
        let _ = share.send(client.clone());
    }

    let mut tick = interval(opts.refresh);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ticks = 0u64;
    loop {
        let todo: Vec<ViewId> = tokio::select! {
            _ = tick.tick() => {
                ticks += 1;
                let mut v = Vec::new();
                // VARZ: the Servers view is live from STATSZ; the full
                // picture every 12th tick (a minute at the default 5 s).
                if ticks % 12 == 1 {
                    v.push(ViewId::Servers);
                }
                // Accounts cost a few scatter-gathers each: every 6th tick.
                if ticks % 6 == 1 {
                    v.push(ViewId::Accounts);
                }
                v
            }
            c = cmds.recv() => match c {
                None | Some(Cmd::Quit) => return,
                Some(Cmd::Refresh(ViewId::Conns)) => {
                    let _ = fleet_tx.send(FleetCtl::Sweep);
                    continue;
                }
                Some(Cmd::Refresh(v)) if NATS_VIEWS.contains(&v) => vec![v],
                Some(Cmd::Refresh(ViewId::Accounts)) => vec![ViewId::Accounts],
                Some(Cmd::Refresh(ViewId::Identities | ViewId::Expiry)) => {
                    let _ = fleet_tx.send(FleetCtl::Sweep);
                    vec![ViewId::Accounts]
                }
                Some(Cmd::FetchConnRecord { server_id, cid }) => {
                    let _ = fleet_tx.send(FleetCtl::Record(server_id, cid));
                    continue;
                }
                Some(Cmd::Refresh(ViewId::Doctor)) => {
                    // Off the loop: JSZ waits for every server, the probe up to 3 s.
                    let (sys, tx, url) = (sys.clone(), tx.clone(), settings.url.clone());
                    tokio::spawn(async move {
                        let nats = super::doctor_nats::DoctorNats::fetch(&url, Some(&sys)).await;
                        let _ = tx.send(Msg::DoctorNats { at: Clock::system(), nats: Box::new(nats) }).await;
                    });
                    continue;
                }
                Some(Cmd::FetchClosed) => {
                    let result = conns::fetch_closed(&sys).await.map_err(|e| warden_core::error_chain::chain(&e));
                    if tx.send(Msg::ClosedConns { at: Clock::system(), result }).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(_) => continue,
            },
        };
        for v in todo {
            let msg = fetch(&sys, v).await;
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    }
}

/// Asks the connection-fleet task to do something.
#[derive(Debug)]
enum FleetCtl {
    /// A full sweep of every server (coalesced with one in flight).
    Sweep,
    /// One connection's whole CONNZ record, for its describe view.
    Record(super::text::Text, u64),
    /// async-nats reported a slow consumer: events may be lost.
    Dropped,
}

/// The views whose data this worker fetches.
pub const NATS_VIEWS: [ViewId; 2] = [ViewId::Servers, ViewId::Conns];

/// One fresh snapshot of a view's data, as the report and the console use it.
pub async fn fetch(sys: &SysClient, view: ViewId) -> Msg {
    match view {
        ViewId::Servers => {
            let result = servers::fetch(sys).await.map_err(|e| warden_core::error_chain::chain(&e));
            Msg::Servers { at: Clock::system(), result }
        }
        ViewId::Accounts => {
            let result = super::accounts::fetch(sys).await.map_err(|e| warden_core::error_chain::chain(&e));
            Msg::Accounts { at: Clock::system(), result }
        }
        _ => {
            let result = conns::fetch(sys).await.map_err(|e| warden_core::error_chain::chain(&e));
            Msg::Conns { at: Clock::system(), result }
        }
    }
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Live `$SYS.SERVER.*.STATSZ`; async-nats resubscribes after a reconnect.
fn spawn_statsz_feed(client: async_nats::Client, tx: mpsc::Sender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sub = match client.subscribe("$SYS.SERVER.*.STATSZ").await {
            Ok(s) => s,
            Err(e) => {
                warn!("subscribing to STATSZ: {e}");
                return;
            }
        };
        while let Some(m) = sub.next().await {
            // Garbage on the wire is skipped, never fatal.
            if let Ok(s) = serde_json::from_slice::<StatszMsg>(&m.payload)
                && tx.send(Msg::Statsz(Box::new(s))).await.is_err()
            {
                break;
            }
        }
    })
}
